"""Per-type gauges of the services that carry an ML estate's bill (EKS, Auto Scaling, ECS,
DynamoDB, ElastiCache, OpenSearch, SageMaker, ECR, CloudWatch Logs): one series per resource,
the identity labels only, read from the `details` their collectors fill (docs/metrics.md).
A value AWS did not give (None) has no series."""
from __future__ import annotations

from typing import Any, Callable, Iterator, Mapping, Sequence

from polo.render.exposition import Family, label_string
from polo.render.labels import AccountNames, identity_labels
from polo.model import Resource

DAY = 86400


def detail(key: str, scale: float = 1) -> Callable[[Mapping[str, Any]], Any]:
    def value(details: Mapping[str, Any]):
        found = details.get(key)
        if found is None:
            return None
        return int(found) if isinstance(found, bool) else found * scale
    return value


# (family, resource_type, help, value from details)
GAUGES: tuple[tuple[str, str, str, Callable[[Mapping[str, Any]], Any]], ...] = (
    ("polo_eks_cluster_nodegroups", "eks_cluster",
     "Managed node groups in an EKS cluster.", detail("nodegroups")),
    ("polo_eks_cluster_fargate_profiles", "eks_cluster",
     "Fargate profiles in an EKS cluster.", detail("fargate_profiles")),
    ("polo_eks_nodegroup_desired_nodes", "eks_nodegroup",
     "Desired node count of an EKS managed node group.", detail("desired_size")),
    ("polo_eks_nodegroup_min_nodes", "eks_nodegroup",
     "Minimum node count of an EKS managed node group.", detail("min_size")),
    ("polo_eks_nodegroup_max_nodes", "eks_nodegroup",
     "Maximum node count of an EKS managed node group.", detail("max_size")),
    ("polo_autoscaling_group_desired_instances", "autoscaling_group",
     "Desired capacity of an EC2 Auto Scaling group.", detail("desired_capacity")),
    ("polo_autoscaling_group_min_instances", "autoscaling_group",
     "Minimum size of an EC2 Auto Scaling group.", detail("min_size")),
    ("polo_autoscaling_group_max_instances", "autoscaling_group",
     "Maximum size of an EC2 Auto Scaling group.", detail("max_size")),
    ("polo_autoscaling_group_in_service_instances", "autoscaling_group",
     "Instances of an EC2 Auto Scaling group in the InService lifecycle state.", detail("in_service")),
    ("polo_ecs_service_desired_tasks", "ecs_service",
     "Desired task count of an ECS service.", detail("desired_tasks")),
    ("polo_ecs_service_running_tasks", "ecs_service",
     "Running task count of an ECS service.", detail("running_tasks")),
    ("polo_dynamodb_table_items", "dynamodb_table",
     "Items in a DynamoDB table (AWS refreshes the figure about every six hours).", detail("item_count")),
    ("polo_dynamodb_table_read_capacity_units", "dynamodb_table",
     "Provisioned read capacity units of a DynamoDB table (absent when on-demand).",
     detail("read_capacity_units")),
    ("polo_dynamodb_table_write_capacity_units", "dynamodb_table",
     "Provisioned write capacity units of a DynamoDB table (absent when on-demand).",
     detail("write_capacity_units")),
    ("polo_elasticache_cluster_nodes", "elasticache_cluster",
     "Cache nodes in an ElastiCache cluster.", detail("nodes")),
    ("polo_opensearch_domain_instances", "opensearch_domain",
     "Data nodes of an OpenSearch domain.", detail("instance_count")),
    ("polo_opensearch_domain_master_instances", "opensearch_domain",
     "Dedicated master nodes of an OpenSearch domain (0 without dedicated masters).",
     detail("master_count")),
    ("polo_sagemaker_endpoint_instances", "sagemaker_endpoint",
     "Instances serving a SageMaker endpoint, all production variants together.",
     detail("instance_count")),
    ("polo_sagemaker_endpoint_invocations_7d", "sagemaker_endpoint",
     "Invocations of a SageMaker endpoint over the last 7 days, all variants (CloudWatch Invocations).",
     detail("invocations_7d")),
    ("polo_ecr_repository_images", "ecr_repository",
     "Images in an ECR repository.", detail("image_count")),
    ("polo_ecr_repository_lifecycle_policy", "ecr_repository",
     "1 if the ECR repository has a lifecycle policy, else 0.", detail("lifecycle_policy")),
    ("polo_cloudwatch_log_group_retention_seconds", "cloudwatch_log_group",
     "How long a log group keeps its events (absent when they never expire).",
     detail("retention_days", DAY)),
)
VARIANT_LABELS = ("variant", "instance_type")


def service_families(by_type: Mapping[str, Sequence[Resource]], names: AccountNames) -> list[Family]:
    """The GAUGES families and the per-variant SageMaker family, streamed at render time."""
    def each(resource_type: str, value_of) -> Callable[[], Iterator[tuple[str, Any]]]:
        def samples():
            for resource in by_type.get(resource_type, ()):
                value = value_of(resource.details)
                if value is not None:
                    yield identity_labels(resource, names), value
        return samples

    def variant_samples():
        for resource in by_type.get("sagemaker_endpoint", ()):
            identity = identity_labels(resource, names)
            for variant, instance_type, count in resource.details.get("variants", ()):
                yield identity + "," + label_string(VARIANT_LABELS, (variant, instance_type)), count

    families = [Family(name, "gauge", text, stream=each(resource_type, value_of))
                for name, resource_type, text, value_of in GAUGES]
    families.append(Family("polo_sagemaker_endpoint_variant_instances", "gauge",
                           "Instances of one production variant of a SageMaker endpoint, by instance type.",
                           stream=variant_samples))
    return families
