"""SageMaker real-time endpoints (ListEndpoints, all pages; DescribeEndpoint, the endpoint
configuration's DescribeEndpointConfig and ListTags, all pages, each).

Yields, e.g.:
    Resource(account_id='651774330118', region='us-east-1', resource_type='sagemaker_endpoint',
             resource_id='reranker', name='reranker', state='InService', parent_id='651774330118',
             created=1719000000.0, resource_class='ml.g5.xlarge',
             details={'variants': (('primary', 'ml.g5.xlarge', 2),), 'instance_count': 2,
                      'arn': 'arn:aws:sagemaker:us-east-1:651774330118:endpoint/reranker'})
`variants` holds (variant name, instance type, instances) per production variant: the
instances running now (CurrentInstanceCount), else the configuration's initial count.
Serverless variants have no instance type and count 0. `resource_class` is the first
variant's instance type.
"""
from __future__ import annotations

from polo.collectors import CollectContext, paginate
from polo.model import Resource, tag_dict, timestamp

NAME = "sagemaker_endpoints"
SCOPE = "regional"


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


def collect(ctx: CollectContext):
    sagemaker = ctx.regional_client("sagemaker")
    for summary in paginate(sagemaker, "list_endpoints", "Endpoints"):
        name = summary["EndpointName"]
        endpoint = sagemaker.describe_endpoint(EndpointName=name)
        config = sagemaker.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
        arn = endpoint.get("EndpointArn", "")
        found = variants(endpoint, config)
        yield Resource(
            account_id=ctx.account_id,
            region=ctx.region,
            resource_type="sagemaker_endpoint",
            resource_id=name,
            name=name,
            state=endpoint.get("EndpointStatus", ""),
            parent_id=ctx.account_id,
            created=timestamp(endpoint.get("CreationTime")),
            resource_class=found[0][1] if found else "",
            tags=tag_dict(list(paginate(sagemaker, "list_tags", "Tags", ResourceArn=arn)) if arn else None),
            details={"variants": found, "instance_count": sum(v[2] for v in found), "arn": arn},
        )
