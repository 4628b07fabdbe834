"""Exposition: valid under prometheus_client's parser and promtool, whatever users put in tags."""
import gzip

import pytest
from prometheus_client.parser import text_string_to_metric_families

from polo.model import Resource
from polo.render.exposition import Family
from support.exposition import HOSTILE, hostile_resources, render_all, snapshot_with

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


def test_lone_surrogates_in_aws_text_spoil_only_their_own_characters():
    """Lambda accepts tag values with lone UTF-16 surrogates; they cannot be encoded as UTF-8."""
    bad = Resource("111111111111", "us-east-1", "lambda_function", "fn-bad", name="a\ud800b",
                   tags={"team": "\udfff"})
    payload = render_all(snapshot_with(hostile_resources() + [bad]))
    by_id = {s.labels["resource_id"]: s.labels for s in parse(payload)["polo_resource_info"].samples}
    assert by_id["fn-bad"]["name"] == "a?b" and by_id["fn-bad"]["tag_team"] == "?"
    assert len(by_id) == len(HOSTILE) + 2  # every other resource is still there
