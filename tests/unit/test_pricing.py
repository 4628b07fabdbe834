"""Per-resource list-price estimates: the shipped table, hand-checked figures, visible gaps."""
import logging

import pytest

from support.common import ACCOUNT_A, make_config
from polo.collectors.base import GIB
from polo.render.labels import IDENTITY
from polo.model import Resource, Snapshot
from polo.prices.pricing import PRICED_TYPES, PriceTable
from polo.prices.resource_costs import ResourceCostSource

PRICES = PriceTable.load()


def res(resource_type, resource_id="r-1", region="us-east-1", **fields):
    return Resource(account_id=ACCOUNT_A, region=region, resource_type=resource_type,
                    resource_id=resource_id, **fields)


def volume(volume_type, size_gib, iops=None, throughput=None, **fields):
    return res("ebs_volume", resource_class=volume_type, size_bytes=size_gib * GIB,
               details={"iops": iops, "throughput": throughput}, **fields)


def db(db_class, engine, size_gib, multi_az=False, state="available", storage="gp3"):
    return res("rds_instance", resource_class=db_class, state=state, size_bytes=size_gib * GIB,
               details={"engine": engine, "multi_az": multi_az, "storage_type": storage})


def test_table_names_its_source_and_date_and_covers_the_common_types():
    assert "aws.amazon.com" in PRICES.source and "Linux" in PRICES.source
    assert PRICES.as_of and PRICES.hours_per_month == 730
    for region in ("us-east-1", "us-west-2"):
        for family in ("t2", "t3", "t3a", "m5", "m6i", "m7g", "c5", "c6i", "r5", "r6i"):
            sizes = (("micro", "small", "medium", "large", "xlarge", "2xlarge")  # t* stop at 2xlarge
                     if family.startswith("t") else ("large", "xlarge", "2xlarge", "4xlarge", "12xlarge"))
            for size in sizes:
                assert PRICES.monthly_cost(res("ec2_instance", region=region, state="running",
                                               resource_class=f"{family}.{size}")), (family, size)
        for db_class in ("db.t3.micro", "db.t3.medium", "db.t4g.small", "db.m5.large",
                         "db.m5.2xlarge", "db.r5.large", "db.r5.4xlarge"):
            for engine in ("mysql", "postgres", "mariadb"):
                assert PRICES.monthly_cost(db(db_class, engine, 20)), (db_class, engine)
        for volume_type in ("gp2", "gp3", "io1", "io2", "st1", "sc1", "standard"):
            assert PRICES.monthly_cost(volume(volume_type, 100, iops=1000)), volume_type


def test_demo_estate_types_are_priced():
    for instance_type in ("m5.large", "c5.xlarge", "t3.medium", "t3.small"):
        assert PRICES.monthly_cost(res("ec2_instance", state="running", resource_class=instance_type))
    for db_class, engine in (("db.m5.large", "postgres"), ("db.r5.large", "mysql"),
                             ("db.t3.micro", "postgres")):
        assert PRICES.monthly_cost(db(db_class, engine, 20))


@pytest.mark.parametrize("resource, expected", [
    # t3.micro running: 0.0104 $/h x 730 h = $7.592
    (res("ec2_instance", state="running", resource_class="t3.micro"), 7.592),
    # m5.large in us-west-2 (same list price as us-east-1): 0.096 x 730 = $70.08
    (res("ec2_instance", region="us-west-2", state="running", resource_class="m5.large"), 70.08),
    # stopped: no compute charge, whatever the type (its volumes are priced on their own)
    (res("ec2_instance", state="stopped", resource_class="m5.large"), 0.0),
    (res("ec2_instance", state="stopped", resource_class="x9.unknown"), 0.0),
    # 100 GiB gp2: 100 x 0.10 = $10.00
    (volume("gp2", 100, iops=300), 10.0),
    # 100 GiB gp3 at the included 3,000 IOPS / 125 MiB/s: 100 x 0.08 = $8.00
    (volume("gp3", 100, iops=3000, throughput=125), 8.0),
    # ... and with 6,000 IOPS / 250 MiB/s: 8.00 + 3,000 x 0.005 + 125 x 0.04 = 8 + 15 + 5 = $28.00
    (volume("gp3", 100, iops=6000, throughput=250), 28.0),
    # 100 GiB io1 with 1,000 IOPS: 100 x 0.125 + 1,000 x 0.065 = 12.50 + 65 = $77.50
    (volume("io1", 100, iops=1000), 77.5),
    # 100 GiB io2 with 40,000 IOPS: 12.50 + 32,000 x 0.065 + 8,000 x 0.0455 = 12.5 + 2,080 + 364
    (volume("io2", 100, iops=40000), 2456.5),
    # 500 GiB st1: 500 x 0.045 = $22.50; sc1: 500 x 0.015 = $7.50; magnetic 100 x 0.05 = $5.00
    (volume("st1", 500), 22.5),
    (volume("sc1", 500), 7.5),
    (volume("standard", 100), 5.0),
    # 100 GiB snapshot, standard tier: 100 x 0.05 = $5.00
    (res("ebs_snapshot", size_bytes=100 * GIB), 5.0),
    # public IPv4: 0.005 x 730 = $3.65, idle or not
    (res("elastic_ip", state="unassociated"), 3.65),
    (res("elastic_ip", state="associated"), 3.65),
    # NAT gateway: 0.045 x 730 = $32.85 (data processing excluded); nothing once failed
    (res("nat_gateway", state="available"), 32.85),
    (res("nat_gateway", state="failed"), 0.0),
    # ALB and NLB 0.0225 x 730 = $16.425, Gateway LB 0.0125 x 730 = $9.125 (LCUs excluded)
    (res("load_balancer", resource_class="application"), 16.425),
    (res("load_balancer", resource_class="network"), 16.425),
    (res("load_balancer", resource_class="gateway"), 9.125),
    # db.m5.large PostgreSQL Multi-AZ with 200 GiB gp3:
    # 0.178 x 730 x 2 = 259.88 compute + 200 x 0.115 x 2 = 46.00 storage = $305.88
    (db("db.m5.large", "postgres", 200, multi_az=True), 305.88),
    # db.r5.large MySQL single-AZ with 500 GiB gp3: 0.24 x 730 = 175.20 + 500 x 0.115 = 57.50
    (db("db.r5.large", "mysql", 500), 232.7),
    # MariaDB is priced as MySQL: db.t3.micro 0.017 x 730 = 12.41 + 20 x 0.115 = 2.30
    (db("db.t3.micro", "mariadb", 20), 14.71),
    # stopped: storage only, 20 x 0.115 = $2.30
    (db("db.t3.micro", "postgres", 20, state="stopped"), 2.3),
])
def test_monthly_cost_matches_hand_arithmetic(resource, expected):
    assert PRICES.monthly_cost(resource) == pytest.approx(expected)


@pytest.mark.parametrize("resource", [
    res("ec2_instance", state="running", resource_class="x9.mega"),  # unknown type
    res("ec2_instance", region="ap-south-2", state="running", resource_class="t3.micro"),  # no region
    volume("gp9", 100),
    res("ebs_snapshot"),  # size unknown
    db("db.r5.large", "aurora-postgresql", 100),  # engine without a price
    db("db.r5.large", "postgres", 100, storage="aurora"),
    res("s3_bucket"),  # usage-billed: never priced
])
def test_unknown_price_is_none_not_zero(resource):
    assert PRICES.monthly_cost(resource) is None


def test_gp3_equivalent_matches_gp2_performance():
    # 100 GiB: 300 IOPS baseline (bursts to 3,000 are included in gp3) -> 100 x 0.08 = $8.00
    assert PRICES.gp3_equivalent("us-east-1", 100, None) == pytest.approx(8.0)
    # 500 GiB: 1,500 IOPS (included) but gp2 gives 250 MiB/s above 170 GiB:
    # 500 x 0.08 + (250 - 125) x 0.04 = 40 + 5 = $45.00
    assert PRICES.gp3_equivalent("us-east-1", 500, 1500) == pytest.approx(45.0)
    # 2,000 GiB: 6,000 IOPS baseline: 160 + 3,000 x 0.005 + 5 = $180.00
    assert PRICES.gp3_equivalent("us-east-1", 2000, 6000) == pytest.approx(180.0)


def snapshot_of(*resources):
    return Snapshot(taken_at=1_750_000_000.0, resources=tuple(resources), tombstones=(), tasks={},
                    sweep_duration=1.0, sweep_ok=True, last_success=1_750_000_000.0)


def samples(families):
    return {f.name: f.samples for f in families}


def test_cost_source_exports_estimates_and_counts_gaps_once_logged(caplog):
    config = make_config()
    source = ResourceCostSource(config, PRICES)
    known = volume("gp2", 100, resource_id="vol-1")
    unknown = [res("ec2_instance", resource_id=f"i-{n}", state="running", resource_class="x9.mega")
               for n in range(2)]
    snapshot = snapshot_of(known, *unknown, res("s3_bucket", resource_id="logs"))
    with caplog.at_level(logging.WARNING, logger="polo.prices.resource_costs"):
        first = samples(source.families(snapshot))
        second = samples(source.families(snapshot))
    assert first == second
    (labels, value), = first["polo_resource_monthly_cost_usd"]  # the bucket and unknowns get none
    assert [part.split("=")[0] for part in labels.split(",")] == list(IDENTITY)
    assert 'resource_id="vol-1"' in labels and 'account="acct0"' in labels
    assert value == pytest.approx(10.0)
    assert first["polo_resource_price_missing"] == [
        ('resource_type="ec2_instance",region="us-east-1",resource_class="x9.mega"', 2)]
    gaps = [r for r in caplog.records if "x9.mega" in r.getMessage()]
    assert len(gaps) == 1  # once per (type, region, class), not per sweep


def test_every_priced_type_has_a_pricer():
    assert set(PRICED_TYPES) == {"ec2_instance", "ebs_volume", "ebs_snapshot", "elastic_ip",
                                 "nat_gateway", "load_balancer", "rds_instance", "eks_cluster",
                                 "elasticache_cluster", "opensearch_domain", "sagemaker_endpoint",
                                 "sagemaker_notebook", "dynamodb_table", "ecr_repository",
                                 "cloudwatch_log_group"}
