"""DynamoDB tables (ListTables, all pages; DescribeTable and ListTagsOfResource each).

Yields, e.g.:
    Resource(account_id='651774330118', region='us-east-1', resource_type='dynamodb_table',
             resource_id='sessions', name='sessions', state='ACTIVE', parent_id='651774330118',
             created=1719000000.0, resource_class='PROVISIONED', size_bytes=52428800,
             details={'item_count': 120000, 'read_capacity_units': 50, 'write_capacity_units': 10,
                      'table_class': 'STANDARD',
                      'arn': 'arn:aws:dynamodb:us-east-1:651774330118:table/sessions'})
`resource_class` is the billing mode, PROVISIONED or PAY_PER_REQUEST (on-demand); the capacity
units are None on on-demand tables. `size_bytes` and `item_count` are AWS's figures, refreshed
by AWS about every six hours; global secondary indexes' capacity is not included.
"""
from __future__ import annotations

from polo.collectors.base import CollectContext, paginate
from polo.model import Resource, tag_dict, timestamp

NAME = "dynamodb_tables"
SCOPE = "regional"


def collect(ctx: CollectContext):
    dynamodb = ctx.regional_client("dynamodb")
    for name in paginate(dynamodb, "list_tables", "TableNames"):
        table = dynamodb.describe_table(TableName=name)["Table"]
        arn = table.get("TableArn", "")
        tags = tag_dict(list(paginate(dynamodb, "list_tags_of_resource", "Tags", ResourceArn=arn)) if arn else None)
        mode = (table.get("BillingModeSummary") or {}).get("BillingMode") or "PROVISIONED"
        throughput = (table.get("ProvisionedThroughput") or {}) if mode == "PROVISIONED" else {}
        yield Resource(
            account_id=ctx.account_id,
            region=ctx.region,
            resource_type="dynamodb_table",
            resource_id=name,
            name=name,
            state=table.get("TableStatus", ""),
            parent_id=ctx.account_id,
            created=timestamp(table.get("CreationDateTime")),
            resource_class=mode,
            size_bytes=table.get("TableSizeBytes"),
            tags=tags,
            details={"item_count": table.get("ItemCount"),
                     "read_capacity_units": throughput.get("ReadCapacityUnits"),
                     "write_capacity_units": throughput.get("WriteCapacityUnits"),
                     "table_class": (table.get("TableClassSummary") or {}).get("TableClass") or "STANDARD",
                     "arn": arn},
        )
