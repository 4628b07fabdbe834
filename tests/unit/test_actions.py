"""Cleanup rules over hand-built inventories: what each flags and nothing else, the savings
worked out by hand, the exemption tag, the first-seen memory and the metric families."""
import json
import logging

import pytest

from support.common import ACCOUNT_A, ACCOUNT_B, make_config
from polo.actions import first_seen
from polo.actions.rules import evaluate
from polo.actions.source import ActionSource
from polo.collectors.base import GIB
from polo.collectors import COLLECTORS
from polo.config import ActionSettings
from polo.render.labels import IDENTITY
from polo.model import Resource, Snapshot, TaskKey, TaskStatus
from polo.prices.pricing import PriceTable

PRICES = PriceTable.load()
# Prices for the types the shipped table leaves to the Price List API (round test figures).
SERVICE_PRICES = PriceTable.from_dict({"source": "test", "as_of": "2025-06-01", "hours_per_month": 730, "regions": {
    "us-east-1": {"eks_cluster_hourly": 0.10, "sagemaker_hosting_hourly": {"ml.m5.large": 0.10},
                  "sagemaker_notebook_hourly": {"ml.t3.medium": 0.05}, "sagemaker_storage_gb_month": 0.10,
                  "ecr_storage_gb_month": 0.10, "logs_storage_gb_month": 0.03}}})
NOW = 1_750_000_000.0
DAY = 86400.0
TAGGED = {"team": "payments", "service": "api"}
SETTINGS = ActionSettings(required_tags=("team", "service"))


def res(resource_type, resource_id, account_id=ACCOUNT_A, region="us-east-1", tags=TAGGED, **fields):
    return Resource(account_id=account_id, region=region, resource_type=resource_type,
                    resource_id=resource_id, tags=tags, **fields)


def volume(resource_id, size_gib=100, volume_type="gp2", instance="", **fields):
    return res("ebs_volume", resource_id, resource_class=volume_type, size_bytes=size_gib * GIB,
               state="in-use" if instance else "available", parent_id=instance,
               details={"attached_instance_id": instance, "iops": None, "throughput": None}, **fields)


def instance(resource_id, state="running", state_since=None, volume_ids=(), **fields):
    return res("ec2_instance", resource_id, state=state, resource_class="t3.micro",
               details={"state_since": state_since, "volume_ids": tuple(volume_ids)}, **fields)


def snapshot_res(resource_id, volume_id, age_days, ami_ids=(), size_gib=100, **fields):
    return res("ebs_snapshot", resource_id, parent_id=volume_id, created=NOW - age_days * DAY,
               size_bytes=size_gib * GIB, details={"volume_id": volume_id, "ami_ids": tuple(ami_ids)},
               **fields)


def balancer(resource_id, registered, healthy, **fields):
    return res("load_balancer", resource_id, resource_class="application", state="active",
               details={"registered_targets": registered, "healthy_targets": healthy}, **fields)


def nat(resource_id, bytes_out, age_days, **fields):
    return res("nat_gateway", resource_id, state="available", created=NOW - age_days * DAY,
               details={"bytes_out_7d": bytes_out}, **fields)


def database(resource_id, state, size_gib=20, multi_az=False, **fields):
    return res("rds_instance", resource_id, state=state, resource_class="db.t3.micro",
               size_bytes=size_gib * GIB,
               details={"engine": "postgres", "multi_az": multi_az, "storage_type": "gp3"}, **fields)


def endpoint(resource_id, invocations, age_days, instances=2, state="InService", **fields):
    return res("sagemaker_endpoint", resource_id, state=state, created=NOW - age_days * DAY,
               resource_class="ml.m5.large",
               details={"variants": (("primary", "ml.m5.large", instances),), "instance_count": instances,
                        "invocations_7d": invocations}, **fields)


def cluster(resource_id, nodegroups=0, fargate_profiles=0, **fields):
    return res("eks_cluster", resource_id, state="ACTIVE", resource_class="1.31",
               details={"nodegroups": nodegroups, "fargate_profiles": fargate_profiles}, **fields)


def log_group(resource_id, stored_gib, retention_days=None, **fields):
    return res("cloudwatch_log_group", resource_id, state="active", resource_class="STANDARD",
               size_bytes=stored_gib * GIB, details={"retention_days": retention_days}, **fields)


def repository(resource_id, stored_gib, lifecycle_policy=False, **fields):
    return res("ecr_repository", resource_id, state="active", size_bytes=stored_gib * GIB,
               details={"image_count": 3, "lifecycle_policy": lifecycle_policy}, **fields)


def notebook(resource_id, state="InService", modified_days_ago=None, **fields):
    modified = None if modified_days_ago is None else NOW - modified_days_ago * DAY
    return res("sagemaker_notebook", resource_id, state=state, resource_class="ml.t3.medium",
               size_bytes=5 * GIB, details={"last_modified": modified}, **fields)


def inventory(*resources, failed=(), now=NOW):
    """A snapshot whose every collector listed every (account, region) present; `failed` names
    (account, region) pairs whose ec2_instances listing failed this sweep."""
    places = {(r.account_id, r.region) for r in resources} | set(failed)
    tasks = {TaskKey(a, region, name): TaskStatus(ok=(a, region) not in failed or name != "ec2_instances",
                                                  duration=0.1, error="", last_success=now, resources=0)
             for a, region in places for name in COLLECTORS}
    return Snapshot(taken_at=now, resources=tuple(resources), tombstones=(), tasks=tasks,
                    sweep_duration=1.0, sweep_ok=True, last_success=now)


def seen(resource, condition, days_ago):
    return {resource.key + (condition,): NOW - days_ago * DAY}


def run(*resources, memory=None, settings=SETTINGS, prices=PRICES, **kw):
    findings, _ = evaluate(inventory(*resources, **kw), settings, prices, memory or {})
    return {(f.action, f.resource.resource_id): (f.reason, f.savings) for f in findings}


def only(found, action):
    return {rid: value for (a, rid), value in found.items() if a == action}


# --- each rule: flags what it should, nothing else, with hand-checked savings ------------------

def test_unattached_volume_after_a_day_from_memory():
    idle, fresh = volume("vol-idle"), volume("vol-fresh")
    attached = volume("vol-attached", instance="i-1")
    memory = {**seen(idle, "unattached", 2), **seen(fresh, "unattached", 0.5)}
    found = only(run(idle, fresh, attached, instance("i-1"), memory=memory), "unattached_volume")
    # 100 GiB gp2: 100 x 0.10 = $10.00 a month
    assert found == {"vol-idle": ("unattached for more than 1 day", pytest.approx(10.0))}


def test_unattached_volume_never_seen_before_waits():
    assert only(run(volume("vol-new")), "unattached_volume") == {}


def test_idle_elastic_ip():
    found = only(run(res("elastic_ip", "eipalloc-idle", state="unassociated"),
                     res("elastic_ip", "eipalloc-used", state="associated", parent_id="i-1")),
                 "idle_elastic_ip")
    # public IPv4: 0.005 $/h x 730 h = $3.65 a month
    assert found == {"eipalloc-idle": ("not associated", pytest.approx(3.65))}


def test_stopped_instance_saves_its_volumes():
    old = instance("i-old", "stopped", state_since=NOW - 8 * DAY, volume_ids=["vol-root"])
    recent = instance("i-recent", "stopped", state_since=NOW - 6 * DAY)
    remembered = instance("i-remembered", "stopped")  # no AWS stop time: memory decides
    unknown = instance("i-unknown", "stopped")
    root = volume("vol-root", 20, "gp3", instance="i-old")
    data = volume("vol-data", 100, "gp2", instance="i-old")  # only its parent_id links it
    found = only(run(old, recent, remembered, unknown, instance("i-running"), root, data,
                     memory=seen(remembered, "stopped", 10)), "stopped_instance")
    # i-old: 20 GiB gp3 (20 x 0.08 = 1.60) + 100 GiB gp2 (100 x 0.10 = 10.00) = $11.60
    # i-remembered: no volumes, nothing more to save than the instance itself: $0
    assert found == {"i-old": ("stopped for more than 7 days", pytest.approx(11.6)),
                     "i-remembered": ("stopped for more than 7 days", 0)}


def test_stopped_instance_with_an_unlisted_volume_has_no_savings_figure():
    lost = instance("i-1", "stopped", state_since=NOW - 30 * DAY, volume_ids=["vol-unlisted"])
    assert only(run(lost), "stopped_instance") == {"i-1": ("stopped for more than 7 days", None)}


def test_orphaned_snapshot():
    live = volume("vol-live", instance="i-1")
    cases = [
        snapshot_res("snap-orphan", "vol-gone", 100),
        snapshot_res("snap-young", "vol-gone", 30),
        snapshot_res("snap-live", "vol-live", 100),
        snapshot_res("snap-ami", "vol-gone", 100, ami_ids=["ami-1"]),
        # the same volume id exists, but in another account: still orphaned here
        snapshot_res("snap-elsewhere", "vol-b", 100),
    ]
    found = only(run(live, instance("i-1"), volume("vol-b", account_id=ACCOUNT_B), *cases),
                 "orphaned_snapshot")
    # 100 GiB standard-tier snapshot: 100 x 0.05 = $5.00 a month
    reason = "older than 90 days, source volume gone, no AMI uses it"
    assert found == {"snap-orphan": (reason, pytest.approx(5.0)),
                     "snap-elsewhere": (reason, pytest.approx(5.0))}


def test_orphaned_snapshot_needs_the_volume_listing():
    snapshot = inventory(snapshot_res("snap-1", "vol-gone", 100))
    tasks = {k: v for k, v in snapshot.tasks.items() if k.collector != "ebs_volumes"}
    findings, _ = evaluate(Snapshot(NOW, snapshot.resources, (), tasks, 1.0, True, NOW),
                           SETTINGS, PRICES, {})
    assert findings == []  # volumes never listed: "gone" cannot be told from "not looked at"


def test_idle_load_balancer_says_which():
    empty, down = balancer("lb-empty", 0, 0), balancer("lb-down", 2, 0)
    new, live = balancer("lb-new", 0, 0), balancer("lb-live", 2, 1)
    memory = {**seen(empty, "no_healthy_targets", 2), **seen(down, "no_healthy_targets", 1.5),
              **seen(new, "no_healthy_targets", 0.5)}
    found = only(run(empty, down, new, live, memory=memory), "idle_load_balancer")
    # ALB hourly charge: 0.0225 x 730 = $16.425 a month
    assert found == {"lb-empty": ("no registered targets for more than 1 day", pytest.approx(16.425)),
                     "lb-down": ("no healthy targets for more than 1 day", pytest.approx(16.425))}


def test_idle_nat_gateway():
    found = only(run(nat("nat-idle", 0.0, 10), nat("nat-busy", 5e9, 10), nat("nat-unknown", None, 10),
                     nat("nat-new", 0.0, 3)), "idle_nat_gateway")
    # NAT hourly charge: 0.045 x 730 = $32.85 a month
    assert found == {"nat-idle": ("no traffic in the last 7 days", pytest.approx(32.85))}


def test_gp2_to_gp3():
    found = only(run(instance("i-1"),
                     volume("vol-small", 100, instance="i-1"),
                     volume("vol-big", 2000, instance="i-1"),
                     volume("vol-gp3", 100, "gp3", instance="i-1"),
                     volume("vol-loose", 100)),  # unattached: left to unattached_volume
                 "gp2_to_gp3")
    reason = "gp3 costs less at the same IOPS and throughput"
    # 100 GiB: gp2 100 x 0.10 = 10.00, gp3 100 x 0.08 = 8.00 (300 IOPS and 128 MiB/s fit in the
    # included 3,000 IOPS / 125 MiB/s): $2.00
    # 2,000 GiB: gp2 200.00; gp3 160.00 + (6,000 - 3,000) IOPS x 0.005 + (250 - 125) MiB/s x 0.04
    # = 160 + 15 + 5 = 180.00: $20.00
    assert found == {"vol-small": (reason, pytest.approx(2.0)), "vol-big": (reason, pytest.approx(20.0))}


def test_stopped_rds_instance_saves_storage():
    found = only(run(database("db-stopped", "stopped"), database("db-big", "stopped", 100, multi_az=True),
                     database("db-running", "available")), "stopped_rds_instance")
    reason = "stopped: storage still billed, AWS restarts it after 7 days"
    # 20 GiB gp3: 20 x 0.115 = $2.30; Multi-AZ 100 GiB: 100 x 0.115 x 2 = $23.00
    assert found == {"db-stopped": (reason, pytest.approx(2.3)), "db-big": (reason, pytest.approx(23.0))}


def test_idle_sagemaker_endpoint():
    found = only(run(endpoint("ep-idle", 0.0, 30), endpoint("ep-busy", 12.0, 30), endpoint("ep-unknown", None, 30),
                     endpoint("ep-new", 0.0, 3), endpoint("ep-serverless", 0.0, 30, instances=0),
                     endpoint("ep-failed", 0.0, 30, state="Failed"), prices=SERVICE_PRICES),
                 "idle_sagemaker_endpoint")
    # two ml.m5.large hosting instances: 2 x 0.10 x 730 = $146.00 a month
    assert found == {"ep-idle": ("no invocations in the last 7 days", pytest.approx(146.0))}
    assert only(run(endpoint("ep-new", 0.0, 3), settings=ActionSettings(sagemaker_endpoint_idle_days=2)),
                "idle_sagemaker_endpoint") == {"ep-new": ("no invocations in the last 7 days", None)}


def test_idle_eks_cluster_needs_no_node_group_fargate_profile_or_node():
    clusters = [cluster("idle"), cluster("managed", nodegroups=1), cluster("fargate", fargate_profiles=1),
                cluster("self-managed"), cluster("tagged-managed"), cluster("old-nodes"), cluster("lonely"),
                cluster("new")]
    nodes = [
        instance("i-self", tags={**TAGGED, "kubernetes.io/cluster/self-managed": "owned"}),
        instance("i-managed", "stopped", tags={**TAGGED, "eks:cluster-name": "tagged-managed"}),
        instance("i-gone", "terminated", tags={**TAGGED, "kubernetes.io/cluster/old-nodes": "owned"}),
        # a node of a cluster of the same name in another account does not count here
        instance("i-elsewhere", account_id=ACCOUNT_B, tags={**TAGGED, "eks:cluster-name": "lonely"}),
    ]
    memory = {}
    for c in clusters:
        memory.update(seen(c, "no_nodes", 0.5 if c.resource_id == "new" else 10))
    found = only(run(*clusters, *nodes, memory=memory, prices=SERVICE_PRICES), "idle_eks_cluster")
    # control plane: 0.10 x 730 = $73.00 a month
    reason = "no node groups, Fargate profiles or nodes for more than 7 days"
    assert found == {name: (reason, pytest.approx(73.0)) for name in ("idle", "old-nodes", "lonely")}


def test_idle_eks_cluster_needs_the_instance_listing():
    idle = cluster("idle")
    snapshot = inventory(idle)
    tasks = {k: v for k, v in snapshot.tasks.items() if k.collector != "ec2_instances"}
    findings, memory = evaluate(Snapshot(NOW, snapshot.resources, (), tasks, 1.0, True, NOW),
                                SETTINGS, PRICES, seen(idle, "no_nodes", 10))
    assert findings == []  # instances never listed: "no nodes" cannot be told from "not looked at"


def test_log_group_never_expires_above_the_stored_threshold():
    found = only(run(log_group("/app/debug", 10), log_group("/app/kept", 10, retention_days=30),
                     log_group("/app/tiny", 0.001), prices=SERVICE_PRICES), "log_group_never_expires")
    # 10 GiB stored: 10 x 0.03 = $0.30 a month at most (retention deletes the older events only)
    assert found == {"/app/debug": ("never expires, more than 1 GiB stored", pytest.approx(0.3))}
    found = only(run(log_group("/app/tiny", 0.001), settings=ActionSettings(log_group_min_stored_gib=0.0005)),
                 "log_group_never_expires")
    assert found == {"/app/tiny": ("never expires, more than 0.0005 GiB stored", None)}  # no price in the table


def test_ecr_no_lifecycle_above_the_stored_threshold():
    found = only(run(repository("models", 20), repository("api", 20, lifecycle_policy=True),
                     repository("tools", 0.5), res("ecr_repository", "unknown", size_bytes=20 * GIB),
                     prices=SERVICE_PRICES), "ecr_no_lifecycle")
    # 20 GiB of images: 20 x 0.10 = $2.00 a month at most
    assert found == {"models": ("no lifecycle policy, more than 1 GiB stored", pytest.approx(2.0))}


def test_notebook_left_running_from_memory_made_younger_by_aws():
    forgotten, restarted = notebook("forgotten", modified_days_ago=9), notebook("restarted", modified_days_ago=0.1)
    unmodified, stopped = notebook("unmodified"), notebook("stopped", "Stopped", modified_days_ago=9)
    fresh = notebook("fresh", modified_days_ago=30)  # AWS's field alone never makes it old
    memory = {}
    for n in (forgotten, restarted, unmodified, stopped):
        memory.update(seen(n, "in_service", 5))
    found = only(run(forgotten, restarted, unmodified, stopped, fresh, memory=memory, prices=SERVICE_PRICES),
                 "notebook_left_running")
    # the instance only (the 5 GiB volume stays): 0.05 x 730 = $36.50 a month
    reason = "in service for more than 3 days"
    assert found == {"forgotten": (reason, pytest.approx(36.5)), "unmodified": (reason, pytest.approx(36.5))}
    _, kept = evaluate(inventory(forgotten, restarted, stopped, fresh), SETTINGS, PRICES, memory)
    assert kept == {**seen(forgotten, "in_service", 5), **seen(restarted, "in_service", 5),
                    **seen(fresh, "in_service", 0)}  # the memory keeps Polo's own sighting


def test_missing_tags_lists_keys_sorted_and_skips_aws_defaults():
    resources = [
        res("s3_bucket", "half-tagged", tags={"team": "data"}),
        res("lambda_function", "untagged", tags={}),
        res("ec2_instance", "i-blank", tags={"team": "", "service": "api"}, state="running",
            resource_class="t3.micro"),
        res("vpc", "vpc-default", tags={}, details={"is_default": True}),
        res("subnet", "subnet-default", tags={}, vpc_id="vpc-default"),
        res("security_group", "sg-default", tags={}, vpc_id="vpc-own", details={"group_name": "default"}),
        res("vpc", "vpc-own", tags={}, details={"is_default": False}),
        res("subnet", "subnet-own", tags={}, vpc_id="vpc-own"),
    ]
    found = only(run(*resources), "missing_tags")
    assert found == {"half-tagged": ("missing tags: service", 0.0),
                     "untagged": ("missing tags: service,team", 0.0),
                     "i-blank": ("missing tags: team", 0.0),
                     "vpc-own": ("missing tags: service,team", 0.0),
                     "subnet-own": ("missing tags: service,team", 0.0)}
    assert only(run(*resources, settings=ActionSettings()), "missing_tags") == {}


def test_each_rule_flags_only_its_own_cases():
    """One inventory holding every case; the complete set of findings is exactly these."""
    idle_volume = volume("vol-idle", tags={})  # untagged too
    lb = balancer("lb-empty", 0, 0)
    idle_cluster, running = cluster("idle"), notebook("running")
    resources = [
        instance("i-1"), volume("vol-root", 20, "gp3", instance="i-1"), idle_volume,
        volume("vol-gp2", 100, instance="i-1"),
        instance("i-stopped", "stopped", state_since=NOW - 30 * DAY),
        res("elastic_ip", "eipalloc-1", state="unassociated"),
        snapshot_res("snap-orphan", "vol-gone", 100), lb, nat("nat-idle", 0.0, 30),
        database("db-stopped", "stopped"), database("db-live", "available"),
        endpoint("ep-idle", 0.0, 30), endpoint("ep-busy", 5.0, 30), idle_cluster, cluster("busy", nodegroups=2),
        log_group("/app/debug", 10), log_group("/app/kept", 10, retention_days=7),
        repository("models", 20), repository("api", 20, lifecycle_policy=True),
        running, notebook("stopped", "Stopped"),
    ]
    memory = {**seen(idle_volume, "unattached", 2), **seen(lb, "no_healthy_targets", 2),
              **seen(idle_cluster, "no_nodes", 10), **seen(running, "in_service", 5)}
    assert set(run(*resources, memory=memory)) == {
        ("unattached_volume", "vol-idle"), ("missing_tags", "vol-idle"), ("gp2_to_gp3", "vol-gp2"),
        ("stopped_instance", "i-stopped"), ("idle_elastic_ip", "eipalloc-1"),
        ("orphaned_snapshot", "snap-orphan"), ("idle_load_balancer", "lb-empty"),
        ("idle_nat_gateway", "nat-idle"), ("stopped_rds_instance", "db-stopped"),
        ("idle_sagemaker_endpoint", "ep-idle"), ("idle_eks_cluster", "idle"),
        ("log_group_never_expires", "/app/debug"), ("ecr_no_lifecycle", "models"),
        ("notebook_left_running", "running"),
    }


def test_exempt_tag_any_value_silences_every_rule():
    keep = {**TAGGED, "polo:keep": ""}
    idle_volume, lb = volume("vol-idle", tags=keep), balancer("lb-empty", 0, 0, tags=keep)
    idle_cluster, running = cluster("idle", tags=keep), notebook("running", tags=keep)
    resources = [
        idle_volume, lb, instance("i-1", tags=keep), volume("vol-gp2", 100, instance="i-1", tags=keep),
        instance("i-stopped", "stopped", state_since=NOW - 30 * DAY, tags=keep),
        res("elastic_ip", "eipalloc-1", state="unassociated", tags=keep),
        snapshot_res("snap-orphan", "vol-gone", 100, tags=keep), nat("nat-idle", 0.0, 30, tags=keep),
        database("db-stopped", "stopped", tags=keep), res("s3_bucket", "b", tags={"polo:keep": "yes"}),
        endpoint("ep-idle", 0.0, 30, tags=keep), idle_cluster, log_group("/app/debug", 10, tags=keep),
        repository("models", 20, tags=keep), running,
    ]
    memory = {**seen(idle_volume, "unattached", 2), **seen(lb, "no_healthy_targets", 2),
              **seen(idle_cluster, "no_nodes", 10), **seen(running, "in_service", 5)}
    assert run(*resources, memory=memory) == {}
    # a custom exempt tag replaces the default
    custom = ActionSettings(exempt_tag="keep-me")
    assert ("idle_elastic_ip", "eipalloc-1") in run(*resources, settings=custom)


def test_thresholds_come_from_settings():
    stopped = instance("i-1", "stopped", state_since=NOW - 3 * DAY)
    assert run(stopped) == {}
    found = run(stopped, settings=ActionSettings(instance_stopped_days=2))
    assert found == {("stopped_instance", "i-1"): ("stopped for more than 2 days", 0)}


def test_threshold_zero_flags_at_first_sighting():
    """0 means "flag at once": a condition first seen this sweep (age 0) is flagged by every rule."""
    zero = ActionSettings(volume_unattached_days=0, instance_stopped_days=0, snapshot_age_days=0,
                          load_balancer_idle_days=0, nat_gateway_idle_days=0, sagemaker_endpoint_idle_days=0,
                          eks_cluster_idle_days=0, log_group_min_stored_gib=0, ecr_min_stored_gib=0,
                          notebook_running_days=0)
    found = run(volume("vol-new"), balancer("lb-new", 0, 0), instance("i-new", "stopped"),
                snapshot_res("snap-new", "vol-gone", 0), nat("nat-new", 0.0, 0), endpoint("ep-new", 0.0, 0),
                cluster("new"), log_group("/app/empty", 0), repository("empty", 0),
                notebook("new", modified_days_ago=0), settings=zero)
    assert {key for key in found if key[0] != "missing_tags"} == {
        ("unattached_volume", "vol-new"), ("idle_load_balancer", "lb-new"),
        ("stopped_instance", "i-new"), ("orphaned_snapshot", "snap-new"),
        ("idle_nat_gateway", "nat-new"), ("idle_sagemaker_endpoint", "ep-new"), ("idle_eks_cluster", "new"),
        ("log_group_never_expires", "/app/empty"), ("ecr_no_lifecycle", "empty"),
        ("notebook_left_running", "new")}


# --- first-seen memory ------------------------------------------------------------------------

def test_memory_keeps_held_conditions_and_prunes_the_rest():
    idle, reattached = volume("vol-idle"), volume("vol-back", instance="i-1")
    memory = {**seen(idle, "unattached", 0.5), **seen(reattached, "unattached", 5),
              ("111111111111", "us-east-1", "ebs_volume", "vol-deleted", "unattached"): NOW - 9 * DAY}
    _, kept = evaluate(inventory(idle, reattached, instance("i-1"), volume("vol-new")),
                       SETTINGS, PRICES, memory)
    assert kept == {**seen(idle, "unattached", 0.5), **seen(volume("vol-new"), "unattached", 0)}


def test_memory_survives_a_failed_listing():
    stopped = instance("i-1", "stopped")
    memory = seen(stopped, "stopped", 5)
    # the instance listing failed in this account and region, so i-1 is simply not listed
    _, kept = evaluate(inventory(volume("vol-1", instance="i-9"), failed=[(ACCOUNT_A, "us-east-1")]),
                       SETTINGS, PRICES, memory)
    assert kept == memory


def test_memory_survives_a_restart(tmp_path):
    config = make_config(state_dir=str(tmp_path))
    idle = volume("vol-idle")
    ActionSource(config, PRICES).families(inventory(idle, now=NOW))  # first sweep: remembered
    restarted = ActionSource(config, PRICES)
    info, *_ = restarted.families(inventory(idle, now=NOW + 2 * DAY))
    assert [labels for labels, _ in info.samples if 'action="unattached_volume"' in labels]
    saved = first_seen.load(tmp_path / first_seen.FILE_NAME)
    assert saved == {idle.key + ("unattached",): NOW}
    assert [p.name for p in tmp_path.iterdir()] == [first_seen.FILE_NAME]  # no temp file left


@pytest.mark.parametrize("content", ["{not json", '{"version": 1, "entries": [{"region": 1}]}',
                                     '["a list"]', '{"version": 99, "entries": []}',
                                     "[" * 100_000 + "]" * 100_000])
def test_corrupt_memory_is_logged_counted_and_rebuilt(tmp_path, caplog, content):
    path = tmp_path / first_seen.FILE_NAME
    path.write_text(content)
    source = ActionSource(make_config(state_dir=str(tmp_path)), PRICES)
    with caplog.at_level(logging.WARNING, logger="polo.actions.first_seen"):
        families = {f.name: f for f in source.families(inventory(volume("vol-idle"), now=NOW))}
    assert any("first-seen" in r.getMessage() for r in caplog.records)
    assert json.loads(path.read_text())["entries"][0]["resource_id"] == "vol-idle"
    assert ('reason="corrupt"', 1) in families["polo_first_seen_state_errors_total"].samples


def test_unwritable_memory_does_not_stop_the_metrics(tmp_path, caplog):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    source = ActionSource(make_config(state_dir=str(blocker)), PRICES)
    with caplog.at_level(logging.WARNING, logger="polo.actions.first_seen"):
        info, *_ = source.families(inventory(res("elastic_ip", "eipalloc-1", state="unassociated"),
                                            volume("vol-idle")))  # first seen: memory to save
    assert len(info.samples) == 1
    assert any("cannot save" in r.getMessage() for r in caplog.records)
    errors = {f.name: f for f in source.families(None)}["polo_first_seen_state_errors_total"]
    assert ('reason="write"', 1) in errors.samples


# --- metric families --------------------------------------------------------------------------

def label_names(labels):
    return [part.split("=")[0] for part in labels.split(",")]


def test_families_share_one_label_set_and_skip_unknown_savings(tmp_path):
    source = ActionSource(make_config(state_dir=str(tmp_path)), PRICES)
    priced = res("elastic_ip", "eipalloc-1", state="unassociated")
    unpriced = res("elastic_ip", "eipalloc-2", region="ap-south-2", state="unassociated")
    info, savings, _ = source.families(inventory(priced, unpriced))
    assert (info.name, savings.name) == ("polo_action_info", "polo_action_monthly_savings_usd")
    assert [label_names(labels) for labels, _ in info.samples] == [list(IDENTITY) + ["action", "reason"]] * 2
    assert [value for _, value in info.samples] == [1, 1]
    assert savings.samples == [(info.samples[0][0], 3.65)]  # no price for ap-south-2: no sample
    assert 'account="acct0",environment="prod"' in info.samples[0][0]


def test_reasons_do_not_change_between_sweeps(tmp_path):
    source = ActionSource(make_config(state_dir=str(tmp_path)), PRICES)
    stopped = instance("i-1", "stopped", state_since=NOW - 30 * DAY)
    first, *_ = source.families(inventory(stopped, now=NOW))
    later, *_ = source.families(inventory(stopped, now=NOW + 3 * DAY))
    assert first.samples == later.samples


def test_no_snapshot_no_series(tmp_path):
    source = ActionSource(make_config(state_dir=str(tmp_path)), PRICES)
    assert [f.samples for f in source.families(None)][:2] == [[], []]
