"""One module per AWS service. Each exposes NAME, SCOPE ('regional' or 'global') and
`collect(ctx)`, a generator of normalised `polo.model.Resource`s built from the service's own
Describe/List APIs with every page read, so untagged resources are found too.

Collectors only see a CollectContext: they cannot tell real AWS from a simulated one.
Each module's docstring shows the resources it yields and the `details` keys it fills.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterator

from polo.model import GIB, tag_dict

__all__ = ["COLLECTORS", "GIB", "CollectContext", "map_tags", "paginate"]


@dataclass(frozen=True)
class CollectContext:
    account_id: str
    region: str  # 'global' for global collectors
    home_region: str  # region for global services' API calls
    client: Callable[[str, str], Any]  # (service, region) -> boto3 client

    def regional_client(self, service: str):
        return self.client(service, self.home_region if self.region == "global" else self.region)


def paginate(client, operation: str, result_key: str, **params) -> Iterator[Any]:
    """Every item of every page of a paginated Describe/List call (records, or names/ARNs)."""
    for page in client.get_paginator(operation).paginate(**params):
        yield from page.get(result_key, ())


def map_tags(tags: dict[str, str] | None):
    """Tags AWS returns as a {key: value} map (EKS, ECS lists aside) in tag_dict's shape."""
    return tag_dict({"Key": k, "Value": v} for k, v in (tags or {}).items())


from polo.collectors import (  # noqa: E402  (registry below needs the helpers above)
    autoscaling_groups, cloudwatch_log_groups, dynamodb_tables, ebs_snapshots, ebs_volumes,
    ec2_instances, ecr_repositories, ecs_services, eks_clusters, eks_nodegroups,
    elastic_ips, elasticache_clusters, lambda_functions, load_balancers, nat_gateways,
    opensearch_domains, rds_instances, s3_buckets, sagemaker_endpoints, sagemaker_notebooks,
    security_groups, subnets, vpcs,
)

COLLECTORS = {module.NAME: module for module in (
    ec2_instances, vpcs, subnets, security_groups, ebs_volumes, ebs_snapshots, elastic_ips,
    nat_gateways, load_balancers, rds_instances, s3_buckets, lambda_functions,
    eks_clusters, eks_nodegroups, autoscaling_groups, ecs_services, dynamodb_tables,
    elasticache_clusters, opensearch_domains, sagemaker_endpoints, sagemaker_notebooks,
    ecr_repositories, cloudwatch_log_groups,
)}
