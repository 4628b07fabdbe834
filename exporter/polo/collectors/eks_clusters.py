"""EKS clusters (ListClusters, all pages; DescribeCluster each, a few at a time), with how many managed node
groups and Fargate profiles run in them (ListNodegroups and ListFargateProfiles, all pages).

Yields, e.g.:
    Resource(account_id='651774330118', region='us-east-1', resource_type='eks_cluster',
             resource_id='ml-serving', name='ml-serving', state='ACTIVE', parent_id='vpc-1',
             vpc_id='vpc-1', created=1719000000.0, resource_class='1.29',
             details={'nodegroups': 2, 'fargate_profiles': 0,
                      'arn': 'arn:aws:eks:us-east-1:651774330118:cluster/ml-serving'})
`resource_class` is the Kubernetes version. The control plane bills by the hour whether or
not anything runs on it; `parent_id` is the cluster's VPC, else the account.
"""
from __future__ import annotations

from typing import Sequence

from polo.collectors.base import (
    CONSOLE, CollectContext, Console, Gauge, PriceQuery, Prices, ResourceType, detail, each_item, map_tags,
    paginate,
)
from polo.model import Resource, timestamp


def collect(ctx: CollectContext):
    eks = ctx.regional_client("eks")

    def describe(name: str) -> Resource:
        cluster = eks.describe_cluster(name=name)["cluster"]
        nodegroups = sum(1 for _ in paginate(eks, "list_nodegroups", "nodegroups", clusterName=name))
        profiles = sum(1 for _ in paginate(eks, "list_fargate_profiles", "fargateProfileNames",
                                           clusterName=name))
        vpc_id = (cluster.get("resourcesVpcConfig") or {}).get("vpcId") or ""
        return Resource(
            account_id=ctx.account_id,
            region=ctx.region,
            resource_type=TYPE.name,
            resource_id=name,
            name=name,
            state=cluster.get("status", ""),
            parent_id=vpc_id or ctx.account_id,
            vpc_id=vpc_id,
            created=timestamp(cluster.get("createdAt")),
            resource_class=cluster.get("version") or "",
            tags=map_tags(cluster.get("tags")),
            details={"nodegroups": nodegroups, "fargate_profiles": profiles,
                     "arn": cluster.get("arn", "")},
        )

    yield from each_item(describe, paginate(eks, "list_clusters", "clusters"))


def price(prices: Prices, r: Resource) -> float | None:
    """The control plane, billed by the hour whether or not anything runs on it. Nodes are
    EC2 instances (priced as such); extended-support surcharges are not included."""
    return prices.monthly(prices.lookup(r.region, "eks_cluster_hourly"))


def price_queries(region: str, kind: str, classes: Sequence[str]) -> PriceQuery | None:
    if (kind, classes) == ("eks_cluster_hourly", []):
        return PriceQuery.of("AmazonEKS", r"AmazonEKS-Hours:perCluster$", region)
    return None


TYPE = ResourceType(
    name="eks_cluster", collector="eks_clusters", collect=collect,
    price=price, price_queries=price_queries,
    gauges=(
        Gauge("polo_eks_cluster_nodegroups", "Managed node groups in an EKS cluster.", detail("nodegroups")),
        Gauge("polo_eks_cluster_fargate_profiles", "Fargate profiles in an EKS cluster.",
              detail("fargate_profiles")),
    ),
    console=Console(CONSOLE + "eks/home?region={r}#/clusters/{1}"),
    chain=4,
)
