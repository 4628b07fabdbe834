"""SageMaker notebook instances (ListNotebookInstances, all pages; DescribeNotebookInstance
and ListTags, all pages, each).

Yields, e.g.:
    Resource(account_id='651774330118', region='us-east-1', resource_type='sagemaker_notebook',
             resource_id='research', name='research', state='InService', parent_id='subnet-1',
             subnet_id='subnet-1', created=1719000000.0, resource_class='ml.t3.medium',
             size_bytes=5368709120,
             details={'last_modified': 1719500000.0,
                      'arn': 'arn:aws:sagemaker:us-east-1:651774330118:notebook-instance/research'})
`state` is the NotebookInstanceStatus (InService bills the instance by the hour; Stopped bills
only the volume). `size_bytes` is the ML storage volume. `parent_id` is the subnet, else the
account.
"""
from __future__ import annotations

import re
from typing import Sequence

from polo.collectors.base import (
    CONSOLE, GIB, CollectContext, Console, PriceQuery, Prices, ResourceType, paginate,
)
from polo.model import Resource, tag_dict, timestamp


def collect(ctx: CollectContext):
    sagemaker = ctx.regional_client("sagemaker")
    for summary in paginate(sagemaker, "list_notebook_instances", "NotebookInstances"):
        name = summary["NotebookInstanceName"]
        notebook = sagemaker.describe_notebook_instance(NotebookInstanceName=name)
        arn = notebook.get("NotebookInstanceArn", "")
        subnet = notebook.get("SubnetId") or ""
        volume = notebook.get("VolumeSizeInGB")
        yield Resource(
            account_id=ctx.account_id,
            region=ctx.region,
            resource_type=TYPE.name,
            resource_id=name,
            name=name,
            state=notebook.get("NotebookInstanceStatus", ""),
            parent_id=subnet or ctx.account_id,
            subnet_id=subnet,
            created=timestamp(notebook.get("CreationTime")),
            resource_class=notebook.get("InstanceType", ""),
            size_bytes=volume * GIB if volume is not None else None,
            tags=tag_dict(list(paginate(sagemaker, "list_tags", "Tags", ResourceArn=arn)) if arn else None),
            details={"last_modified": timestamp(notebook.get("LastModifiedTime")), "arn": arn},
        )


def price(prices: Prices, r: Resource) -> float | None:
    """The instance while InService, plus its ML storage volume always."""
    compute = compute_cost(prices, r)
    storage = storage_cost(prices, r)
    return None if compute is None or storage is None else compute + storage


def compute_cost(prices: Prices, r: Resource) -> float | None:
    """What stopping the notebook saves: its instance hours (the volume stays)."""
    if r.state != "InService":
        return 0.0
    return prices.monthly(prices.lookup(r.region, "sagemaker_notebook_hourly", r.resource_class))


def storage_cost(prices: Prices, r: Resource) -> float | None:
    if not r.size_bytes:
        return 0.0
    per_gb = prices.lookup(r.region, "sagemaker_storage_gb_month")
    return None if per_gb is None else per_gb * r.size_bytes / GIB


def price_queries(region: str, kind: str, classes: Sequence[str]) -> PriceQuery | None:
    match kind, classes:
        case "sagemaker_notebook_hourly", [instance_type]:
            return PriceQuery.of("AmazonSageMaker", "Notebk:" + re.escape(instance_type) + "$", region,
                                 productFamily="ML Instance", instanceType=instance_type, component="Notebook")
        case "sagemaker_storage_gb_month", []:
            return PriceQuery.of("AmazonSageMaker", r"Notebk:VolumeUsage", region, productFamily="ML Storage")
    return None


TYPE = ResourceType(
    name="sagemaker_notebook", collector="sagemaker_notebooks", collect=collect,
    price=price, price_queries=price_queries,
    console=Console(CONSOLE + "sagemaker/home?region={r}#/notebook-instances/{1}"),
    chain=3,
)
