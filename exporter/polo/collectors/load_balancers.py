"""Application, network and gateway load balancers (ELBv2 DescribeLoadBalancers, all pages),
with their tags (DescribeTags, 20 ARNs a call), target groups (DescribeTargetGroups, all
pages, once per region) and targets (DescribeTargetHealth per target group).

Yields, e.g.:
    Resource(account_id='651774330118', region='us-east-1', resource_type='load_balancer',
             resource_id='arn:aws:elasticloadbalancing:us-east-1:651774330118:loadbalancer/app/web/50dc6c495c0c9188',
             name='web', state='active', parent_id='vpc-1', vpc_id='vpc-1',
             created=1719000000.0, resource_class='application',
             details={'registered_targets': 2, 'healthy_targets': 2, 'target_groups': 1,
                      'scheme': 'internet-facing', 'dns_name': 'web-1.us-east-1.elb.amazonaws.com'})
`registered_targets` counts every target registered in the load balancer's target groups,
`healthy_targets` those whose health state is 'healthy'. A load balancer with no registered
targets serves nothing but is still billed. Classic ELBs are not collected.
"""
from __future__ import annotations

from collections import Counter
from typing import Mapping, Sequence

from polo.collectors.base import (
    EC2_CONSOLE, CollectContext, Console, Diagram, PriceQuery, Prices, ResourceType, paginate,
)
from polo.model import EMPTY, Resource, tag_dict, timestamp

TAGS_PER_CALL = 20  # DescribeTags' limit


def tags_by_arn(elb, arns: list[str]) -> dict[str, Mapping[str, str]]:
    tags: dict[str, Mapping[str, str]] = {}
    for start in range(0, len(arns), TAGS_PER_CALL):
        reply = elb.describe_tags(ResourceArns=arns[start:start + TAGS_PER_CALL])
        for description in reply.get("TagDescriptions", ()):
            tags[description["ResourceArn"]] = tag_dict(description.get("Tags"))
    return tags


def target_counts(elb) -> tuple[Counter[str], Counter[str], Counter[str]]:
    """Per load balancer ARN: target groups, registered targets, healthy targets."""
    groups: Counter[str] = Counter()
    registered: Counter[str] = Counter()
    healthy: Counter[str] = Counter()
    for group in paginate(elb, "describe_target_groups", "TargetGroups"):
        owners = group.get("LoadBalancerArns") or ()
        if not owners:
            continue  # an unused target group costs nothing and belongs to no load balancer
        targets = elb.describe_target_health(TargetGroupArn=group["TargetGroupArn"]).get(
            "TargetHealthDescriptions", ())
        ok = sum(1 for t in targets if (t.get("TargetHealth") or {}).get("State") == "healthy")
        for arn in owners:
            groups[arn] += 1
            registered[arn] += len(targets)
            healthy[arn] += ok
    return groups, registered, healthy


def collect(ctx: CollectContext):
    elb = ctx.regional_client("elbv2")
    balancers = list(paginate(elb, "describe_load_balancers", "LoadBalancers"))
    if not balancers:
        return
    tags = tags_by_arn(elb, [lb["LoadBalancerArn"] for lb in balancers])
    groups, registered, healthy = target_counts(elb)
    for lb in balancers:
        arn = lb["LoadBalancerArn"]
        yield Resource(
            account_id=ctx.account_id,
            region=ctx.region,
            resource_type=TYPE.name,
            resource_id=arn,
            name=lb.get("LoadBalancerName", ""),
            state=(lb.get("State") or {}).get("Code", ""),
            parent_id=lb.get("VpcId", ""),
            vpc_id=lb.get("VpcId", ""),
            created=timestamp(lb.get("CreatedTime")),
            resource_class=lb.get("Type", ""),
            tags=tags.get(arn, EMPTY),
            details={
                "registered_targets": registered[arn],
                "healthy_targets": healthy[arn],
                "target_groups": groups[arn],
                "scheme": lb.get("Scheme", ""),
                "dns_name": lb.get("DNSName", ""),
            },
        )


def price(prices: Prices, r: Resource) -> float | None:
    """Hourly charge only; LCU/NLCU/GLCU usage is excluded."""
    return prices.monthly(prices.lookup(r.region, "load_balancer_hourly", r.resource_class))


PRODUCT_FAMILIES = {"application": "Load Balancer-Application", "network": "Load Balancer-Network",
                    "gateway": "Load Balancer-Gateway"}


def price_queries(region: str, kind: str, classes: Sequence[str]) -> PriceQuery | None:
    match kind, classes:
        case "load_balancer_hourly", [lb_type] if lb_type in PRODUCT_FAMILIES:
            return PriceQuery.of("AWSELB", r"LoadBalancerUsage$", region, productFamily=PRODUCT_FAMILIES[lb_type])
    return None


TYPE = ResourceType(
    name="load_balancer", collector="load_balancers", collect=collect,
    price=price, price_queries=price_queries,
    console=Console(EC2_CONSOLE + "LoadBalancer:loadBalancerArn={1}"),
    diagram=Diagram("vpc", "#F2495C"),
    chain=4,
)
