"""Subnets (DescribeSubnets, all pages).

Yields, e.g.:
    Resource(account_id='651774330118', region='us-east-1', resource_type='subnet',
             resource_id='subnet-1', name='main-a', state='available', parent_id='vpc-1',
             vpc_id='vpc-1', subnet_id='subnet-1', created=None,
             details={'cidr': '10.0.1.0/24', 'availability_zone': 'us-east-1a'})
AWS gives subnets no creation time, so `created` is always None.
"""
from __future__ import annotations

from polo.collectors.base import VPC_CONSOLE, CollectContext, Console, Diagram, ResourceType, paginate
from polo.model import Resource, tag_dict


def collect(ctx: CollectContext):
    ec2 = ctx.regional_client("ec2")
    for subnet in paginate(ec2, "describe_subnets", "Subnets"):
        tags = tag_dict(subnet.get("Tags"))
        yield Resource(
            account_id=ctx.account_id,
            region=ctx.region,
            resource_type=TYPE.name,
            resource_id=subnet["SubnetId"],
            name=tags.get("Name", ""),
            state=subnet.get("State", ""),
            parent_id=subnet.get("VpcId", ""),
            vpc_id=subnet.get("VpcId", ""),
            subnet_id=subnet["SubnetId"],
            created=None,
            tags=tags,
            details={
                "cidr": subnet.get("CidrBlock", ""),
                "availability_zone": subnet.get("AvailabilityZone", ""),
            },
        )


TYPE = ResourceType(
    name="subnet", collector="subnets", collect=collect,
    console=Console(VPC_CONSOLE + "SubnetDetails:subnetId={1}"),
    diagram=Diagram("vpc", "#B877D9"),
)
