"""ECS services (ListClusters and ListServices, all pages; DescribeServices ten at a time, with
their tags).

Yields, e.g.:
    Resource(account_id='651774330118', region='us-east-1', resource_type='ecs_service',
             resource_id='arn:aws:ecs:us-east-1:651774330118:service/search/indexer',
             name='indexer', state='ACTIVE', parent_id='search', subnet_id='subnet-1',
             created=1719000000.0, resource_class='FARGATE',
             details={'cluster': 'search', 'desired_tasks': 2, 'running_tasks': 2,
                      'launch_type': 'FARGATE'})
Service names are unique only within a cluster, so the id is the service's ARN; `parent_id` is
the cluster's name. `resource_class` and `launch_type` are the launch type, or the first
capacity provider when the service uses a capacity provider strategy. `subnet_id` is the first
subnet of an awsvpc network configuration.
"""
from __future__ import annotations

from polo.collectors.base import CONSOLE, CollectContext, Console, Gauge, ResourceType, detail, paginate
from polo.model import Resource, tag_dict, timestamp

SERVICES_PER_CALL = 10  # DescribeServices' limit


def launch_type(service: dict) -> str:
    strategy = service.get("capacityProviderStrategy") or ()
    return service.get("launchType") or (strategy[0].get("capacityProvider", "") if strategy else "")


def collect(ctx: CollectContext):
    ecs = ctx.regional_client("ecs")
    for cluster_arn in paginate(ecs, "list_clusters", "clusterArns"):
        cluster = cluster_arn.rsplit("/", 1)[-1]
        arns = list(paginate(ecs, "list_services", "serviceArns", cluster=cluster_arn))
        for start in range(0, len(arns), SERVICES_PER_CALL):
            reply = ecs.describe_services(cluster=cluster_arn, services=arns[start:start + SERVICES_PER_CALL],
                                          include=["TAGS"])
            for service in reply.get("services", ()):
                network = (service.get("networkConfiguration") or {}).get("awsvpcConfiguration") or {}
                subnets = network.get("subnets") or ()
                kind = launch_type(service)
                yield Resource(
                    account_id=ctx.account_id,
                    region=ctx.region,
                    resource_type=TYPE.name,
                    resource_id=service["serviceArn"],
                    name=service.get("serviceName", ""),
                    state=service.get("status", ""),
                    parent_id=cluster,
                    subnet_id=subnets[0] if subnets else "",
                    created=timestamp(service.get("createdAt")),
                    resource_class=kind,
                    tags=tag_dict(service.get("tags")),
                    details={"cluster": cluster, "desired_tasks": service.get("desiredCount"),
                             "running_tasks": service.get("runningCount"), "launch_type": kind},
                )


TYPE = ResourceType(
    name="ecs_service", collector="ecs_services", collect=collect,
    gauges=(
        Gauge("polo_ecs_service_desired_tasks", "Desired task count of an ECS service.", detail("desired_tasks")),
        Gauge("polo_ecs_service_running_tasks", "Running task count of an ECS service.", detail("running_tasks")),
    ),
    # arn:aws:ecs:REGION:ACCOUNT:service/CLUSTER/SERVICE
    console=Console(CONSOLE + "ecs/v2/clusters/{1}/services/{2}?region={r}",
                    "arn:[^:]+:ecs:[^:]*:[^:]*:service/([^/]+)/([^/]+)"),
    chain=3,
)
