"""One module per AWS service. Each exposes NAME, SCOPE ('regional' or 'global') and
`collect(ctx)`, a generator of normalised `polo.model.Resource`s built from the service's own
Describe/List APIs with every page read, so untagged resources are found too.

Collectors only see a CollectContext: they cannot tell real AWS from a simulated one.
Each module's docstring shows the resources it yields and the `details` keys it fills.
"""
from __future__ import annotations

from polo.collectors import (
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
