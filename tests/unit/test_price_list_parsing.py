"""Price List queries and parsing (pure): a query per price key, filtered by region; on-demand
rates, tiers, units and ambiguity."""
import pytest

from polo.collectors.base import PriceQuery
from polo.prices.price_list import on_demand_rate, price_from, query_for
from support.price_list import product


def test_every_kind_the_pricers_ask_for_has_a_query_filtered_by_region():
    kinds = {"ec2_instance_hourly": ("m5.large",), "ebs_volume_gb_month": ("gp3",), "ebs_gp3_iops_month": (),
             "ebs_gp3_throughput_mibps_month": (), "ebs_io1_iops_month": (), "ebs_io2_iops_month_tiers": (),
             "ebs_snapshot_gb_month": (), "public_ipv4_hourly": (), "nat_gateway_hourly": (),
             "load_balancer_hourly": ("application",), "rds_instance_hourly": ("postgres", "db.m5.large"),
             "rds_storage_gb_month": ("gp3",), "eks_cluster_hourly": (),
             "elasticache_node_hourly": ("redis", "cache.r6g.large"),
             "opensearch_instance_hourly": ("r6g.large.search",), "opensearch_storage_gb_month": ("gp3",),
             "sagemaker_hosting_hourly": ("ml.m5.large",), "sagemaker_notebook_hourly": ("ml.t3.medium",),
             "sagemaker_storage_gb_month": (), "dynamodb_read_capacity_unit_hourly": ("STANDARD",),
             "dynamodb_write_capacity_unit_hourly": ("STANDARD",), "dynamodb_storage_gb_month": ("STANDARD",),
             "ecr_storage_gb_month": (), "logs_storage_gb_month": ()}
    for kind, classes in kinds.items():
        query = query_for(("eu-west-1", kind, *classes))
        assert isinstance(query, PriceQuery), kind
        assert ("regionCode", "eu-west-1") in query.filters
        assert query.request()["Filters"][0] == {"Type": "TERM_MATCH", "Field": "regionCode", "Value": "eu-west-1"}
    ec2 = dict(query_for(("eu-west-1", "ec2_instance_hourly", "m5.large")).filters)
    assert ec2 | {"operatingSystem": "Linux", "tenancy": "Shared", "preInstalledSw": "NA"} == ec2
    assert query_for(("eu-west-1", "rds_instance_hourly", "oracle-ee", "db.m5.large")) is None
    assert query_for(("eu-west-1", "no_such_kind")) is None


def test_a_product_without_an_on_demand_term_has_no_rate():
    assert on_demand_rate(product("BoxUsage:m5.large")) is None
    assert on_demand_rate(product("BoxUsage:m5.large", 0.096)) == pytest.approx(0.096)
    query = query_for(("us-east-1", "ec2_instance_hourly", "m5.large"))
    # reserved-only listings are skipped, not read as $0 ...
    assert price_from(query, [product("BoxUsage:m5.large"), product("BoxUsage:m5.large", 0.096)]) == \
        pytest.approx(0.096)
    # ... and a key with nothing but them has no price
    assert price_from(query, [product("BoxUsage:m5.large")]) is None


def test_tiers_units_and_ambiguity():
    free_tier = product("EU-TimedStorage-ByteHrs", [(0, 0.0), (25, 0.283)], unit="GB-Mo")
    assert on_demand_rate(free_tier) == pytest.approx(0.283)  # the paid, steady-state rate
    throughput = product("EBS:VolumeP-Throughput.gp3", 40.96, unit="GiBps-mo")
    assert on_demand_rate(throughput) == pytest.approx(0.04)  # per MiB/s-month
    query = query_for(("us-east-1", "ec2_instance_hourly", "m5.large"))
    assert price_from(query, [product("BoxUsage:m5.large", 0.096), product("BoxUsage:m5.large", 0.2)]) is None
    io2 = query_for(("us-east-1", "ebs_io2_iops_month_tiers"))
    tiers = [product("EBS:VolumeP-IOPS.io2", 0.065), product("EBS:VolumeP-IOPS.io2.tier2", 0.0455),
             product("EBS:VolumeP-IOPS.io2.tier3", 0.032)]
    assert price_from(io2, tiers) == [[32000, 0.065], [64000, 0.0455], [None, 0.032]]
    assert price_from(io2, tiers[:2]) is None
