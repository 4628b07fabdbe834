"""EBS volumes (DescribeVolumes, all pages).

Yields, e.g.:
    Resource(account_id='651774330118', region='us-east-1', resource_type='ebs_volume',
             resource_id='vol-1', name='api-1-root', state='in-use', parent_id='i-0abc',
             created=1719000000.0, resource_class='gp3', size_bytes=107374182400,
             details={'attached_instance_id': 'i-0abc', 'availability_zone': 'us-east-1a',
                      'iops': 3000, 'throughput': 125, 'encrypted': False})
`parent_id` and `attached_instance_id` are the first attachment's instance, else ''.
`iops` and `throughput` are None when AWS does not report them (e.g. throughput off gp3).
"""
from __future__ import annotations

from dataclasses import replace
from typing import Sequence

from polo.collectors.base import (
    EC2_CONSOLE, GIB, CollectContext, Console, Diagram, PriceQuery, Prices, ResourceType, paginate,
)
from polo.model import Resource, tag_dict, timestamp


def collect(ctx: CollectContext):
    ec2 = ctx.regional_client("ec2")
    for volume in paginate(ec2, "describe_volumes", "Volumes"):
        tags = tag_dict(volume.get("Tags"))
        attachments = volume.get("Attachments") or ()
        instance_id = (attachments[0].get("InstanceId") or "") if attachments else ""
        size = volume.get("Size")
        yield Resource(
            account_id=ctx.account_id,
            region=ctx.region,
            resource_type=TYPE.name,
            resource_id=volume["VolumeId"],
            name=tags.get("Name", ""),
            state=volume.get("State", ""),
            parent_id=instance_id,
            created=timestamp(volume.get("CreateTime")),
            resource_class=volume.get("VolumeType", ""),
            size_bytes=size * GIB if size is not None else None,
            tags=tags,
            details={
                "attached_instance_id": instance_id,
                "availability_zone": volume.get("AvailabilityZone", ""),
                "iops": volume.get("Iops"),
                "throughput": volume.get("Throughput"),
                "encrypted": bool(volume.get("Encrypted", False)),
            },
        )


def price(prices: Prices, r: Resource) -> float | None:
    """Storage plus provisioned IOPS and throughput (polo.prices.pricing.PriceTable.volume_of)."""
    if r.size_bytes is None:
        return None
    return prices.volume_of(r.region, r.resource_class, r.size_bytes / GIB, r.details.get("iops"),
                            r.details.get("throughput"))


IO2_TIER_CEILINGS = (32000, 64000, None)  # IOPS per volume where each io2 tier ends


def price_queries(region: str, kind: str, classes: Sequence[str]) -> PriceQuery | None:
    """Storage by volume type, and the provisioned performance polo.prices.pricing.volume_of adds."""
    match kind, classes:
        case "ebs_volume_gb_month", [volume_type]:
            return PriceQuery.of("AmazonEC2", r"EBS:VolumeUsage", region, productFamily="Storage",
                                 volumeApiName=volume_type)
        case "ebs_gp3_iops_month", []:
            return PriceQuery.of("AmazonEC2", r"EBS:VolumeP-IOPS\.gp3$", region, productFamily="System Operation",
                                 volumeApiName="gp3")
        case "ebs_gp3_throughput_mibps_month", []:
            return PriceQuery.of("AmazonEC2", r"EBS:VolumeP-Throughput\.gp3$", region,
                                 productFamily="Provisioned Throughput", volumeApiName="gp3")
        case "ebs_io1_iops_month", []:
            return PriceQuery.of("AmazonEC2", r"EBS:VolumeP-IOPS\.piops$", region, productFamily="System Operation",
                                 volumeApiName="io1")
        case "ebs_io2_iops_month_tiers", []:
            base = PriceQuery.of("AmazonEC2", r"EBS:VolumeP-IOPS\.io2", region, productFamily="System Operation",
                                 volumeApiName="io2")
            patterns = (r"EBS:VolumeP-IOPS\.io2$", r"EBS:VolumeP-IOPS\.io2\.tier2$", r"EBS:VolumeP-IOPS\.io2\.tier3$")
            return replace(base, tiers=tuple(zip(patterns, IO2_TIER_CEILINGS)))
    return None


TYPE = ResourceType(
    name="ebs_volume", collector="ebs_volumes", collect=collect,
    price=price, price_queries=price_queries,
    console=Console(EC2_CONSOLE + "VolumeDetails:volumeId={1}"),
    diagram=Diagram("parent", "#FADE2A"),
)
