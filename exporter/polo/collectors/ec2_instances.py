"""EC2 instances (DescribeInstances, all pages).

Yields, e.g.:
    Resource(account_id='651774330118', region='us-east-1', resource_type='ec2_instance',
             resource_id='i-0abc', name='api-1', state='stopped', parent_id='subnet-1',
             vpc_id='vpc-1', subnet_id='subnet-1', created=1719000000.0,
             resource_class='m5.large', details={'state_since': 1719500000.0,
             'image_id': 'ami-1', 'volume_ids': ('vol-1',), 'public_ip': ''})
`state_since` comes from StateTransitionReason ("User initiated (2024-06-01 10:00:00 GMT)")
when AWS gives it, else None.
"""
from __future__ import annotations

from typing import Sequence

import datetime as dt
import re

from polo.collectors.base import (
    EC2_CONSOLE, CollectContext, Console, Diagram, PriceQuery, Prices, ResourceType, paginate,
)
from polo.model import Resource, tag_dict, timestamp

TRANSITION_TIME = re.compile(r"\((\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}) (?:GMT|UTC)\)")  # AWS: GMT, moto: UTC


def state_since(reason: str | None) -> float | None:
    match = TRANSITION_TIME.search(reason or "")
    if not match:
        return None
    when = dt.datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S")
    return when.replace(tzinfo=dt.timezone.utc).timestamp()


def collect(ctx: CollectContext):
    ec2 = ctx.regional_client("ec2")
    for reservation in paginate(ec2, "describe_instances", "Reservations"):
        for inst in reservation.get("Instances", ()):
            tags = tag_dict(inst.get("Tags"))
            yield Resource(
                account_id=ctx.account_id,
                region=ctx.region,
                resource_type=TYPE.name,
                resource_id=inst["InstanceId"],
                name=tags.get("Name", ""),
                state=inst.get("State", {}).get("Name", ""),
                parent_id=inst.get("SubnetId", ""),
                vpc_id=inst.get("VpcId", ""),
                subnet_id=inst.get("SubnetId", ""),
                created=timestamp(inst.get("LaunchTime")),
                resource_class=inst.get("InstanceType", ""),
                tags=tags,
                details={
                    "state_since": state_since(inst.get("StateTransitionReason")),
                    "image_id": inst.get("ImageId", ""),
                    "volume_ids": tuple(m["Ebs"]["VolumeId"] for m in inst.get("BlockDeviceMappings", ())
                                        if "Ebs" in m),
                    "public_ip": inst.get("PublicIpAddress", ""),
                },
            )


def price(prices: Prices, r: Resource) -> float | None:
    """Compute only, while running: a stopped instance's volumes are billed as volumes."""
    if r.state != "running":
        return 0.0
    return prices.monthly(prices.lookup(r.region, "ec2_instance_hourly", r.resource_class))


# Linux, shared tenancy, no pre-installed software: the on-demand price of the instance type itself
EC2_LINUX_ON_DEMAND = {"operatingSystem": "Linux", "tenancy": "Shared", "preInstalledSw": "NA",
                       "capacitystatus": "Used", "licenseModel": "No License required"}


def price_queries(region: str, kind: str, classes: Sequence[str]) -> PriceQuery | None:
    match kind, classes:
        case "ec2_instance_hourly", [instance_type]:
            return PriceQuery.of("AmazonEC2", "BoxUsage", region, productFamily="Compute Instance",
                                 instanceType=instance_type, **EC2_LINUX_ON_DEMAND)
    return None


TYPE = ResourceType(
    name="ec2_instance", collector="ec2_instances", collect=collect,
    price=price, price_queries=price_queries,
    console=Console(EC2_CONSOLE + "InstanceDetails:instanceId={1}"),
    diagram=Diagram("vpc", "#73BF69"),
)
