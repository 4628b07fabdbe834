"""End to end: the real CLI, in a subprocess, against moto's server mode over HTTP.

One run of `polo-exporter --once` over the 16 example accounts feeds several checks: every
account and resource type, lint-clean exposition, a documented catalogue, and the README's IAM
policy matching exactly the operations Polo performed.
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

from conftest import require_binary, use_fake_aws
from polo.config import load_config

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[1]
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "e2e", "AWS_SECRET_ACCESS_KEY": "e2e", "AWS_DEFAULT_REGION": "us-east-1"}
RESOURCE_TYPES = {"ec2_instance", "vpc", "subnet", "security_group", "ebs_volume", "ebs_snapshot",
                  "elastic_ip", "nat_gateway", "load_balancer", "rds_instance", "s3_bucket",
                  "lambda_function"}
# IAM action names that differ from the API operation's
IAM_PREFIX = {"elbv2": "elasticloadbalancing"}
IAM_RENAMED = {("s3", "ListBuckets"): "s3:ListAllMyBuckets",
               ("s3", "GetPublicAccessBlock"): "s3:GetBucketPublicAccessBlock"}


@pytest.fixture(scope="module")
def e2e(tmp_path_factory):
    from moto.server import ThreadedMotoServer

    from polo.demo.simulated import populate

    tmp = tmp_path_factory.mktemp("e2e")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    undo = None
    try:
        host, port = server.get_host_and_port()
        config_data = yaml.safe_load((REPO / "polo.example.yml").read_text())
        config_data["aws"]["endpoint_url"] = f"http://{host}:{port}"
        config_data["state_dir"] = str(tmp / "state")
        config_path = tmp / "polo.yml"
        config_path.write_text(yaml.safe_dump(config_data))
        config = load_config(config_path)

        with pytest.MonkeyPatch.context() as patch:
            use_fake_aws(patch)
            undo = populate(config, dt.datetime.now(dt.timezone.utc), config.aws.endpoint_url)

        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MOTO_"))}
        env.update(FAKE_CREDENTIALS)
        result = subprocess.run([sys.executable, "-m", "polo", "--once", "--config", str(config_path)],
                                capture_output=True, env=env, timeout=600)
        yield config, result
    finally:
        if undo:
            undo()
        server.stop()


def families(result):
    return {f.name: f for f in text_string_to_metric_families(result.stdout.decode())}


def test_cli_run_succeeds_without_tracebacks(e2e):
    _, result = e2e
    stderr = result.stderr.decode()
    assert result.returncode == 0, stderr[-3000:]
    assert "Traceback" not in stderr


def test_every_account_and_resource_type_is_exported(e2e):
    config, result = e2e
    parsed = families(result)
    accounts = {s.labels["account_id"] for s in parsed["polo_account_info"].samples}
    assert accounts == {a.id for a in config.accounts} and len(accounts) == 16
    assert all(s.value == 1 for s in parsed["polo_account_up"].samples)
    info = parsed["polo_resource_info"].samples
    assert {s.labels["resource_type"] for s in info} == RESOURCE_TYPES
    assert {s.labels["account_id"] for s in info} == accounts
    assert {s.labels["region"] for s in info if s.labels["resource_type"] == "vpc"} == set(config.regions)
    assert all(s.value == 1 for s in parsed["polo_collector_up"].samples)
    assert len(parsed["polo_collector_up"].samples) == 16 * (11 * len(config.regions) + 1)


def test_exposition_is_lint_clean(e2e):
    _, result = e2e
    check = subprocess.run([require_binary("promtool"), "check", "metrics"], input=result.stdout,
                           capture_output=True)
    assert check.returncode == 0 and not check.stdout.strip() and not check.stderr.strip(), check.stdout


def test_every_exported_metric_is_documented(e2e):
    _, result = e2e
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
    _, result = e2e
    called = {"account": set(), "runner": set()}
    for sample in families(result)["polo_aws_api_calls"].samples:
        service, operation = sample.labels["service"], sample.labels["operation"]
        action = IAM_RENAMED.get((service, operation), f"{IAM_PREFIX.get(service, service)}:{operation}")
        called["runner" if sample.labels["account_id"] == "base" else "account"].add(action)
    assert called["runner"] == readme_policy("runner")
    assert called["account"] == readme_policy("account")
    assert not any(a.split(":")[1].startswith(("Create", "Delete", "Put", "Modify", "Update"))
                   for a in readme_policy("account"))
