"""The whole /metrics output, byte for byte, for a fixed synthetic estate at a fixed clock,
rendered through every metric source the CLI wires up (node_exporter's end-to-end fixture is the
model). Any change to a name, label, help text, value or ordering shows up as a diff here.

After an intended change, regenerate the fixture and review its diff:

    POLO_UPDATE_GOLDEN=1 python -m pytest tests/unit/test_golden.py
    git diff tests/unit/fixtures/golden.prom
"""
import datetime as dt
import json
import os
import platform
import re
from pathlib import Path


from support.common import ACCOUNT_A, ACCOUNT_B, make_config
from polo.actions.source import ActionSource
from polo.aws.access import ApiStats, AwsAccess
from polo.collectors.base import GIB
from polo.costs.baseline import GoldenBaselineSource
from polo.costs.source import CostSource
from polo.model import Inventory, Resource, TaskKey, TaskResult
from polo.prices.price_list_source import FILE_NAME as PRICE_CACHE
from polo.prices.price_list_source import PriceListSource
from polo.prices.pricing import PriceTable
from polo.prices.resource_costs import ResourceCostSource
from polo.exporter import Exporter, assemble
from polo.source import Source

FIXTURE = Path(__file__).parent / "fixtures" / "golden.prom"
NOW = dt.datetime(2025, 7, 3, 12, 0, tzinfo=dt.timezone.utc)
T = NOW.timestamp()
DAY = 86400.0
EC2 = "Amazon Elastic Compute Cloud - Compute"


def estate() -> list[Resource]:
    def r(resource_type, resource_id, account_id=ACCOUNT_A, **fields):
        return Resource(account_id=account_id, region="us-east-1", resource_type=resource_type,
                        resource_id=resource_id, tags={"team": "payments", "Name": resource_id}, **fields)

    return [
        r("vpc", "vpc-1", name="main", state="available", created=T - 400 * DAY),
        r("subnet", "subnet-1", vpc_id="vpc-1", parent_id="vpc-1", name="a"),
        r("security_group", "sg-1", vpc_id="vpc-1", name="web",
          details={"open_ingress": (("tcp", "22", "0.0.0.0/0"),)}),
        r("ec2_instance", "i-stopped", state="stopped", resource_class="t3.micro", vpc_id="vpc-1",
          subnet_id="subnet-1", created=T - 90 * DAY,
          details={"state_since": T - 30 * DAY, "volume_ids": ("vol-root",)}),
        r("ebs_volume", "vol-root", state="in-use", resource_class="gp2", size_bytes=100 * GIB,
          parent_id="i-stopped", details={"attached_instance_id": "i-stopped", "iops": None, "throughput": None}),
        r("ebs_volume", "vol-idle", state="available", resource_class="gp3", size_bytes=50 * GIB,
          details={"attached_instance_id": "", "iops": 3000, "throughput": 125}),
        r("ebs_snapshot", "snap-old", parent_id="vol-gone", created=T - 200 * DAY, size_bytes=8 * GIB,
          details={"volume_id": "vol-gone", "ami_ids": ()}),
        r("elastic_ip", "eipalloc-1", state="unassociated", details={"public_ip": "203.0.113.7"}),
        r("nat_gateway", "nat-1", state="available", created=T - 30 * DAY, vpc_id="vpc-1",
          subnet_id="subnet-1", parent_id="subnet-1", details={"allocation_ids": (), "bytes_out_7d": 0.0}),
        r("load_balancer", "app/lb/1", state="active", resource_class="application", vpc_id="vpc-1",
          created=T - 10 * DAY, details={"registered_targets": 0, "healthy_targets": 0}),
        r("rds_instance", "db-1", state="stopped", resource_class="db.t3.micro", size_bytes=20 * GIB,
          details={"engine": "postgres", "multi_az": False, "storage_type": "gp3"}),
        r("s3_bucket", "acme-logs", account_id=ACCOUNT_B, created=T - 500 * DAY,
          details={"public_access_blocked": True}),
        r("lambda_function", "fn-1", account_id=ACCOUNT_B, state="Active", resource_class="python3.12",
          size_bytes=1234, created=T - 5 * DAY, details={"memory_mb": 256, "arn": "arn:fn-1"}),
    ]


def snapshot():
    """Two sweeps: the second loses a VPC listing's resource (a tombstone) and fails one task."""
    inventory = Inventory(prune_window=DAY)
    resources = estate()
    by_task: dict[TaskKey, list[Resource]] = {}
    for resource in resources:
        collector = {"ebs_volume": "ebs_volumes", "ebs_snapshot": "ebs_snapshots", "vpc": "vpcs",
                     "subnet": "subnets", "security_group": "security_groups", "elastic_ip": "elastic_ips",
                     "ec2_instance": "ec2_instances", "nat_gateway": "nat_gateways",
                     "load_balancer": "load_balancers", "rds_instance": "rds_instances",
                     "s3_bucket": "s3_buckets", "lambda_function": "lambda_functions"}[resource.resource_type]
        region = "global" if collector == "s3_buckets" else resource.region
        by_task.setdefault(TaskKey(resource.account_id, region, collector), []).append(resource)
    extra = Resource(ACCOUNT_A, "us-east-1", "vpc", "vpc-gone", name="old")
    first = [TaskResult(task, tuple(found) + ((extra,) if task.collector == "vpcs" else ()), 0.5)
             for task, found in sorted(by_task.items(), key=lambda kv: str(kv[0]))]
    inventory.apply(first, T - 300, 2.0, {ACCOUNT_A: True, ACCOUNT_B: True})
    second = [TaskResult(task, tuple(found), 0.25)
              for task, found in sorted(by_task.items(), key=lambda kv: str(kv[0]))]
    second.append(TaskResult(TaskKey(ACCOUNT_B, "us-east-1", "ec2_instances"), None, 1.5, error="Throttling"))
    return inventory.apply(second, T, 2.5, {ACCOUNT_A: True, ACCOUNT_B: True})


def cost_state(state_dir: Path) -> None:
    days = {}
    for n in range(40):
        day = (NOW.date() - dt.timedelta(days=40 - n)).isoformat()
        days[day] = {"fetched": NOW.date().isoformat(),
                     "costs": {ACCOUNT_A: {EC2: 100.0 + n}, ACCOUNT_B: {"Amazon Simple Storage Service": 2.5}}}
    (state_dir / f"cost-explorer-{ACCOUNT_A}-UnblendedCost.json").write_text(json.dumps(
        {"version": 1, "account": ACCOUNT_A, "metric": "UnblendedCost", "horizon": None,
         "forecast": None, "days": days}))


def price_cache(state_dir: Path) -> None:
    """Two prices from the Price List API: gp3 storage (so a gp3 volume is priced by both
    sources, its IOPS and throughput from the table) and RDS gp3 storage."""
    entries = [{"key": ["us-east-1", "ebs_volume_gb_month", "gp3"], "usd": 0.08, "fetched": T - 2 * DAY},
               {"key": ["us-east-1", "rds_storage_gb_month", "gp3"], "usd": 0.115, "fetched": T - 3 * DAY}]
    (state_dir / PRICE_CACHE).write_text(json.dumps({"version": 1, "entries": entries}))


def golden_exporter(tmp_path: Path) -> Exporter:
    state = tmp_path / "state"
    state.mkdir()
    cost_state(state)
    price_cache(state)
    config = make_config(accounts=(ACCOUNT_A, ACCOUNT_B), collectors=["vpcs", "ec2_instances"],
                         tags={"labels": ["team"], "required": ["team", "service"]},
                         budget={"golden_date": "2025-06-21"}, state_dir=str(state))
    stats = ApiStats()
    stats.calls.update({(ACCOUNT_A, "ec2", "DescribeInstances"): 3, ("base", "sts", "AssumeRole"): 2})
    stats.errors.update({(ACCOUNT_B, "ec2", "DescribeInstances", "Throttling"): 1})
    access = AwsAccess(config.aws, home_region="us-east-1", stats=stats)
    price_list = PriceListSource(config, access, PriceTable.load(), now=lambda: T)
    prices = price_list.table
    costs = CostSource(config, access, now=lambda: NOW)
    sources: list[Source] = [costs, GoldenBaselineSource(config, [("cost_explorer", costs.golden_day_costs)]),
                             ResourceCostSource(config, prices), ActionSource(config, prices), price_list]
    assert [type(s) for s in sources] == [type(s) for s in assemble(config, access, prices)], \
        "a source was added to the exporter: render it here too"
    exporter = Exporter(config, access, sources)
    exporter.reload_success_time = T - 3600  # the config was loaded at start, an hour before
    exporter.snapshot = snapshot()
    exporter.publish()
    return exporter


def masked(text: str) -> str:
    """The only machine-dependent value: the Python version in polo_exporter_build_info."""
    return text.replace(f'python_version="{platform.python_version()}"', 'python_version="X.Y.Z"')


def test_whole_output_matches_the_fixture(tmp_path):
    output = masked(golden_exporter(tmp_path).payload.plain.decode())
    if os.environ.get("POLO_UPDATE_GOLDEN"):
        FIXTURE.parent.mkdir(exist_ok=True)
        FIXTURE.write_text(output)
    assert output == FIXTURE.read_text(), \
        "the exposition changed: if intended, POLO_UPDATE_GOLDEN=1 python -m pytest tests/unit/test_golden.py"


def test_family_names_are_unique(tmp_path):
    exporter = golden_exporter(tmp_path)
    names = [family.name for family in exporter._families(exporter.snapshot)]
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)
    typed = re.findall(r"^# TYPE (\S+) ", exporter.payload.plain.decode(), re.MULTILINE)
    assert len(typed) == len(set(typed))
