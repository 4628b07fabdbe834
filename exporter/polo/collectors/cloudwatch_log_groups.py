"""CloudWatch Logs log groups (DescribeLogGroups, all pages; ListTagsForResource each).

Yields, e.g.:
    Resource(account_id='651774330118', region='us-east-1', resource_type='cloudwatch_log_group',
             resource_id='/aws/lambda/thumbnailer', name='/aws/lambda/thumbnailer',
             state='active', parent_id='651774330118', created=1719000000.0,
             resource_class='STANDARD', size_bytes=2147483648,
             details={'retention_days': None,
                      'arn': 'arn:aws:logs:us-east-1:651774330118:log-group:/aws/lambda/thumbnailer'})
`size_bytes` is storedBytes (archived data AWS bills per GB-month); `retention_days` is None
when the group never expires its events. `resource_class` is the log group class
(STANDARD or INFREQUENT_ACCESS).
"""
from __future__ import annotations

from typing import Sequence

from polo.collectors.base import (
    CONSOLE, DAY, CollectContext, Console, Gauge, PriceQuery, Prices, ResourceType, detail, map_tags, paginate,
)
from polo.model import Resource


def collect(ctx: CollectContext):
    logs = ctx.regional_client("logs")
    for group in paginate(logs, "describe_log_groups", "logGroups"):
        name = group["logGroupName"]
        arn = group.get("logGroupArn") or (group.get("arn") or "").removesuffix(":*")
        created = group.get("creationTime")
        yield Resource(
            account_id=ctx.account_id,
            region=ctx.region,
            resource_type=TYPE.name,
            resource_id=name,
            name=name,
            state="active",
            parent_id=ctx.account_id,
            created=created / 1000 if created is not None else None,
            resource_class=group.get("logGroupClass") or "STANDARD",
            size_bytes=group.get("storedBytes"),
            tags=map_tags(logs.list_tags_for_resource(resourceArn=arn).get("tags") if arn else None),
            details={"retention_days": group.get("retentionInDays"), "arn": arn},
        )


def price(prices: Prices, r: Resource) -> float | None:
    """Archived log storage per GB-month; ingestion bills per use and is excluded."""
    return prices.storage(r, "logs_storage_gb_month")


def price_queries(region: str, kind: str, classes: Sequence[str]) -> PriceQuery | None:
    if (kind, classes) == ("logs_storage_gb_month", []):
        return PriceQuery.of("AmazonCloudWatch", r"TimedStorage-ByteHrs$", region, productFamily="Storage Snapshot")
    return None


TYPE = ResourceType(
    name="cloudwatch_log_group", collector="cloudwatch_log_groups", collect=collect,
    price=price, price_queries=price_queries,
    gauges=(Gauge("polo_cloudwatch_log_group_retention_seconds",
                  "How long a log group keeps its events (absent when they never expire).",
                  detail("retention_days", DAY)),),
    console=Console(CONSOLE + "cloudwatch/home?region={r}#logsV2:log-groups/log-group/{1}"),
    chain=2,
)
