"""The AWS Price List Query API, pure part: which GetProducts query answers a price key, and
how to read the price out of the products it returns.

A price key is what polo.prices.pricing asks for: (region, kind, *classes). Each kind maps to one
query: a service code plus TERM_MATCH filters (region code, product family, instance type and
the like; Linux, shared tenancy and no pre-installed software for EC2 compute) and a pattern
the product's usage type must contain. Usage types carry a region prefix (USE1-, EU-, APS2-, ...)
that is not worth mapping, so that last test is made here rather than as a filter.

Only on-demand terms count. A tiered price (DynamoDB's free tier, then the paid rate) is read
at its highest tier, the steady-state rate; io2 IOPS keep AWS's three tiers. Several matching
products with different prices are ambiguous and give no price rather than a guess.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from polo.prices.pricing import PriceKey

EC2_LINUX_ON_DEMAND = {"operatingSystem": "Linux", "tenancy": "Shared", "preInstalledSw": "NA",
                       "capacitystatus": "Used", "licenseModel": "No License required"}
RDS_ENGINES = {"mysql": "MySQL", "postgres": "PostgreSQL", "mariadb": "MariaDB"}
RDS_STORAGE_USAGE = {"gp2": "RDS:GP2-Storage", "gp3": "RDS:GP3-Storage", "io1": "RDS:PIOPS-Storage",
                     "io2": "RDS:PIOPS-Storage-IO2", "standard": "RDS:StorageUsage"}
CACHE_ENGINES = {"redis": "Redis", "memcached": "Memcached", "valkey": "Valkey"}
OPENSEARCH_STORAGE = {"gp2": "GP2", "gp3": "GP3", "io1": "PIOPS-Storage", "standard": "Magnetic"}
ELB_FAMILIES = {"application": "Load Balancer-Application", "network": "Load Balancer-Network",
                "gateway": "Load Balancer-Gateway"}
# Units AWS lists a price in, and the factor to the unit polo.prices.pricing uses.
UNIT_FACTORS = {"GiBps-mo": 1 / 1024}  # gp3 throughput: polo prices per MiB/s-month
IO2_TIER_CEILINGS = (32000, 64000, None)  # IOPS per volume where each io2 tier ends


@dataclass(frozen=True)
class Query:
    """One GetProducts query, and which of its products hold the price."""

    service_code: str
    filters: tuple[tuple[str, str], ...]  # TERM_MATCH (field, value), regionCode included
    usage_type: str  # regex searched in the product's usagetype
    tiers: tuple[tuple[str, int | None], ...] = ()  # io2: (usage type regex, tier ceiling)

    def request(self) -> dict[str, Any]:
        """GetProducts parameters, NextToken and MaxResults aside."""
        return {"ServiceCode": self.service_code, "FormatVersion": "aws_v1",
                "Filters": [{"Type": "TERM_MATCH", "Field": f, "Value": v} for f, v in self.filters]}


def query_for(key: PriceKey) -> Query | None:
    """The query answering `key`, or None for a kind or class the Price List cannot price."""
    region, kind, *classes = key

    def q(service: str, usage_type: str, **filters: str) -> Query:
        return Query(service, (("regionCode", region), *sorted(filters.items())), usage_type)

    match kind, classes:
        case "ec2_instance_hourly", [instance_type]:
            return q("AmazonEC2", "BoxUsage", productFamily="Compute Instance",
                     instanceType=instance_type, **EC2_LINUX_ON_DEMAND)
        case "ebs_volume_gb_month", [volume_type]:
            return q("AmazonEC2", r"EBS:VolumeUsage", productFamily="Storage", volumeApiName=volume_type)
        case "ebs_gp3_iops_month", []:
            return q("AmazonEC2", r"EBS:VolumeP-IOPS\.gp3$", productFamily="System Operation",
                     volumeApiName="gp3")
        case "ebs_gp3_throughput_mibps_month", []:
            return q("AmazonEC2", r"EBS:VolumeP-Throughput\.gp3$", productFamily="Provisioned Throughput",
                     volumeApiName="gp3")
        case "ebs_io1_iops_month", []:
            return q("AmazonEC2", r"EBS:VolumeP-IOPS\.piops$", productFamily="System Operation",
                     volumeApiName="io1")
        case "ebs_io2_iops_month_tiers", []:
            base = q("AmazonEC2", "", productFamily="System Operation", volumeApiName="io2")
            patterns = (r"EBS:VolumeP-IOPS\.io2$", r"EBS:VolumeP-IOPS\.io2\.tier2$", r"EBS:VolumeP-IOPS\.io2\.tier3$")
            return Query(base.service_code, base.filters, r"EBS:VolumeP-IOPS\.io2",
                         tuple(zip(patterns, IO2_TIER_CEILINGS)))
        case "ebs_snapshot_gb_month", []:
            return q("AmazonEC2", r"EBS:SnapshotUsage$", productFamily="Storage Snapshot")
        case "public_ipv4_hourly", []:
            return q("AmazonVPC", r"PublicIPv4:InUseAddress$")
        case "nat_gateway_hourly", []:
            return q("AmazonEC2", r"NatGateway-Hours$", productFamily="NAT Gateway")
        case "load_balancer_hourly", [lb_type] if lb_type in ELB_FAMILIES:
            return q("AWSELB", r"LoadBalancerUsage$", productFamily=ELB_FAMILIES[lb_type])
        case "rds_instance_hourly", [engine, instance_class] if engine in RDS_ENGINES:
            return q("AmazonRDS", "InstanceUsage", productFamily="Database Instance",
                     instanceType=instance_class, databaseEngine=RDS_ENGINES[engine],
                     deploymentOption="Single-AZ")
        case "rds_storage_gb_month", [storage_type] if storage_type in RDS_STORAGE_USAGE:
            return q("AmazonRDS", "(^|-)" + re.escape(RDS_STORAGE_USAGE[storage_type]) + "$",
                     productFamily="Database Storage", deploymentOption="Single-AZ")
        case "eks_cluster_hourly", []:
            return q("AmazonEKS", r"AmazonEKS-Hours:perCluster$")
        case "elasticache_node_hourly", [engine, node_type] if engine in CACHE_ENGINES:
            return q("AmazonElastiCache", "NodeUsage", productFamily="Cache Instance",
                     instanceType=node_type, cacheEngine=CACHE_ENGINES[engine])
        case "opensearch_instance_hourly", [instance_type]:
            return q("AmazonES", "ESInstance", productFamily="Amazon OpenSearch Service Instance",
                     instanceType=instance_type)
        case "opensearch_storage_gb_month", [volume_type] if volume_type in OPENSEARCH_STORAGE:
            return q("AmazonES", r"ES.*-Storage", productFamily="Amazon OpenSearch Service Volume",
                     storageMedia=OPENSEARCH_STORAGE[volume_type])
        case "sagemaker_hosting_hourly", [instance_type]:
            return q("AmazonSageMaker", "Host:" + re.escape(instance_type) + "$", productFamily="ML Instance",
                     instanceType=instance_type, component="Hosting")
        case "sagemaker_notebook_hourly", [instance_type]:
            return q("AmazonSageMaker", "Notebk:" + re.escape(instance_type) + "$", productFamily="ML Instance",
                     instanceType=instance_type, component="Notebook")
        case "sagemaker_storage_gb_month", []:
            return q("AmazonSageMaker", r"Notebk:VolumeUsage", productFamily="ML Storage")
        case ("dynamodb_read_capacity_unit_hourly" | "dynamodb_write_capacity_unit_hourly"), [table_class]:
            access = "Read" if "read" in kind else "Write"
            prefix = r"IA-" if table_class == "STANDARD_INFREQUENT_ACCESS" else r"(?<!IA-)"
            return q("AmazonDynamoDB", prefix + access + r"CapacityUnit-Hrs$", productFamily="Provisioned IOPS",
                     group=f"DDB-{access}Units")
        case "dynamodb_storage_gb_month", [table_class]:
            prefix = r"IA-" if table_class == "STANDARD_INFREQUENT_ACCESS" else r"(?<!IA-)"
            return q("AmazonDynamoDB", prefix + r"TimedStorage-ByteHrs$", productFamily="Database Storage")
        case "ecr_storage_gb_month", []:
            return q("AmazonECR", r"TimedStorage-ByteHrs$", productFamily="EC2 Container Registry")
        case "logs_storage_gb_month", []:
            return q("AmazonCloudWatch", r"TimedStorage-ByteHrs$", productFamily="Storage Snapshot")
    return None


def parse_items(price_list: Iterable[Any]) -> list[Mapping[str, Any]]:
    """GetProducts' PriceList: each item a JSON document in a string."""
    return [json.loads(item) if isinstance(item, str) else item for item in price_list]


def on_demand_rate(product: Mapping[str, Any]) -> float | None:
    """USD per unit at the highest tier of the product's on-demand term, in polo's unit; None
    when the product has no on-demand term or no USD price."""
    best: tuple[float, float] | None = None  # (beginRange, rate)
    for term in (product.get("terms", {}).get("OnDemand") or {}).values():
        for dimension in (term.get("priceDimensions") or {}).values():
            try:
                rate = float(dimension["pricePerUnit"]["USD"]) * UNIT_FACTORS.get(dimension.get("unit", ""), 1.0)
                begin = float(dimension.get("beginRange", 0) or 0)
            except (KeyError, TypeError, ValueError):
                continue
            if math.isfinite(rate) and rate >= 0 and (best is None or begin > best[0]):
                best = (begin, rate)
    return None if best is None else best[1]


def usage_type(product: Mapping[str, Any]) -> str:
    return str(product.get("product", {}).get("attributes", {}).get("usagetype", ""))


def _single_rate(products: Iterable[Mapping[str, Any]], pattern: str) -> float | None:
    rates = {rate for p in products if re.search(pattern, usage_type(p))
             if (rate := on_demand_rate(p)) is not None}
    return rates.pop() if len(rates) == 1 else None


def price_from(query: Query, products: Iterable[Mapping[str, Any]]) -> float | list | None:
    """The price `query` asked for, from every product its pages returned."""
    products = list(products)
    if not query.tiers:
        return _single_rate(products, query.usage_type)
    tiers = []
    for pattern, ceiling in query.tiers:
        rate = _single_rate(products, pattern)
        if rate is None:
            return None
        tiers.append([ceiling, rate])
    return tiers
