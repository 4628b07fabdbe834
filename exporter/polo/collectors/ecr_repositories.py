"""ECR repositories (DescribeRepositories, all pages), with their images (DescribeImages, all
pages), whether a lifecycle policy is set (GetLifecyclePolicy) and tags (ListTagsForResource).

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

from botocore.exceptions import ClientError

from polo.collectors.base import CollectContext, paginate
from polo.aws.errors import error_code
from polo.model import Resource, tag_dict, timestamp

NAME = "ecr_repositories"
SCOPE = "regional"


def has_lifecycle_policy(ecr, name: str) -> bool:
    try:
        ecr.get_lifecycle_policy(repositoryName=name)
    except ClientError as exc:  # only "no policy" is an answer; the rest fail the collector
        if error_code(exc) == "LifecyclePolicyNotFoundException":
            return False
        raise
    return True


def collect(ctx: CollectContext):
    ecr = ctx.regional_client("ecr")
    for repo in paginate(ecr, "describe_repositories", "repositories"):
        name = repo["repositoryName"]
        images = list(paginate(ecr, "describe_images", "imageDetails", repositoryName=name))
        arn = repo.get("repositoryArn", "")
        yield Resource(
            account_id=ctx.account_id,
            region=ctx.region,
            resource_type="ecr_repository",
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
