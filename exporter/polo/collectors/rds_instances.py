"""RDS DB instances (DescribeDBInstances, all pages; tags come in the reply's TagList).

Yields, e.g.:
    Resource(account_id='651774330118', region='us-east-1', resource_type='rds_instance',
             resource_id='orders-db', name='orders-db', state='stopped', parent_id='vpc-1',
             vpc_id='vpc-1', created=1719000000.0, resource_class='db.m5.large',
             size_bytes=107374182400,
             details={'engine': 'postgres', 'multi_az': False, 'storage_type': 'gp3',
                      'arn': 'arn:aws:rds:us-east-1:651774330118:db:orders-db'})
`created` is None while an instance is still being created (no InstanceCreateTime yet).
"""
from __future__ import annotations

import re
from typing import Sequence

from polo.collectors.base import (
    CONSOLE, GIB, CollectContext, Console, Diagram, PriceQuery, Prices, ResourceType, paginate,
)
from polo.model import Resource, tag_dict, timestamp


def collect(ctx: CollectContext):
    rds = ctx.regional_client("rds")
    for db in paginate(rds, "describe_db_instances", "DBInstances"):
        tags = tag_dict(db.get("TagList"))
        vpc_id = (db.get("DBSubnetGroup") or {}).get("VpcId") or ""
        storage = db.get("AllocatedStorage")
        yield Resource(
            account_id=ctx.account_id,
            region=ctx.region,
            resource_type=TYPE.name,
            resource_id=db["DBInstanceIdentifier"],
            name=db["DBInstanceIdentifier"],
            state=db.get("DBInstanceStatus", ""),
            parent_id=vpc_id,
            vpc_id=vpc_id,
            created=timestamp(db.get("InstanceCreateTime")),
            resource_class=db.get("DBInstanceClass", ""),
            size_bytes=storage * GIB if storage is not None else None,
            tags=tags,
            details={
                "engine": db.get("Engine", ""),
                "multi_az": bool(db.get("MultiAZ", False)),
                "storage_type": db.get("StorageType", ""),
                "arn": db.get("DBInstanceArn", ""),
            },
        )


def price(prices: Prices, r: Resource) -> float | None:
    """Instance hours (not while stopped) plus allocated storage; Multi-AZ doubles both.
    Provisioned IOPS and backup storage beyond the free allowance are excluded."""
    storage = storage_cost(prices, r)
    if r.state == "stopped":
        return storage
    engine = str(r.details.get("engine", ""))
    hourly = prices.lookup(r.region, "rds_instance_hourly", prices.rds_engine_aliases.get(engine, engine),
                           r.resource_class)
    if hourly is None or storage is None:
        return None
    return hourly * prices.hours_per_month * az_factor(prices, r) + storage


def storage_cost(prices: Prices, r: Resource) -> float | None:
    """Allocated storage a month; billed whether the instance runs or is stopped."""
    per_gb = prices.lookup(r.region, "rds_storage_gb_month", str(r.details.get("storage_type", "")))
    if per_gb is None or r.size_bytes is None:
        return None
    return per_gb * r.size_bytes / GIB * az_factor(prices, r)


def az_factor(prices: Prices, r: Resource) -> float:
    return prices.rds_multi_az_factor if r.details.get("multi_az") else 1.0


ENGINES = {"mysql": "MySQL", "postgres": "PostgreSQL", "mariadb": "MariaDB"}
STORAGE_USAGE = {"gp2": "RDS:GP2-Storage", "gp3": "RDS:GP3-Storage", "io1": "RDS:PIOPS-Storage",
                 "io2": "RDS:PIOPS-Storage-IO2", "standard": "RDS:StorageUsage"}


def price_queries(region: str, kind: str, classes: Sequence[str]) -> PriceQuery | None:
    match kind, classes:
        case "rds_instance_hourly", [engine, instance_class] if engine in ENGINES:
            return PriceQuery.of("AmazonRDS", "InstanceUsage", region, productFamily="Database Instance",
                                 instanceType=instance_class, databaseEngine=ENGINES[engine],
                                 deploymentOption="Single-AZ")
        case "rds_storage_gb_month", [storage_type] if storage_type in STORAGE_USAGE:
            return PriceQuery.of("AmazonRDS", "(^|-)" + re.escape(STORAGE_USAGE[storage_type]) + "$", region,
                                 productFamily="Database Storage", deploymentOption="Single-AZ")
    return None


TYPE = ResourceType(
    name="rds_instance", collector="rds_instances", collect=collect,
    price=price, price_queries=price_queries,
    console=Console(CONSOLE + "rds/home?region={r}#database:id={1};is-cluster=false"),
    diagram=Diagram("vpc", "#3274D9"),
)
