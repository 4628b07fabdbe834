"""Lambda functions (ListFunctions, all pages), with their tags (ListTags per function).

Yields, e.g.:
    Resource(account_id='651774330118', region='us-east-1', resource_type='lambda_function',
             resource_id='thumbnailer', name='thumbnailer', state='Active', parent_id='vpc-1',
             vpc_id='vpc-1', created=1719000000.0, resource_class='python3.12',
             size_bytes=5242880,
             details={'memory_mb': 512,
                      'arn': 'arn:aws:lambda:us-east-1:651774330118:function:thumbnailer'})
Lambda reports no creation time: `created` is LastModified, the last code or configuration
change. `resource_class` is the Runtime, or the PackageType ('Image') for container images.
`size_bytes` is CodeSize (the deployment package). `parent_id` is the VPC for functions
attached to one, else the account. ListFunctions leaves State out on AWS (only GetFunction
has it), so `state` is 'Active' unless the reply says otherwise.
"""
from __future__ import annotations

from types import MappingProxyType

from polo.collectors.base import CONSOLE, CollectContext, Console, ResourceType, paginate
from polo.model import EMPTY, Resource, timestamp


def collect(ctx: CollectContext):
    lam = ctx.regional_client("lambda")
    for function in paginate(lam, "list_functions", "Functions"):
        arn = function.get("FunctionArn", "")
        listed = dict(lam.list_tags(Resource=arn).get("Tags") or {}) if arn else {}
        tags = MappingProxyType(listed) if listed else EMPTY
        vpc_id = (function.get("VpcConfig") or {}).get("VpcId") or ""
        yield Resource(
            account_id=ctx.account_id,
            region=ctx.region,
            resource_type=TYPE.name,
            resource_id=function["FunctionName"],
            name=function["FunctionName"],
            state=function.get("State") or "Active",
            parent_id=vpc_id or ctx.account_id,
            vpc_id=vpc_id,
            created=timestamp(function.get("LastModified")),
            resource_class=function.get("Runtime") or function.get("PackageType") or "",
            size_bytes=function.get("CodeSize"),
            tags=tags,
            details={"memory_mb": function.get("MemorySize"), "arn": arn},
        )


TYPE = ResourceType(
    name="lambda_function", collector="lambda_functions", collect=collect,
    console=Console(CONSOLE + "lambda/home?region={r}#/functions/{1}"),
    chain=2,
)
