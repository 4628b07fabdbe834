"""SageMaker real-time endpoints (ListEndpoints, all pages; DescribeEndpoint, the endpoint
configuration's DescribeEndpointConfig and ListTags, all pages, each), with their last 7 days of
invocations (CloudWatch GetMetricData, one paged call per region for all their variants:
metric_sums).

Yields, e.g.:
    Resource(account_id='651774330118', region='us-east-1', resource_type='sagemaker_endpoint',
             resource_id='reranker', name='reranker', state='InService', parent_id='651774330118',
             created=1719000000.0, resource_class='ml.g5.xlarge',
             details={'variants': (('primary', 'ml.g5.xlarge', 2),), 'instance_count': 2,
                      'invocations_7d': 5400.0,
                      'arn': 'arn:aws:sagemaker:us-east-1:651774330118:endpoint/reranker'})
`variants` holds (variant name, instance type, instances) per production variant: the
instances running now (CurrentInstanceCount), else the configuration's initial count.
Serverless variants have no instance type and count 0. `resource_class` is the first
variant's instance type. `invocations_7d` is AWS/SageMaker Invocations (dimensions EndpointName
and VariantName) summed over the last 7 days and every variant; 0.0 when CloudWatch has no
datapoints, None for every endpoint of the region when the CloudWatch call fails (an AWS error
or a timeout): the endpoints are still reported, the failure is logged as a warning.
"""
from __future__ import annotations

import re
from typing import Any, Mapping, Sequence

from polo.collectors.base import (
    CONSOLE, CollectContext, Console, Gauge, PriceQuery, Prices, ResourceType, detail, paginate,
)
from polo.collectors.metric_sums import weekly_sums
from polo.model import Resource, tag_dict, timestamp


def variants(endpoint: dict, config: dict) -> tuple[tuple[str, str, int], ...]:
    running = {v.get("VariantName"): v.get("CurrentInstanceCount") for v in endpoint.get("ProductionVariants") or ()}
    found = []
    for variant in config.get("ProductionVariants") or ():
        name = variant.get("VariantName", "")
        count = running.get(name)
        if count is None:
            count = variant.get("InitialInstanceCount") or 0
        found.append((name, variant.get("InstanceType", ""), int(count)))
    return tuple(found)


def invocations(cloudwatch, endpoints: dict[str, tuple[tuple[str, str, int], ...]]) -> dict[str, float | None]:
    """endpoint name -> Invocations over the last 7 days, all variants; all None on error."""
    series = [(name, {"EndpointName": name, "VariantName": variant})
              for name, found in endpoints.items() for variant, _type, _count in found]
    return weekly_sums(cloudwatch, "AWS/SageMaker", "Invocations", series, f"{len(endpoints)} SageMaker endpoints")


def collect(ctx: CollectContext):
    sagemaker = ctx.regional_client("sagemaker")
    described = []
    for summary in paginate(sagemaker, "list_endpoints", "Endpoints"):
        endpoint = sagemaker.describe_endpoint(EndpointName=summary["EndpointName"])
        config = sagemaker.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
        described.append((summary["EndpointName"], endpoint, variants(endpoint, config)))
    traffic = invocations(ctx.regional_client("cloudwatch"), {name: found for name, _, found in described})
    for name, endpoint, found in described:
        arn = endpoint.get("EndpointArn", "")
        yield Resource(
            account_id=ctx.account_id,
            region=ctx.region,
            resource_type=TYPE.name,
            resource_id=name,
            name=name,
            state=endpoint.get("EndpointStatus", ""),
            parent_id=ctx.account_id,
            created=timestamp(endpoint.get("CreationTime")),
            resource_class=found[0][1] if found else "",
            tags=tag_dict(list(paginate(sagemaker, "list_tags", "Tags", ResourceArn=arn)) if arn else None),
            details={"variants": found, "instance_count": sum(v[2] for v in found),
                     "invocations_7d": traffic.get(name), "arn": arn},
        )


def price(prices: Prices, r: Resource) -> float | None:
    """Instances of every production variant at SageMaker hosting prices; serverless
    variants (no instance type) bill per use and add nothing."""
    nodes = [(instance_type, count) for _name, instance_type, count in r.details.get("variants") or ()]
    return prices.monthly(prices.hourly_nodes(r.region, "sagemaker_hosting_hourly", nodes))


def variant_instances(details: Mapping[str, Any]):
    """(variant, instance type) -> instance count, one per production variant."""
    for variant, instance_type, count in details.get("variants", ()):
        yield (variant, instance_type), count


def price_queries(region: str, kind: str, classes: Sequence[str]) -> PriceQuery | None:
    match kind, classes:
        case "sagemaker_hosting_hourly", [instance_type]:
            return PriceQuery.of("AmazonSageMaker", "Host:" + re.escape(instance_type) + "$", region,
                                 productFamily="ML Instance", instanceType=instance_type, component="Hosting")
    return None


TYPE = ResourceType(
    name="sagemaker_endpoint", collector="sagemaker_endpoints", collect=collect,
    price=price, price_queries=price_queries,
    gauges=(
        Gauge("polo_sagemaker_endpoint_instances",
              "Instances serving a SageMaker endpoint, all production variants together.",
              detail("instance_count")),
        Gauge("polo_sagemaker_endpoint_invocations_7d",
              "Invocations of a SageMaker endpoint over the last 7 days, all variants (CloudWatch Invocations).",
              detail("invocations_7d")),
        Gauge("polo_sagemaker_endpoint_variant_instances",
              "Instances of one production variant of a SageMaker endpoint, by instance type.",
              variant_instances, labels=("variant", "instance_type")),
    ),
    console=Console(CONSOLE + "sagemaker/home?region={r}#/endpoints/{1}"),
    chain=5,
)
