"""EBS snapshots owned by the account (DescribeSnapshots OwnerIds=self, all pages), with the
account's own AMIs (DescribeImages Owners=self, all pages, once per region) that use them.

Yields, e.g.:
    Resource(account_id='651774330118', region='us-east-1', resource_type='ebs_snapshot',
             resource_id='snap-1', name='nightly api-1', state='completed', parent_id='vol-1',
             created=1719000000.0, size_bytes=107374182400,
             details={'volume_id': 'vol-1', 'ami_ids': ('ami-1',),
                      'description': 'nightly api-1'})
`name` is the Name tag, else the Description. `parent_id` is the source volume (which may
no longer exist), else ''. `ami_ids` lists, sorted, the account's AMIs whose block device
mappings reference the snapshot: such snapshots cannot be deleted before the AMI is.
"""
from __future__ import annotations

from typing import Sequence

from collections import defaultdict

from polo.collectors.base import (
    EC2_CONSOLE, GIB, CollectContext, Console, PriceQuery, Prices, ResourceType, paginate,
)
from polo.model import Resource, tag_dict, timestamp


def ami_references(ec2) -> dict[str, tuple[str, ...]]:
    """snapshot id -> sorted ids of the account's AMIs that reference it."""
    users: dict[str, set[str]] = defaultdict(set)
    for image in paginate(ec2, "describe_images", "Images", Owners=["self"]):
        for mapping in image.get("BlockDeviceMappings") or ():
            snapshot_id = (mapping.get("Ebs") or {}).get("SnapshotId")
            if snapshot_id:
                users[snapshot_id].add(image["ImageId"])
    return {snapshot_id: tuple(sorted(ids)) for snapshot_id, ids in users.items()}


def collect(ctx: CollectContext):
    ec2 = ctx.regional_client("ec2")
    amis = ami_references(ec2)
    for snapshot in paginate(ec2, "describe_snapshots", "Snapshots", OwnerIds=["self"]):
        tags = tag_dict(snapshot.get("Tags"))
        description = snapshot.get("Description") or ""
        volume_id = snapshot.get("VolumeId") or ""
        size = snapshot.get("VolumeSize")
        yield Resource(
            account_id=ctx.account_id,
            region=ctx.region,
            resource_type=TYPE.name,
            resource_id=snapshot["SnapshotId"],
            name=tags.get("Name") or description,
            state=snapshot.get("State", ""),
            parent_id=volume_id,
            created=timestamp(snapshot.get("StartTime")),
            size_bytes=size * GIB if size is not None else None,
            tags=tags,
            details={
                "volume_id": volume_id,
                "ami_ids": amis.get(snapshot["SnapshotId"], ()),
                "description": description,
            },
        )


def price(prices: Prices, r: Resource) -> float | None:
    """Standard tier at the source volume's size: an upper bound, since AWS bills only the
    blocks a snapshot stores and DescribeSnapshots does not report them."""
    per_gb = prices.lookup(r.region, "ebs_snapshot_gb_month")
    if per_gb is None or r.size_bytes is None:
        return None
    return per_gb * r.size_bytes / GIB


def price_queries(region: str, kind: str, classes: Sequence[str]) -> PriceQuery | None:
    if (kind, classes) == ("ebs_snapshot_gb_month", []):
        return PriceQuery.of("AmazonEC2", r"EBS:SnapshotUsage$", region, productFamily="Storage Snapshot")
    return None


TYPE = ResourceType(
    name="ebs_snapshot", collector="ebs_snapshots", collect=collect,
    price=price, price_queries=price_queries,
    console=Console(EC2_CONSOLE + "SnapshotDetails:snapshotId={1}"),
    chain=2,
)
