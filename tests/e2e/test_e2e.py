"""End to end: the real CLI, in a subprocess, against moto's server mode over HTTP.

One run of `polo-exporter --once` over the 16 example accounts, plus one more found by AWS
Organizations discovery, feeds several checks: every account and resource type, lint-clean
exposition, a documented catalogue, and the README's IAM policies matching exactly the
operations Polo performed.
"""
import datetime as dt
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from support.common import require_binary, use_fake_aws
from polo.aws.operations import iam_action
from polo.config import load_config

REPO = Path(__file__).resolve().parents[2]
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "e2e", "AWS_SECRET_ACCESS_KEY": "e2e", "AWS_DEFAULT_REGION": "us-east-1"}
RESOURCE_TYPES = {"ec2_instance", "vpc", "subnet", "security_group", "ebs_volume", "ebs_snapshot",
                  "elastic_ip", "nat_gateway", "load_balancer", "rds_instance", "s3_bucket",
                  "lambda_function", "eks_cluster", "eks_nodegroup", "autoscaling_group", "ecs_service",
                  "dynamodb_table", "elasticache_cluster", "opensearch_domain", "sagemaker_endpoint",
                  "sagemaker_notebook", "ecr_repository", "cloudwatch_log_group"}
# IAM action names that differ from the API operation's
BILLING_BUCKET = "polo-demo-billing"  # polo.demo.billing_export writes its exports there


@pytest.fixture(scope="module")
def e2e(tmp_path_factory):
    from moto.server import ThreadedMotoServer

    from polo.demo.simulated import populate

    tmp = tmp_path_factory.mktemp("e2e")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    simulation = None
    try:
        host, port = server.get_host_and_port()
        config_data = yaml.safe_load((REPO / "polo.example.yml").read_text())
        config_data["aws"]["endpoint_url"] = f"http://{host}:{port}"
        config_data["state_dir"] = str(tmp / "state")
        management = config_data["accounts"][0]["id"]
        config_data["billing_export"] = {"bucket": BILLING_BUCKET, "prefix": "exports", "name": "polo-focus"}
        config_data["organizations"] = {
            "role_arn": f"arn:aws:iam::{management}:role/PoloOrganizations",
            "environment": {"tag": "environment", "ous": {"Production": "prod"}}}
        config_path = tmp / "polo.yml"
        config_path.write_text(yaml.safe_dump(config_data))
        config = load_config(config_path)

        # Patched until the CLI is done: the server in this process creates moto's backends when
        # first asked, and without MOTO_EC2_LOAD_DEFAULT_AMIS=false each new one holds public AMIs
        # and their snapshots, which the demo estate (and its billing export) never had.
        with pytest.MonkeyPatch.context() as patch:
            use_fake_aws(patch)
            simulation = populate(config, dt.datetime.now(dt.timezone.utc), config.aws.endpoint_url)
            discovered = organisation(config.aws.endpoint_url, management)
            env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MOTO_"))}
            env.update(FAKE_CREDENTIALS)
            result = subprocess.run([sys.executable, "-m", "polo", "--once", "--config", str(config_path)],
                                    capture_output=True, env=env, timeout=600)
        yield config, discovered, result
    finally:
        if simulation is not None:
            simulation.close()
        server.stop()


def organisation(endpoint_url, management):
    """An organisation whose management account is a static one, plus one member in a nested
    OU with no environment tag: discovery then needs every call the README lists."""
    import boto3

    creds = boto3.client("sts", endpoint_url=endpoint_url).assume_role(
        RoleArn=f"arn:aws:iam::{management}:role/setup", RoleSessionName="e2e")["Credentials"]
    org = boto3.client("organizations", endpoint_url=endpoint_url, aws_access_key_id=creds["AccessKeyId"],
                       aws_secret_access_key=creds["SecretAccessKey"], aws_session_token=creds["SessionToken"])
    org.create_organization(FeatureSet="ALL")
    root = org.list_roots()["Roots"][0]["Id"]
    production = org.create_organizational_unit(ParentId=root, Name="Production")["OrganizationalUnit"]["Id"]
    team = org.create_organizational_unit(ParentId=production, Name="payments")["OrganizationalUnit"]["Id"]
    member = org.create_account(Email="payments@example.com", AccountName="payments-prod")
    member_id = member["CreateAccountStatus"]["AccountId"]
    org.move_account(AccountId=member_id, SourceParentId=root, DestinationParentId=team)
    return member_id


def families(result):
    return {f.name: f for f in text_string_to_metric_families(result.stdout.decode())}


def test_cli_run_succeeds_without_tracebacks(e2e):
    _, _, result = e2e
    stderr = result.stderr.decode()
    assert result.returncode == 0, stderr[-3000:]
    assert "Traceback" not in stderr


def test_every_account_and_resource_type_is_exported(e2e):
    config, discovered, result = e2e
    parsed = families(result)
    accounts = {s.labels["account_id"] for s in parsed["polo_account_info"].samples}
    assert accounts == {a.id for a in config.accounts} | {discovered} and len(accounts) == 17
    assert {(s.labels["account"], s.labels["environment"]) for s in parsed["polo_account_info"].samples
            if s.labels["account_id"] == discovered} == {("payments-prod", "prod")}  # from the OU
    assert all(s.value == 1 for s in parsed["polo_account_up"].samples)
    info = parsed["polo_resource_info"].samples
    assert {s.labels["resource_type"] for s in info} == RESOURCE_TYPES
    assert {s.labels["account_id"] for s in info} == accounts
    assert {s.labels["region"] for s in info if s.labels["resource_type"] == "vpc"} == set(config.regions)
    assert all(s.value == 1 for s in parsed["polo_collector_up"].samples)
    assert len(parsed["polo_collector_up"].samples) == 17 * (22 * len(config.regions) + 1)


def test_every_priced_resource_has_a_cost_from_the_price_list(e2e):
    """Through the Price List API over HTTP (moto's server with the demo's Price List backend):
    nothing is left unpriced, and the prices came from the API, not only the shipped table."""
    from polo.prices.pricing import PRICED_TYPES

    _, _, result = e2e
    parsed = families(result)
    assert "polo_resource_price_missing" not in parsed or not parsed["polo_resource_price_missing"].samples
    priced = {(s.labels["resource_type"], s.labels["resource_id"])
              for s in parsed["polo_resource_monthly_cost_usd"].samples}
    listed = {(s.labels["resource_type"], s.labels["resource_id"]) for s in parsed["polo_resource_info"].samples
              if s.labels["resource_type"] in PRICED_TYPES}
    assert listed and listed <= priced
    sources = {(s.labels["resource_type"], s.labels["source"]) for s in parsed["polo_price_source_info"].samples}
    assert {t for t, source in sources if source == "price_list"} == {t for t, _ in listed}
    requests = {s.labels["result"]: s.value for s in parsed["polo_price_list_requests"].samples}
    assert requests["ok"] > 0 and requests["throttled"] == requests["denied"] == requests["error"] == 0


def by_account_and_service(family) -> dict[tuple[str, str], float]:
    sums: dict[tuple[str, str], float] = {}
    for sample in family.samples:
        key = (sample.labels["account_id"], sample.labels["service"])
        sums[key] = sums.get(key, 0.0) + sample.value
    return {key: round(usd, 2) for key, usd in sums.items()}


def test_the_billing_export_agrees_with_cost_explorer_to_the_cent(e2e):
    """Yesterday and the month so far, per account and service: the demo's FOCUS export, read
    by the real CLI from S3 over HTTP, bills exactly what its Cost Explorer reports."""
    _, _, result = e2e
    parsed = families(result)
    assert parsed["polo_billing_export_up"].samples[0].value == 1
    assert parsed["polo_billed_cost_last_day_timestamp_seconds"].samples[0].value == \
        parsed["polo_cost_last_complete_day_timestamp_seconds"].samples[0].value
    assert by_account_and_service(parsed["polo_billed_cost_usd"]) == by_account_and_service(
        parsed["polo_cost_daily_usd"])
    assert by_account_and_service(parsed["polo_billed_cost_month_to_date_usd"]) == by_account_and_service(
        parsed["polo_cost_month_to_date_usd"])


def test_nine_in_ten_estimated_resources_have_a_billed_cost(e2e):
    _, _, result = e2e
    parsed = families(result)
    identity = ("account_id", "region", "resource_type", "resource_id")
    estimated = {tuple(s.labels[k] for k in identity) for s in parsed["polo_resource_monthly_cost_usd"].samples}
    billed = {tuple(s.labels[k] for k in identity) for s in parsed["polo_resource_billed_cost_usd"].samples}
    assert len(estimated & billed) >= 0.9 * len(estimated), (len(estimated & billed), len(estimated))
    teams = {s.labels["tag_value"] for s in parsed["polo_cost_allocation_usd"].samples
             if s.labels["tag_key"] == "team"}
    assert "" in teams and len(teams) > 2, teams
    kinds = {s.labels["commitment_type"] for s in parsed["polo_commitment_utilization_ratio"].samples}
    assert kinds == {"savings_plan", "reserved_instance"}


def test_exposition_is_lint_clean(e2e):
    _, _, result = e2e
    check = subprocess.run([require_binary("promtool"), "check", "metrics"], input=result.stdout,
                           capture_output=True)
    assert check.returncode == 0 and not check.stdout.strip() and not check.stderr.strip(), check.stdout


def test_every_exported_metric_is_documented(e2e):
    _, _, result = e2e
    catalogue = (REPO / "docs" / "metrics.md").read_text()
    documented = set(re.findall(r"`(polo_[a-z0-9_]+)`", catalogue))
    exported = {f.name + ("_total" if f.type == "counter" else "") for f in families(result).values()}
    assert exported - documented == set()


def readme_policy(marker):
    readme = (REPO / "README.md").read_text()
    block = readme.split(f"<!-- iam-policy:{marker} -->", 1)[1]
    policy = json.loads(block.split("```json", 1)[1].split("```", 1)[0])
    return {action for statement in policy["Statement"] for action in statement["Action"]}


def test_readme_iam_policy_lists_exactly_what_polo_calls(e2e):
    """The runner's, every account's, the payer's and the organisation role's policies equal
    what the exporter called; Cost Explorer and the Price List only from the payer account."""
    config, _, result = e2e
    called: dict[str, set[str]] = {}
    for sample in families(result)["polo_aws_api_calls"].samples:
        service, operation = sample.labels["service"], sample.labels["operation"]
        action = iam_action(service, operation)
        called.setdefault(sample.labels["account_id"], set()).add(action)
    assert called.pop("base") == readme_policy("runner")
    assert called.pop("organizations") == readme_policy("organizations")
    payer_actions = readme_policy("payer")
    everything = set().union(*called.values())
    assert everything - payer_actions == readme_policy("account")
    assert everything & payer_actions == payer_actions
    payers = {account for account, actions in called.items() if actions & payer_actions}
    assert payers == {config.costs.account, config.pricing.account or config.costs.account}
    readme = (REPO / "README.md").read_text()
    runner = json.loads(readme.split("<!-- iam-policy:runner -->", 1)[1].split("```json", 1)[1].split("```", 1)[0])
    assert all(statement["Condition"]["StringEquals"]["aws:ResourceOrgID"] for statement in runner["Statement"])
    assert not any(a.split(":")[1].startswith(("Create", "Delete", "Put", "Modify", "Update"))
                   for a in readme_policy("account"))
