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

from polo.collectors.base import CollectContext, map_tags, paginate
from polo.model import Resource

NAME = "cloudwatch_log_groups"
SCOPE = "regional"


def collect(ctx: CollectContext):
    logs = ctx.regional_client("logs")
    for group in paginate(logs, "describe_log_groups", "logGroups"):
        name = group["logGroupName"]
        arn = group.get("logGroupArn") or (group.get("arn") or "").removesuffix(":*")
        created = group.get("creationTime")
        yield Resource(
            account_id=ctx.account_id,
            region=ctx.region,
            resource_type="cloudwatch_log_group",
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
