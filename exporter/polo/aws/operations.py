"""The AWS operations Polo calls, by botocore service name; its clients know no other.

botocore builds every client a method (and an operation model) per operation of its service,
hundreds for EC2, and parses each service's whole model once: much of what a client costs to
make and to keep, for a few operations used (docs/benchmarks.md has the figures). The loader below cuts each listed
service's model down to these operations and the shapes they reach, so a client is a few
methods, and an operation missing here fails in Polo before any request (a mutating call
cannot leave it). README's IAM policies list the same actions
(tests/unit/test_operations.py), and the end-to-end test checks them against what a full
sweep calls. Services not listed load whole.
"""
from __future__ import annotations

import os
import threading
from typing import Any

from botocore.loaders import JSONFileLoader, Loader

CALLED: dict[str, frozenset[str]] = {service: frozenset(operations) for service, operations in {
    "autoscaling": {"DescribeAutoScalingGroups"},
    "ce": {"GetCostAndUsage", "GetCostForecast"},
    "cloudwatch": {"GetMetricData"},
    "dynamodb": {"DescribeTable", "ListTables", "ListTagsOfResource"},
    "ec2": {"DescribeAddresses", "DescribeImages", "DescribeInstances", "DescribeNatGateways",
            "DescribeSecurityGroups", "DescribeSnapshots", "DescribeSubnets", "DescribeVolumes", "DescribeVpcs"},
    "ecr": {"DescribeImages", "DescribeRepositories", "GetLifecyclePolicy", "ListTagsForResource"},
    "ecs": {"DescribeServices", "ListClusters", "ListServices"},
    "eks": {"DescribeCluster", "DescribeNodegroup", "ListClusters", "ListFargateProfiles", "ListNodegroups"},
    "elasticache": {"DescribeCacheClusters", "ListTagsForResource"},
    "elbv2": {"DescribeLoadBalancers", "DescribeTags", "DescribeTargetGroups", "DescribeTargetHealth"},
    "lambda": {"ListFunctions", "ListTags"},
    "logs": {"DescribeLogGroups", "ListTagsForResource"},
    "opensearch": {"DescribeDomains", "ListDomainNames", "ListTags"},
    "organizations": {"DescribeOrganizationalUnit", "ListAccounts", "ListParents", "ListTagsForResource"},
    "pricing": {"GetProducts"},
    "rds": {"DescribeDBInstances"},
    "s3": {"GetBucketLocation", "GetBucketTagging", "GetObject", "GetPublicAccessBlock", "ListBuckets",
           "ListObjectsV2"},
    "sagemaker": {"DescribeEndpoint", "DescribeEndpointConfig", "DescribeNotebookInstance", "ListEndpoints",
                  "ListNotebookInstances", "ListTags"},
}.items()}


# IAM names that differ from `<service>:<Operation>`
IAM_PREFIX = {"elbv2": "elasticloadbalancing", "opensearch": "es"}
IAM_RENAMED = {("s3", "ListBuckets"): "s3:ListAllMyBuckets",
               ("s3", "GetPublicAccessBlock"): "s3:GetBucketPublicAccessBlock",
               ("s3", "ListObjectsV2"): "s3:ListBucket"}


def iam_action(service: str, operation: str) -> str:
    """The IAM action that allows `operation` of botocore's `service`."""
    return IAM_RENAMED.get((service, operation), f"{IAM_PREFIX.get(service, service)}:{operation}")


def cut_model(model: dict[str, Any], operations: frozenset[str]) -> dict[str, Any]:
    """`model` (a service-2 document) with only `operations`, the shapes they reach and every
    error shape (clients build their exception classes from those)."""
    unknown = operations - model["operations"].keys()
    if unknown:
        raise ValueError(f"{model['metadata'].get('endpointPrefix')} has no operation {', '.join(sorted(unknown))}")
    kept = {name: op for name, op in model["operations"].items() if name in operations}
    shapes = model["shapes"]
    pending = [ref["shape"] for op in kept.values()
               for ref in (op.get("input"), op.get("output"), *op.get("errors", ())) if ref]
    pending += [name for name, shape in shapes.items() if shape.get("exception")]
    reached: set[str] = set()
    while pending:
        name = pending.pop()
        if name in reached:
            continue
        reached.add(name)
        shape = shapes[name]
        pending += [member["shape"] for member in shape.get("members", {}).values()]
        pending += [shape[part]["shape"] for part in ("member", "key", "value") if part in shape]
    return {**model, "operations": kept, "shapes": {name: shapes[name] for name in shapes if name in reached}}


class CalledOperationsFiles(JSONFileLoader):
    """botocore's model files, each listed service's `service-2` cut to CALLED's operations as
    it is read, so no loader cache ever holds a whole model."""

    def load_file(self, file_path):
        data = super().load_file(file_path)
        service, _version, kind = (["", ""] + file_path.replace(os.sep, "/").split("/"))[-3:]
        if data is not None and kind == "service-2" and service in CALLED:
            return cut_model(data, CALLED[service])
        return data


class SharedLoader(Loader):
    """One loader for every session and sweep thread, its models cut to CALLED's operations.
    botocore caches what a loader loads, but only once loaded: the first clients of a service
    all ask at once (each one's first paginator), and each of them scanned botocore's data
    folders and read the same file, dozens of times over on a fresh start. Here one thread loads
    and the others find it cached."""

    def __init__(self) -> None:
        super().__init__(file_loader=CalledOperationsFiles())
        self._loading = threading.RLock()

    def load_service_model(self, service_name, type_name, api_version=None):
        with self._loading:
            return super().load_service_model(service_name, type_name, api_version)

    def load_data(self, name):
        with self._loading:
            return super().load_data(name)


def called_operations_loader() -> Loader:
    """A botocore loader whose service models hold only CALLED's operations."""
    return SharedLoader()
