"""VPCs (DescribeVpcs, all pages).

Yields, e.g.:
    Resource(account_id='651774330118', region='us-east-1', resource_type='vpc',
             resource_id='vpc-1', name='main', state='available', parent_id='651774330118',
             vpc_id='vpc-1', created=None,
             details={'cidr': '10.0.0.0/16', 'is_default': False})
AWS gives VPCs no creation time, so `created` is always None.
"""
from __future__ import annotations

from polo.collectors.base import VPC_CONSOLE, CollectContext, Console, Diagram, ResourceType, paginate
from polo.model import Resource, tag_dict


def collect(ctx: CollectContext):
    ec2 = ctx.regional_client("ec2")
    for vpc in paginate(ec2, "describe_vpcs", "Vpcs"):
        tags = tag_dict(vpc.get("Tags"))
        yield Resource(
            account_id=ctx.account_id,
            region=ctx.region,
            resource_type=TYPE.name,
            resource_id=vpc["VpcId"],
            name=tags.get("Name", ""),
            state=vpc.get("State", ""),
            parent_id=ctx.account_id,
            vpc_id=vpc["VpcId"],
            created=None,
            tags=tags,
            details={
                "cidr": vpc.get("CidrBlock", ""),
                "is_default": bool(vpc.get("IsDefault", False)),
            },
        )


TYPE = ResourceType(
    name="vpc", collector="vpcs", collect=collect,
    console=Console(VPC_CONSOLE + "VpcDetails:VpcId={1}"),
    diagram=Diagram("account", "#8F3BB8"),
)
