"""Exposition: valid under prometheus_client's parser and promtool, whatever users put in tags."""
import gzip
import subprocess

import pytest
from prometheus_client.parser import text_string_to_metric_families

from conftest import require_binary
from polo.aws.api_stats import ApiStats
from polo.config import parse_config
from polo.render.exposition import Family, render
from polo.render.inventory import inventory_families, self_families
from polo.model import Inventory, Resource, TaskKey, TaskResult

pytestmark = pytest.mark.fast
HOSTILE = ['quote " inside', "back\\slash", "new\nline", "ünïcødé 東京 🚀", "", "trailing\\", "{a=\"b\"}"]

CONFIG = parse_config({
    "accounts": [{"id": "111111111111", "name": "prod", "environment": "prod"}],
    "tags": {"labels": ["team", "aws:cloudformation:stack-name"]},
}, "test.yml")


def snapshot_with(resources, now=1000.0):
    inventory = Inventory(prune_window=86400)
    task = TaskKey("111111111111", "us-east-1", "ec2_instances")
    return inventory.apply([TaskResult(task, tuple(resources), 0.5)], now=now,
                           accounts_up={"111111111111": True})


def hostile_resources():
    return [
        Resource("111111111111", "us-east-1", "ec2_instance", f"i-{n}", name=value, state="running",
                 tags={"team": value, "aws:cloudformation:stack-name": value, "Other": value},
                 created=1.7e9)
        for n, value in enumerate(HOSTILE)
    ] + [Resource("999999999999", "us-east-1", "ec2_instance", "i-stray")]


def render_all(snapshot):
    stats = ApiStats()
    stats.calls[("111111111111", "ec2", "DescribeInstances")] = 3
    stats.errors[("111111111111", "ec2", "DescribeInstances", "Throttling")] = 1
    return render(inventory_families(snapshot, CONFIG) + self_families(snapshot, CONFIG, stats))


def parse(payload):
    return {f.name: f for f in text_string_to_metric_families(payload.plain.decode())}


def test_hostile_tag_values_round_trip():
    families = parse(render_all(snapshot_with(hostile_resources())))
    info = families["polo_resource_info"].samples
    by_id = {s.labels["resource_id"]: s.labels for s in info}
    for n, value in enumerate(HOSTILE):
        labels = by_id[f"i-{n}"]
        assert labels["name"] == value
        assert labels["tag_team"] == value
        assert labels["tag_aws_cloudformation_stack_name"] == value
        assert "tag_Other" not in labels  # only allow-listed tags become labels
    assert by_id["i-stray"]["account"] == "unknown"


def test_gzip_body_is_the_plain_body():
    payload = render_all(snapshot_with(hostile_resources()))
    assert gzip.decompress(payload.gzipped) == payload.plain
    assert payload.series == sum(len(f.samples) for f in parse(payload).values())


def test_counters_and_no_timestamps():
    payload = render_all(snapshot_with(hostile_resources()))
    families = parse(payload)
    assert families["polo_aws_api_calls"].type == "counter"
    for family in families.values():
        assert family.name.startswith("polo_")
        for sample in family.samples:
            assert sample.timestamp is None


def test_family_rejects_misnamed_counters():
    with pytest.raises(ValueError):
        Family("polo_things_total", "gauge", "x")
    with pytest.raises(ValueError):
        Family("polo_things", "counter", "x")


@pytest.mark.e2e
def test_promtool_check_metrics_is_clean():
    payload = render_all(snapshot_with(hostile_resources()))
    result = subprocess.run([require_binary("promtool"), "check", "metrics"], input=payload.plain,
                            capture_output=True)
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()
    assert result.stdout.decode().strip() == "" and result.stderr.decode().strip() == ""


def test_lone_surrogates_in_aws_text_spoil_only_their_own_characters():
    """Lambda accepts tag values with lone UTF-16 surrogates; they cannot be encoded as UTF-8."""
    bad = Resource("111111111111", "us-east-1", "lambda_function", "fn-bad", name="a\ud800b",
                   tags={"team": "\udfff"})
    payload = render_all(snapshot_with(hostile_resources() + [bad]))
    by_id = {s.labels["resource_id"]: s.labels for s in parse(payload)["polo_resource_info"].samples}
    assert by_id["fn-bad"]["name"] == "a?b" and by_id["fn-bad"]["tag_team"] == "?"
    assert len(by_id) == len(HOSTILE) + 2  # every other resource is still there
