"""ECR repositories (DescribeRepositories, all pages), with their images (DescribeImages, all
pages), whether a lifecycle policy is set (GetLifecyclePolicy) and tags (ListTagsForResource),
a few repositories at a time.

Yields, e.g.:
    Resource(account_id='651774330118', region='us-east-1', resource_type='ecr_repository',
             resource_id='reranker', name='reranker', state='active', parent_id='651774330118',
             created=1719000000.0, size_bytes=48318382080,
             details={'image_count': 40, 'lifecycle_policy': False,
                      'arn': 'arn:aws:ecr:us-east-1:651774330118:repository/reranker'})
`size_bytes` sums imageSizeInBytes over the repository's images: layers shared between images
count once per image, so it is an upper bound of the storage AWS bills.
"""
from __future__ import annotations

from typing import Sequence

from polo.collectors.base import (
    CONSOLE, CollectContext, Console, Gauge, PriceQuery, Prices, ResourceType, detail, each_item, paginate,
)
from polo.errors import error_code
from polo.model import Resource, tag_dict, timestamp


def has_lifecycle_policy(ecr, name: str) -> bool:
    try:
        ecr.get_lifecycle_policy(repositoryName=name)
    except Exception as exc:  # only "no policy" is an answer; the rest fail the collector
        if error_code(exc) != "LifecyclePolicyNotFoundException":
            raise
        return False
    return True


def collect(ctx: CollectContext):
    ecr = ctx.regional_client("ecr")

    def describe(repo) -> Resource:
        name = repo["repositoryName"]
        images = list(paginate(ecr, "describe_images", "imageDetails", repositoryName=name))
        arn = repo.get("repositoryArn", "")
        return Resource(
            account_id=ctx.account_id,
            region=ctx.region,
            resource_type=TYPE.name,
            resource_id=name,
            name=name,
            state="active",
            parent_id=ctx.account_id,
            created=timestamp(repo.get("createdAt")),
            size_bytes=sum(image.get("imageSizeInBytes") or 0 for image in images),
            tags=tag_dict(ecr.list_tags_for_resource(resourceArn=arn).get("tags") if arn else None),
            details={"image_count": len(images), "lifecycle_policy": has_lifecycle_policy(ecr, name),
                     "arn": arn},
        )

    yield from each_item(describe, paginate(ecr, "describe_repositories", "repositories"))


def price(prices: Prices, r: Resource) -> float | None:
    """Image storage per GB-month (an upper bound: shared layers count once per image)."""
    return prices.storage(r, "ecr_storage_gb_month")


def price_queries(region: str, kind: str, classes: Sequence[str]) -> PriceQuery | None:
    if (kind, classes) == ("ecr_storage_gb_month", []):
        return PriceQuery.of("AmazonECR", r"TimedStorage-ByteHrs$", region, productFamily="EC2 Container Registry")
    return None


TYPE = ResourceType(
    name="ecr_repository", collector="ecr_repositories", collect=collect,
    price=price, price_queries=price_queries,
    gauges=(
        Gauge("polo_ecr_repository_images", "Images in an ECR repository.", detail("image_count")),
        Gauge("polo_ecr_repository_lifecycle_policy", "1 if the ECR repository has a lifecycle policy, else 0.",
              detail("lifecycle_policy")),
    ),
    console=Console(CONSOLE + "ecr/repositories/private/{account}/{1}?region={r}"),
    chain=4,
)
