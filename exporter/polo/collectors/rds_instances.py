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

from polo.collectors.base import GIB, CollectContext, paginate
from polo.model import Resource, tag_dict, timestamp

NAME = "rds_instances"
SCOPE = "regional"


def collect(ctx: CollectContext):
    rds = ctx.regional_client("rds")
    for db in paginate(rds, "describe_db_instances", "DBInstances"):
        tags = tag_dict(db.get("TagList"))
        vpc_id = (db.get("DBSubnetGroup") or {}).get("VpcId") or ""
        storage = db.get("AllocatedStorage")
        yield Resource(
            account_id=ctx.account_id,
            region=ctx.region,
            resource_type="rds_instance",
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
