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

from polo.collectors.base import GIB, CollectContext, paginate
from polo.model import Resource, tag_dict, timestamp

NAME = "sagemaker_notebooks"
SCOPE = "regional"


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
            resource_type="sagemaker_notebook",
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
