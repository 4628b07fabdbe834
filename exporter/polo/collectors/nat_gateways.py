"""NAT gateways (DescribeNatGateways, all pages) with their last 7 days of outbound bytes
(CloudWatch GetMetricData, one paged call per region for all its gateways: metric_sums).

Yields, e.g.:
    Resource(account_id='651774330118', region='us-east-1', resource_type='nat_gateway',
             resource_id='nat-1', name='egress-a', state='available', parent_id='subnet-1',
             vpc_id='vpc-1', subnet_id='subnet-1', created=1719000000.0,
             details={'allocation_ids': ('eipalloc-1',), 'bytes_out_7d': 123456.0})
Gateways in state 'deleted' are skipped. `bytes_out_7d` is the sum of AWS/NATGateway
BytesOutToDestination over the last 7 days (daily Sum); 0.0 when CloudWatch has no datapoints
(a new gateway counts as idle too), None for every gateway of the region when the CloudWatch
call fails (an AWS error or a timeout): the gateways are still reported, the failure is logged as a warning.
"""
from __future__ import annotations

from typing import Sequence

import datetime as dt

from polo.collectors.base import (
    VPC_CONSOLE, CollectContext, Console, Diagram, PriceQuery, Prices, ResourceType, paginate,
)
from polo.collectors.metric_sums import weekly_sums
from polo.model import Resource, tag_dict, timestamp

UNBILLED_STATES = ("deleting", "deleted", "failed")  # no hourly charge


def bytes_out(cloudwatch, gateway_ids: list[str],
              now: dt.datetime | None = None) -> dict[str, float | None]:
    """gateway id -> BytesOutToDestination summed over the last 7 days; all None on error."""
    return weekly_sums(cloudwatch, "AWS/NATGateway", "BytesOutToDestination",
                       [(g, {"NatGatewayId": g}) for g in gateway_ids], f"{len(gateway_ids)} NAT gateways", now)


def collect(ctx: CollectContext):
    ec2 = ctx.regional_client("ec2")
    gateways = [g for g in paginate(ec2, "describe_nat_gateways", "NatGateways")
                if g.get("State") != "deleted"]
    traffic = bytes_out(ctx.regional_client("cloudwatch"), [g["NatGatewayId"] for g in gateways])
    for gateway in gateways:
        tags = tag_dict(gateway.get("Tags"))
        yield Resource(
            account_id=ctx.account_id,
            region=ctx.region,
            resource_type=TYPE.name,
            resource_id=gateway["NatGatewayId"],
            name=tags.get("Name", ""),
            state=gateway.get("State", ""),
            parent_id=gateway.get("SubnetId", ""),
            vpc_id=gateway.get("VpcId", ""),
            subnet_id=gateway.get("SubnetId", ""),
            created=timestamp(gateway.get("CreateTime")),
            tags=tags,
            details={
                "allocation_ids": tuple(a["AllocationId"] for a in gateway.get("NatGatewayAddresses") or ()
                                        if a.get("AllocationId")),
                "bytes_out_7d": traffic.get(gateway["NatGatewayId"]),
            },
        )


def price(prices: Prices, r: Resource) -> float | None:
    """Hourly charge only; data processing (per GB) is excluded."""
    if r.state in UNBILLED_STATES:
        return 0.0
    return prices.monthly(prices.lookup(r.region, "nat_gateway_hourly"))


def price_queries(region: str, kind: str, classes: Sequence[str]) -> PriceQuery | None:
    if (kind, classes) == ("nat_gateway_hourly", []):
        return PriceQuery.of("AmazonEC2", r"NatGateway-Hours$", region, productFamily="NAT Gateway")
    return None


TYPE = ResourceType(
    name="nat_gateway", collector="nat_gateways", collect=collect,
    price=price, price_queries=price_queries,
    console=Console(VPC_CONSOLE + "NatGatewayDetails:natGatewayId={1}"),
    diagram=Diagram("vpc", "#FF9830"),
    chain=2,
)
