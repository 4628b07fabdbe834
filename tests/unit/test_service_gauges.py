"""The per-type gauges of the ML estate's services: one series per resource with the identity
labels, values from the collectors' details, nothing where AWS gave no value."""
from prometheus_client.parser import text_string_to_metric_families

from polo.config import parse_config
from polo.render.exposition import render
from polo.render.inventory import inventory_families
from polo.model import Inventory, Resource, TaskKey, TaskResult
from polo.render.service_gauges import GAUGES

ACCOUNT = "111111111111"
CONFIG = parse_config({"accounts": [{"id": ACCOUNT, "name": "ml-prod", "environment": "prod"}]}, "test.yml")


def res(resource_type, resource_id, **details):
    return Resource(ACCOUNT, "eu-west-1", resource_type, resource_id, details=details)


def values(*resources):
    snapshot = Inventory(prune_window=86400).apply(
        [TaskResult(TaskKey(ACCOUNT, "eu-west-1", "mixed"), resources, 0.1)], now=1000.0)
    families = text_string_to_metric_families(render(inventory_families(snapshot, CONFIG)).plain.decode())
    return {(f.name, s.labels["resource_id"]) + tuple(s.labels.get(k, "") for k in ("variant", "instance_type")):
            s.value for f in families for s in f.samples if "resource_id" in s.labels}


def test_gauges_read_the_details_and_skip_unknown_values():
    found = values(
        res("eks_nodegroup", "ng", desired_size=2, min_size=1, max_size=4),
        res("dynamodb_table", "on-demand", item_count=10, read_capacity_units=None, write_capacity_units=None),
        res("ecr_repository", "tidy", image_count=3, lifecycle_policy=True),
        res("ecr_repository", "messy", image_count=0, lifecycle_policy=False),
        res("cloudwatch_log_group", "/kept", retention_days=30),
        res("cloudwatch_log_group", "/forever", retention_days=None),
        res("sagemaker_endpoint", "reranker", instance_count=3, invocations_7d=0.0,
            variants=(("primary", "ml.g4dn.xlarge", 2), ("canary", "ml.m5.large", 1))),
        res("sagemaker_endpoint", "unknown-traffic", instance_count=1, invocations_7d=None, variants=()),
    )
    assert found[("polo_eks_nodegroup_desired_nodes", "ng", "", "")] == 2
    assert found[("polo_eks_nodegroup_max_nodes", "ng", "", "")] == 4
    assert found[("polo_dynamodb_table_items", "on-demand", "", "")] == 10
    assert ("polo_dynamodb_table_read_capacity_units", "on-demand", "", "") not in found
    assert found[("polo_ecr_repository_lifecycle_policy", "tidy", "", "")] == 1
    assert found[("polo_ecr_repository_lifecycle_policy", "messy", "", "")] == 0
    assert found[("polo_cloudwatch_log_group_retention_seconds", "/kept", "", "")] == 30 * 86400
    assert ("polo_cloudwatch_log_group_retention_seconds", "/forever", "", "") not in found
    assert found[("polo_sagemaker_endpoint_instances", "reranker", "", "")] == 3
    assert found[("polo_sagemaker_endpoint_invocations_7d", "reranker", "", "")] == 0
    assert ("polo_sagemaker_endpoint_invocations_7d", "unknown-traffic", "", "") not in found
    assert found[("polo_sagemaker_endpoint_variant_instances", "reranker", "primary", "ml.g4dn.xlarge")] == 2
    assert found[("polo_sagemaker_endpoint_variant_instances", "reranker", "canary", "ml.m5.large")] == 1


def test_every_gauge_is_documented():
    docs = open("docs/metrics.md").read()
    for name in [gauge.name for _type, gauge in GAUGES]:
        assert f"`{name}`" in docs, name
