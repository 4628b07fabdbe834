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

from typing import Sequence

from polo.collectors.base import (
    CONSOLE, GIB, CollectContext, Console, Gauge, PriceQuery, Prices, ResourceType, detail, paginate,
)
from polo.model import Resource, tag_dict, timestamp


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
            resource_type=TYPE.name,
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


def price(prices: Prices, r: Resource) -> float | None:
    """Storage for the table class, plus provisioned read and write capacity by the hour.
    On-demand requests bill per use and are excluded; so is the account's free tier."""
    table_class = str(r.details.get("table_class") or "STANDARD")
    per_gb = prices.lookup(r.region, "dynamodb_storage_gb_month", table_class)
    cost = None if per_gb is None else per_gb * (r.size_bytes or 0) / GIB
    if r.resource_class != "PROVISIONED":
        return cost
    for kind, units in (("dynamodb_read_capacity_unit_hourly", r.details.get("read_capacity_units")),
                        ("dynamodb_write_capacity_unit_hourly", r.details.get("write_capacity_units"))):
        unit_hourly = prices.lookup(r.region, kind, table_class)
        if cost is None or unit_hourly is None:
            cost = None
            continue
        cost += unit_hourly * float(units or 0) * prices.hours_per_month
    return cost


def price_queries(region: str, kind: str, classes: Sequence[str]) -> PriceQuery | None:
    """Provisioned capacity and storage, for the Standard or the Standard-IA table class."""
    match kind, classes:
        case ("dynamodb_read_capacity_unit_hourly" | "dynamodb_write_capacity_unit_hourly"), [table_class]:
            access = "Read" if "read" in kind else "Write"
            return PriceQuery.of("AmazonDynamoDB", class_prefix(table_class) + access + r"CapacityUnit-Hrs$", region,
                                 productFamily="Provisioned IOPS", group=f"DDB-{access}Units")
        case "dynamodb_storage_gb_month", [table_class]:
            return PriceQuery.of("AmazonDynamoDB", class_prefix(table_class) + r"TimedStorage-ByteHrs$", region,
                                 productFamily="Database Storage")
    return None


def class_prefix(table_class: str) -> str:
    """Standard-IA usage types start IA-; Standard ones must not."""
    return r"IA-" if table_class == "STANDARD_INFREQUENT_ACCESS" else r"(?<!IA-)"


TYPE = ResourceType(
    name="dynamodb_table", collector="dynamodb_tables", collect=collect,
    price=price, price_queries=price_queries,
    gauges=(
        Gauge("polo_dynamodb_table_items",
              "Items in a DynamoDB table (AWS refreshes the figure about every six hours).", detail("item_count")),
        Gauge("polo_dynamodb_table_read_capacity_units",
              "Provisioned read capacity units of a DynamoDB table (absent when on-demand).",
              detail("read_capacity_units")),
        Gauge("polo_dynamodb_table_write_capacity_units",
              "Provisioned write capacity units of a DynamoDB table (absent when on-demand).",
              detail("write_capacity_units")),
    ),
    console=Console(CONSOLE + "dynamodbv2/home?region={r}#table?name={1}"),
    chain=3,
)
