"""EC2 Auto Scaling groups (DescribeAutoScalingGroups, all pages; tags come in the reply).

Yields, e.g.:
    Resource(account_id='651774330118', region='us-east-1', resource_type='autoscaling_group',
             resource_id='workers', name='workers', state='active', parent_id='subnet-1',
             subnet_id='subnet-1', created=1719000000.0, resource_class='workers-lt',
             details={'desired_capacity': 3, 'min_size': 1, 'max_size': 6, 'in_service': 3,
                      'arn': 'arn:aws:autoscaling:us-east-1:651774330118:autoScalingGroup:...'})
`resource_class` is the launch template's (or launch configuration's) name. `parent_id` and
`subnet_id` are the first subnet of VPCZoneIdentifier, else the account. `state` is
'deleting' while AWS deletes the group, else 'active'. The instances are EC2 instances and
are priced as such; the group itself costs nothing.
"""
from __future__ import annotations

from polo.collectors.base import EC2_CONSOLE, CollectContext, Console, Gauge, ResourceType, detail, paginate
from polo.model import Resource, tag_dict, timestamp


def launch_source(group: dict) -> str:
    template = group.get("LaunchTemplate") or (
        (group.get("MixedInstancesPolicy") or {}).get("LaunchTemplate") or {}).get(
        "LaunchTemplateSpecification") or {}
    return template.get("LaunchTemplateName") or group.get("LaunchConfigurationName") or ""


def collect(ctx: CollectContext):
    autoscaling = ctx.regional_client("autoscaling")
    for group in paginate(autoscaling, "describe_auto_scaling_groups", "AutoScalingGroups"):
        subnets = [s for s in (group.get("VPCZoneIdentifier") or "").split(",") if s]
        in_service = sum(1 for i in group.get("Instances") or () if i.get("LifecycleState") == "InService")
        yield Resource(
            account_id=ctx.account_id,
            region=ctx.region,
            resource_type=TYPE.name,
            resource_id=group["AutoScalingGroupName"],
            name=group["AutoScalingGroupName"],
            state="deleting" if group.get("Status") == "Delete in progress" else "active",
            parent_id=subnets[0] if subnets else ctx.account_id,
            subnet_id=subnets[0] if subnets else "",
            created=timestamp(group.get("CreatedTime")),
            resource_class=launch_source(group),
            tags=tag_dict(group.get("Tags")),
            details={"desired_capacity": group.get("DesiredCapacity"), "min_size": group.get("MinSize"),
                     "max_size": group.get("MaxSize"), "in_service": in_service,
                     "arn": group.get("AutoScalingGroupARN", "")},
        )


TYPE = ResourceType(
    name="autoscaling_group", collector="autoscaling_groups", collect=collect,
    gauges=(
        Gauge("polo_autoscaling_group_desired_instances", "Desired capacity of an EC2 Auto Scaling group.",
              detail("desired_capacity")),
        Gauge("polo_autoscaling_group_min_instances", "Minimum size of an EC2 Auto Scaling group.",
              detail("min_size")),
        Gauge("polo_autoscaling_group_max_instances", "Maximum size of an EC2 Auto Scaling group.",
              detail("max_size")),
        Gauge("polo_autoscaling_group_in_service_instances",
              "Instances of an EC2 Auto Scaling group in the InService lifecycle state.", detail("in_service")),
    ),
    console=Console(EC2_CONSOLE + "AutoScalingGroupDetails:id={1}"),
)
