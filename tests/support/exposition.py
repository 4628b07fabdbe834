"""A rendered exposition of resources with hostile tag values, for the exposition tests."""
from polo.aws.api_stats import ApiStats
from polo.config import parse_config
from polo.model import Inventory, Resource, TaskKey, TaskResult
from polo.render.exposition import render
from polo.render.inventory import inventory_families, self_families

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
