"""EKS managed node groups (ListClusters and ListNodegroups, all pages; DescribeNodegroup each).

Yields, e.g.:
    Resource(account_id='651774330118', region='us-east-1', resource_type='eks_nodegroup',
             resource_id='arn:aws:eks:us-east-1:651774330118:nodegroup/ml-serving/gpu/4ec5...',
             name='gpu', state='ACTIVE', parent_id='ml-serving', created=1719000000.0,
             resource_class='g5.xlarge',
             details={'cluster': 'ml-serving', 'desired_size': 2, 'min_size': 1, 'max_size': 4,
                      'instance_types': ('g5.xlarge',), 'capacity_type': 'ON_DEMAND'})
Names are unique only within a cluster, so the id is the node group's ARN; `parent_id` is the
cluster's name (the EKS cluster's resource_id). `resource_class` is the instance types joined by
','. The nodes themselves are EC2 instances and are priced as such.
"""
from __future__ import annotations

from polo.collectors.base import (
    CONSOLE, CollectContext, Console, Gauge, ResourceType, detail, map_tags, paginate,
)
from polo.model import Resource, timestamp


def collect(ctx: CollectContext):
    eks = ctx.regional_client("eks")
    for cluster in paginate(eks, "list_clusters", "clusters"):
        for name in paginate(eks, "list_nodegroups", "nodegroups", clusterName=cluster):
            group = eks.describe_nodegroup(clusterName=cluster, nodegroupName=name)["nodegroup"]
            scaling = group.get("scalingConfig") or {}
            types = tuple(group.get("instanceTypes") or ())
            yield Resource(
                account_id=ctx.account_id,
                region=ctx.region,
                resource_type=TYPE.name,
                resource_id=group.get("nodegroupArn") or f"{cluster}/{name}",
                name=name,
                state=group.get("status", ""),
                parent_id=cluster,
                created=timestamp(group.get("createdAt")),
                resource_class=",".join(types),
                tags=map_tags(group.get("tags")),
                details={"cluster": cluster, "desired_size": scaling.get("desiredSize"),
                         "min_size": scaling.get("minSize"), "max_size": scaling.get("maxSize"),
                         "instance_types": types, "capacity_type": group.get("capacityType", "")},
            )


TYPE = ResourceType(
    name="eks_nodegroup", collector="eks_nodegroups", collect=collect,
    gauges=(
        Gauge("polo_eks_nodegroup_desired_nodes", "Desired node count of an EKS managed node group.",
              detail("desired_size")),
        Gauge("polo_eks_nodegroup_min_nodes", "Minimum node count of an EKS managed node group.",
              detail("min_size")),
        Gauge("polo_eks_nodegroup_max_nodes", "Maximum node count of an EKS managed node group.",
              detail("max_size")),
    ),
    # arn:aws:eks:REGION:ACCOUNT:nodegroup/CLUSTER/NODEGROUP/UUID
    console=Console(CONSOLE + "eks/home?region={r}#/clusters/{1}/nodegroups/{2}",
                    "arn:[^:]+:eks:[^:]*:[^:]*:nodegroup/([^/]+)/([^/]+)/.*"),
    chain=3,
)
