"""The demo estate, built under moto for 3 accounts x 2 regions, swept by every collector
through the real assumed-role access layer."""
from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict

import pytest

from support.common import use_fake_aws
from polo.aws.access import AwsAccess
from polo.collectors.base import CollectContext
from polo.collectors import COLLECTORS
from polo.config import Account, AwsSettings
from polo.demo.estate import build_estate

REGIONS = ("us-east-1", "eu-west-1")
ACCOUNTS = tuple(
    Account(id=account_id, name=name, environment=env, role_arn=f"arn:aws:iam::{account_id}:role/PoloReadOnly")
    for account_id, name, env in (("111111111111", "shop-prod", "prod"),
                                  ("222222222222", "shop_dev", "dev"),
                                  ("333333333333", "Data Prod", "prod")))
# The NAT collector asks CloudWatch for the 7 days before the wall clock: seed around it.
NOW = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


@pytest.fixture(scope="module")
def swept():
    """(summary, resources by account) for one estate; module-scoped to build it once."""
    patch = pytest.MonkeyPatch()
    use_fake_aws(patch, REGIONS[0])
    from moto import mock_aws

    try:
        with mock_aws():
            summary = build_estate(ACCOUNTS, REGIONS, NOW)
            access = AwsAccess(AwsSettings(), home_region=REGIONS[0])
            found = defaultdict(list)
            for account in ACCOUNTS:
                client = lambda service, region, account=account: access.client(account, service, region)  # noqa: E731
                for resource_type in COLLECTORS.values():
                    for region in (REGIONS if resource_type.scope == "regional" else ("global",)):
                        ctx = CollectContext(account.id, region, REGIONS[0], client)
                        found[account.id] += list(resource_type.collect(ctx))
            yield summary, found
    finally:
        patch.undo()


def of_type(resources, resource_type):
    return [r for r in resources if r.resource_type == resource_type]


def test_every_collector_finds_its_resources(swept):
    summary, found = swept
    resource_types = {r.resource_type for resources in found.values() for r in resources}
    assert resource_types == {
        "ec2_instance", "vpc", "subnet", "security_group", "ebs_volume", "ebs_snapshot", "elastic_ip",
        "nat_gateway", "load_balancer", "rds_instance", "s3_bucket", "lambda_function", "eks_cluster",
        "eks_nodegroup", "autoscaling_group", "ecs_service", "dynamodb_table", "elasticache_cluster",
        "opensearch_domain", "sagemaker_endpoint", "sagemaker_notebook", "ecr_repository",
        "cloudwatch_log_group"}


def test_summary_matches_what_the_collectors_find(swept):
    summary, found = swept
    assert set(summary) == {a.id for a in ACCOUNTS}
    for account in ACCOUNTS:
        collected = Counter(r.resource_type for r in found[account.id])
        assert summary[account.id].counts == dict(collected), account.name
        assert summary[account.id]["counts"] == summary[account.id].counts
        for region in REGIONS:
            in_region = Counter(r.resource_type for r in found[account.id]
                                if r.region == region and r.resource_type != "s3_bucket")
            assert dict(summary[account.id].regions[region].counts) == dict(in_region)
        # every resource lands in its own account
        assert all(r.account_id == account.id for r in found[account.id])


def test_prod_accounts_are_bigger_than_dev(swept):
    summary, _ = swept
    prod, dev, _ = (summary[a.id].counts for a in ACCOUNTS)
    for resource_type in ("ec2_instance", "ebs_volume", "load_balancer", "rds_instance", "s3_bucket"):
        assert prod[resource_type] > dev[resource_type], resource_type
    assert "nat_gateway" not in dev


def test_the_estate_holds_the_cases_the_rules_look_for(swept):
    summary, found = swept
    everything = [r for resources in found.values() for r in resources]
    assert {r.state for r in of_type(everything, "ec2_instance")} == {"running", "stopped"}
    groups = of_type(everything, "security_group")
    assert any(("tcp", "22", "0.0.0.0/0") in g.details["open_ingress"]
               and ("tcp", "22", "::/0") in g.details["open_ingress"] for g in groups)
    assert any(not g.details["open_ingress"] for g in groups)
    volumes = of_type(everything, "ebs_volume")
    assert {v.state for v in volumes} == {"in-use", "available"}
    assert {"gp2", "gp3"} <= {v.resource_class for v in volumes}
    snapshots = of_type(everything, "ebs_snapshot")
    assert any(s.details["ami_ids"] for s in snapshots) and any(not s.details["ami_ids"] for s in snapshots)
    eips = of_type(everything, "elastic_ip")
    assert {e.state for e in eips} == {"associated", "unassociated"}
    assert any(e.details["nat_gateway_id"] for e in eips) and any(e.details["instance_id"] for e in eips)
    nats = of_type(everything, "nat_gateway")
    assert any(n.details["bytes_out_7d"] == 0.0 for n in nats)  # idle: a cleanup candidate
    assert any((n.details["bytes_out_7d"] or 0) > 0 for n in nats)
    lbs = of_type(everything, "load_balancer")
    assert any(lb.details["registered_targets"] == 0 for lb in lbs)
    assert any(0 < lb.details["healthy_targets"] < lb.details["registered_targets"] for lb in lbs)
    assert {"available", "stopped"} <= {db.state for db in of_type(everything, "rds_instance")}
    buckets = of_type(everything, "s3_bucket")
    assert {b.details["public_access_blocked"] for b in buckets} == {True, False}
    assert len({b.region for b in buckets}) >= 2
    functions = of_type(everything, "lambda_function")
    assert any(f.vpc_id for f in functions) and any(not f.vpc_id for f in functions)
    # tagged and deliberately untagged resources of several kinds
    for resource_type in ("ec2_instance", "ebs_volume", "security_group", "load_balancer", "lambda_function",
                          "s3_bucket", "elastic_ip"):
        tagged = [bool(r.tags) for r in of_type(everything, resource_type)]
        assert True in tagged and False in tagged, resource_type
    assert all({"team", "service"} <= set(r.tags) for r in of_type(everything, "rds_instance"))


def test_the_ml_services_hold_the_cases_the_rules_look_for(swept):
    _, found = swept
    everything = [r for resources in found.values() for r in resources]
    new_types = ("eks_cluster", "eks_nodegroup", "autoscaling_group", "ecs_service", "dynamodb_table",
                 "elasticache_cluster", "opensearch_domain", "sagemaker_endpoint", "sagemaker_notebook",
                 "ecr_repository", "cloudwatch_log_group")
    for resource_type in new_types:  # in several accounts and regions, all tagged
        of_it = of_type(everything, resource_type)
        assert len({r.account_id for r in of_it}) >= 2, resource_type
        assert all({"team", "service"} <= set(r.tags) for r in of_it), resource_type
    clusters = {r.details["nodegroups"] for r in of_type(everything, "eks_cluster")}
    assert clusters == {0, 1}  # a control plane alone, and one with nodes
    assert {r.resource_class for r in of_type(everything, "dynamodb_table")} == {"PROVISIONED", "PAY_PER_REQUEST"}
    assert {r.state for r in of_type(everything, "sagemaker_notebook")} == {"InService", "Stopped"}
    assert {r.details["lifecycle_policy"] for r in of_type(everything, "ecr_repository")} == {True, False}
    assert all(r.size_bytes for r in of_type(everything, "ecr_repository") if r.details["image_count"])
    groups = of_type(everything, "cloudwatch_log_group")
    assert {r.details["retention_days"] for r in groups} == {30, None} and all(r.size_bytes for r in groups)
    assert {len(r.details["variants"]) for r in of_type(everything, "sagemaker_endpoint")} == {2}
    assert len({r.region for r in of_type(everything, "ecs_service")}) == 2
    assert all(r.tags.get("Name") for r in of_type(everything, "vpc"))


def test_handles_point_at_real_resources(swept):
    summary, found = swept
    for account in ACCOUNTS:
        ids = {r.resource_id for r in found[account.id]}
        for region, est in summary[account.id].regions.items():
            handles = (est.subnet_ids + list(est.security_group_ids.values()) + est.running_instance_ids
                       + est.stopped_instance_ids + est.attached_volume_ids + est.unattached_volume_ids
                       + est.snapshot_ids + est.ami_snapshot_ids + est.associated_allocation_ids
                       + est.idle_allocation_ids + est.nat_gateway_ids
                       + list(est.load_balancer_arns.values()) + est.db_instance_ids + est.function_names
                       + est.service_ids
                       + [est.vpc_id])
            assert set(handles) <= ids, (account.name, region, set(handles) - ids)
        assert set(summary[account.id].buckets) <= ids


def test_the_builders_clients_are_let_go_once_the_simulation_is_populated(tmp_path):
    """The demo kept the hundreds of clients that built its estate (each with its own copy of
    botocore's models) for as long as it ran: most of its peak memory beside moto's own
    (docs/benchmarks.md, issue 20). They go before the exporter's first sweep."""
    import gc

    from botocore.client import BaseClient

    from moto import mock_aws
    from polo.demo.simulated import populate
    from support.common import make_config

    def live_clients() -> int:
        gc.collect()
        return sum(1 for o in gc.get_objects() if isinstance(o, BaseClient))

    patch = pytest.MonkeyPatch()
    use_fake_aws(patch, REGIONS[0])
    config = make_config(accounts=("444444444444", "555555555555"), regions=list(REGIONS), state_dir=str(tmp_path))
    try:
        with mock_aws():
            before = live_clients()
            simulation = populate(config, NOW)
            try:
                assert live_clients() - before <= 2  # a builder made 10 or more per account
            finally:
                simulation.close()
    finally:
        patch.undo()
