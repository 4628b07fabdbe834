"""S3 buckets, a global collector (ListBuckets, all pages, from the home region), with each
bucket's region (GetBucketLocation), public access block (GetPublicAccessBlock) and tags
(GetBucketTagging), asked in the bucket's own region, a few buckets at a time.

Yields, e.g.:
    Resource(account_id='651774330118', region='eu-west-1', resource_type='s3_bucket',
             resource_id='acme-logs', name='acme-logs', parent_id='651774330118',
             created=1719000000.0, details={'public_access_blocked': True})
`region` is the bucket's region, not 'global'. `public_access_blocked` is True only when the
bucket has a public access block with all four settings on (the account-level block is not
consulted). A bucket without a block or without tags is normal; any other per-bucket error
fails the whole collector, so the sweep reports it instead of publishing a partial list.
"""
from __future__ import annotations

from polo.collectors.base import CollectContext, Console, ResourceType, each_item, paginate
from polo.errors import error_code
from polo.model import EMPTY, Resource, tag_dict, timestamp

BLOCK_FLAGS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
LEGACY_LOCATIONS = {None: "us-east-1", "": "us-east-1", "EU": "eu-west-1"}


def bucket_region(s3, bucket: str) -> str:
    location = s3.get_bucket_location(Bucket=bucket).get("LocationConstraint")
    return LEGACY_LOCATIONS.get(location, location)


def public_access_blocked(s3, bucket: str) -> bool:
    try:
        config = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    except Exception as exc:  # that one AWS error code is an answer; the rest fail the collector
        if error_code(exc) != "NoSuchPublicAccessBlockConfiguration":
            raise
        return False
    return all(config.get(flag) is True for flag in BLOCK_FLAGS)


def bucket_tags(s3, bucket: str):
    try:
        return tag_dict(s3.get_bucket_tagging(Bucket=bucket).get("TagSet"))
    except Exception as exc:  # that one AWS error code is an answer; the rest fail the collector
        if error_code(exc) != "NoSuchTagSet":
            raise
        return EMPTY


def collect(ctx: CollectContext):
    home = ctx.client("s3", ctx.home_region)

    def describe(bucket) -> Resource:
        name = bucket["Name"]
        region = bucket_region(home, name)
        s3 = ctx.client("s3", region)
        return Resource(
            account_id=ctx.account_id,
            region=region,
            resource_type=TYPE.name,
            resource_id=name,
            name=name,
            parent_id=ctx.account_id,
            created=timestamp(bucket.get("CreationDate")),
            tags=bucket_tags(s3, name),
            details={"public_access_blocked": public_access_blocked(s3, name)},
        )

    yield from each_item(describe, paginate(home, "list_buckets", "Buckets"))


TYPE = ResourceType(
    name="s3_bucket", collector="s3_buckets", collect=collect, scope="global",
    console=Console("https://s3.console.aws.amazon.com/s3/buckets/{1}?region={r}"),
    chain=4,
)
