"""Cleanup-action cases for the demo estate: for every rule of polo.actions, resources that must
be flagged and look-alikes that must not be (exempt-tagged, attached, too recent, AMI-backed,
healthy, busy, gp3, running, fully tagged, with nodes, with retention or a lifecycle policy,
small, stopped, just restarted).

`build_action_cases(accounts, regions, now, state_dir)` adds them in the first region of every
other account (the first, third, ...), through each account's own assumed role as
polo.demo.estate does, in a VPC of their own. Ages need a past that moto cannot fake through
its API, so this module, being the simulated AWS, backdates moto's own objects in-process
(stop times in the GMT StateTransitionReason format AWS uses, snapshot start times, NAT gateway,
load balancer and SageMaker endpoint creation times, a notebook's LastModifiedTime) and gives log
streams stored bytes their few events do not have. AWS reports no age for "unattached", "no
healthy targets", "no nodes" or "in service", so those cases are written into the first-seen
memory in `state_dir` instead, as if Polo had seen them days ago. EKS clusters are slow to
create in moto: the cases add three per account and reuse prod's 'serving' (polo.demo.services).
Needs moto in this process: `mock_aws`, or a ThreadedMotoServer at `endpoint_url`.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

from moto.backends import get_backend
from moto.core.utils import iso_8601_datetime_with_milliseconds

from polo.actions import first_seen
from polo.actions.rules import DAY, IN_SERVICE, NO_HEALTHY_TARGETS, NO_NODES, UNATTACHED
from polo.collectors.base import GIB
from polo.demo.estate import AccountClients, tag_spec, tags
from polo.demo.services import LIFECYCLE, image_manifest

EXEMPT = {"Key": "polo:keep", "Value": "demo"}  # ActionSettings' default exempt tag
TEAM = "platform"
CIDR = "172.31.0.0/16"
DB_SUBNET_GROUP = "actions-demo"
ROLE = "polo-demo-service"  # any role name: moto does not check it


@dataclass(frozen=True)
class Case:
    """One resource the demo placed for a rule, and whether the rule must flag it."""

    action: str
    account_id: str
    region: str
    resource_type: str
    resource_id: str
    flagged: bool
    why: str


@dataclass
class Builder:
    """Creates one account-region's cases and records them, with the memory seeds they need."""

    account_id: str
    region: str
    now: dt.datetime
    client: Any
    prod: bool = False  # prod accounts hold the estate's 'serving' EKS cluster
    cases: list[Case] = field(default_factory=list)
    seeds: dict[first_seen.Key, float] = field(default_factory=dict)

    def __post_init__(self):
        self.ec2 = self.client("ec2", self.region)
        self.backend = get_backend("ec2")[self.account_id][self.region]

    def case(self, action: str, resource_type: str, resource_id: str, flagged: bool, why: str) -> None:
        self.cases.append(Case(action, self.account_id, self.region, resource_type, resource_id,
                               flagged, why))

    def ago(self, days: float) -> dt.datetime:
        """`days` before now, as moto keeps times: naive UTC."""
        return (self.now - dt.timedelta(days=days)).astimezone(dt.timezone.utc).replace(tzinfo=None)

    def seen(self, resource_type: str, resource_id: str, condition: str, days: float) -> None:
        """Pretend Polo first saw the resource in `condition` `days` ago."""
        key = (self.account_id, self.region, resource_type, resource_id, condition)
        self.seeds[key] = self.now.timestamp() - days * DAY

    # --- building blocks ------------------------------------------------------------------

    def network(self) -> None:
        zones = [z["ZoneName"] for z in self.ec2.describe_availability_zones()["AvailabilityZones"]][:2]
        self.zone = zones[0]
        self.vpc_id = self.ec2.create_vpc(CidrBlock=CIDR, TagSpecifications=tag_spec(
            "vpc", tags("actions-demo", TEAM, "network")))["Vpc"]["VpcId"]
        self.subnet_ids = [self.ec2.create_subnet(
            VpcId=self.vpc_id, CidrBlock=f"172.31.{n}.0/24", AvailabilityZone=zone,
            TagSpecifications=tag_spec("subnet", tags(f"actions-demo-{n}", TEAM, "network")),
        )["Subnet"]["SubnetId"] for n, zone in enumerate(zones)]
        self.group_id = self.ec2.create_security_group(
            GroupName="actions-demo", Description="polo demo cleanup cases", VpcId=self.vpc_id,
            TagSpecifications=tag_spec("security-group", tags("actions-demo", TEAM, "network")),
        )["GroupId"]
        self.ami_id = self.ec2.register_image(Name="actions-demo-base", RootDeviceName="/dev/xvda")["ImageId"]
        self.client("rds", self.region).create_db_subnet_group(
            DBSubnetGroupName=DB_SUBNET_GROUP, DBSubnetGroupDescription="polo demo cleanup cases",
            SubnetIds=self.subnet_ids)

    def instance(self, name: str, *extra_tags: dict) -> str:
        """A running t3.small with a 20 GiB gp3 root volume."""
        return self.ec2.run_instances(
            ImageId=self.ami_id, MinCount=1, MaxCount=1, InstanceType="t3.small",
            SubnetId=self.subnet_ids[0], SecurityGroupIds=[self.group_id],
            BlockDeviceMappings=[{"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 20, "VolumeType": "gp3"}}],
            TagSpecifications=tag_spec("instance", tags(name, TEAM, "batch") + list(extra_tags)),
        )["Instances"][0]["InstanceId"]

    def stop(self, instance_id: str, days_ago: float) -> None:
        self.ec2.stop_instances(InstanceIds=[instance_id])
        when = self.ago(days_ago)
        self.backend.get_instance(instance_id)._reason = f"User initiated ({when:%Y-%m-%d %H:%M:%S} GMT)"

    def volume(self, name: str, size: int, volume_type: str, tag_list: list[dict] | None = None,
               attach_to: str = "", device: str = "/dev/sdf", days_old: float = 30) -> str:
        volume_id = self.ec2.create_volume(
            AvailabilityZone=self.zone, Size=size, VolumeType=volume_type,
            TagSpecifications=tag_spec("volume", tags(name, TEAM, "batch") if tag_list is None else tag_list),
        )["VolumeId"]
        self.backend.get_volume(volume_id).create_time = self.ago(days_old)
        if attach_to:
            self.ec2.attach_volume(VolumeId=volume_id, InstanceId=attach_to, Device=device)
        return volume_id

    def snapshot(self, volume_id: str, name: str, days_old: float) -> str:
        snapshot_id = self.ec2.create_snapshot(
            VolumeId=volume_id, Description=name,
            TagSpecifications=tag_spec("snapshot", tags(name, TEAM, "backup")))["SnapshotId"]
        self.backend.snapshots[snapshot_id].start_time = self.ago(days_old)
        return snapshot_id

    def address(self, name: str, *extra_tags: dict, instance_id: str = "") -> str:
        allocation_id = self.ec2.allocate_address(Domain="vpc", TagSpecifications=tag_spec(
            "elastic-ip", tags(name, TEAM, "network") + list(extra_tags)))["AllocationId"]
        if instance_id:
            self.ec2.associate_address(AllocationId=allocation_id, InstanceId=instance_id)
        return allocation_id

    def nat_gateway(self, name: str, days_old: float, daily_bytes: float) -> str:
        """A NAT gateway with 7 days of BytesOutToDestination datapoints (zeros when idle)."""
        gateway_id = self.ec2.create_nat_gateway(
            SubnetId=self.subnet_ids[0], AllocationId=self.address(f"{name}-ip"),
            TagSpecifications=tag_spec("natgateway", tags(name, TEAM, "network")),
        )["NatGateway"]["NatGatewayId"]
        self.backend.nat_gateways[gateway_id]._created_at = self.ago(days_old)
        self.client("cloudwatch", self.region).put_metric_data(Namespace="AWS/NATGateway", MetricData=[{
            "MetricName": "BytesOutToDestination",
            "Dimensions": [{"Name": "NatGatewayId", "Value": gateway_id}],
            "Timestamp": self.now - dt.timedelta(days=day, hours=2),
            "Value": daily_bytes, "Unit": "Bytes",
        } for day in range(min(7, int(days_old) + 1))])
        return gateway_id

    def load_balancer(self, name: str, targets: Sequence[str]) -> str:
        elb = self.client("elbv2", self.region)
        arn = elb.create_load_balancer(Name=name, Subnets=self.subnet_ids, SecurityGroups=[self.group_id],
                                       Type="application", Tags=tags(name, TEAM, "web"),
                                       )["LoadBalancers"][0]["LoadBalancerArn"]
        group_arn = elb.create_target_group(Name=f"{name}-tg", Protocol="HTTP", Port=8080, VpcId=self.vpc_id,
                                            TargetType="instance")["TargetGroups"][0]["TargetGroupArn"]
        if targets:
            elb.register_targets(TargetGroupArn=group_arn, Targets=[{"Id": t, "Port": 8080} for t in targets])
        elb.create_listener(LoadBalancerArn=arn, Protocol="HTTP", Port=80,
                            DefaultActions=[{"Type": "forward", "TargetGroupArn": group_arn}])
        balancer = get_backend("elbv2")[self.account_id][self.region].load_balancers[arn]
        balancer.created_time = iso_8601_datetime_with_milliseconds(self.ago(30))
        return arn

    def database(self, identifier: str, stopped: bool) -> str:
        rds = self.client("rds", self.region)
        rds.create_db_instance(
            DBInstanceIdentifier=identifier, DBInstanceClass="db.t3.micro", Engine="postgres",
            AllocatedStorage=20, StorageType="gp3", MasterUsername="polo",
            MasterUserPassword="polo-demo-password", DBSubnetGroupName=DB_SUBNET_GROUP,
            VpcSecurityGroupIds=[self.group_id], Tags=tags(identifier, TEAM, "db"))
        if stopped:
            rds.stop_db_instance(DBInstanceIdentifier=identifier)
        return identifier

    def role(self) -> str:
        return f"arn:aws:iam::{self.account_id}:role/{ROLE}"

    def endpoint_config(self) -> None:
        """The model and one-instance configuration every endpoint() serves."""
        sagemaker = self.client("sagemaker", self.region)
        sagemaker.create_model(ModelName="actions-ranker", ExecutionRoleArn=self.role(),
                               PrimaryContainer={"Image": "ranker:1"})
        sagemaker.create_endpoint_config(EndpointConfigName="actions-ranker", ProductionVariants=[
            {"VariantName": "primary", "ModelName": "actions-ranker", "InstanceType": "ml.m5.large",
             "InitialInstanceCount": 1}])

    def endpoint(self, name: str, days_old: float, daily_invocations: float) -> str:
        """A SageMaker endpoint with 7 days of Invocations datapoints (none when 0)."""
        sagemaker = self.client("sagemaker", self.region)
        sagemaker.create_endpoint(EndpointName=name, EndpointConfigName="actions-ranker",
                                  Tags=tags(name, TEAM, "ranking"))
        get_backend("sagemaker")[self.account_id][self.region].endpoints[name].creation_time = self.ago(days_old)
        if daily_invocations:
            self.client("cloudwatch", self.region).put_metric_data(Namespace="AWS/SageMaker", MetricData=[{
                "MetricName": "Invocations",
                "Dimensions": [{"Name": "EndpointName", "Value": name}, {"Name": "VariantName", "Value": "primary"}],
                "Timestamp": self.now - dt.timedelta(days=day, hours=2), "Value": daily_invocations,
            } for day in range(7)])
        return name

    def cluster(self, name: str, fargate: bool = False) -> str:
        eks = self.client("eks", self.region)
        eks.create_cluster(name=name, roleArn=self.role(), tags={"team": TEAM, "service": "k8s"},
                           resourcesVpcConfig={"subnetIds": self.subnet_ids})
        if fargate:
            eks.create_fargate_profile(fargateProfileName="jobs", clusterName=name, podExecutionRoleArn=self.role(),
                                       selectors=[{"namespace": "jobs"}])
        return name

    def log_group(self, name: str, stored_gib: float, retention_days: int | None = None,
                  *extra_tags: dict) -> str:
        """A log group with one event, whose stream moto is told stores `stored_gib`."""
        logs = self.client("logs", self.region)
        logs.create_log_group(logGroupName=name, tags={t["Key"]: t["Value"] for t in
                                                       tags(None, TEAM, "logging") + list(extra_tags)})
        if retention_days:
            logs.put_retention_policy(logGroupName=name, retentionInDays=retention_days)
        logs.create_log_stream(logGroupName=name, logStreamName="main")
        logs.put_log_events(logGroupName=name, logStreamName="main", logEvents=[
            {"timestamp": int(self.now.timestamp() * 1000), "message": "started"}])
        stream = get_backend("logs")[self.account_id][self.region].groups[name].streams["main"]
        stream.stored_bytes = max(stream.stored_bytes, int(stored_gib * GIB))
        return name

    def repository(self, name: str, images: int, image_bytes: int, lifecycle: bool,
                   *extra_tags: dict) -> str:
        ecr = self.client("ecr", self.region)
        ecr.create_repository(repositoryName=name, tags=tags(None, TEAM, "ml") + list(extra_tags))
        if lifecycle:
            ecr.put_lifecycle_policy(repositoryName=name, lifecyclePolicyText=LIFECYCLE)
        for n in range(images):
            ecr.put_image(repositoryName=name, imageTag=f"v{n}",
                          imageManifest=image_manifest(f"{self.account_id}-{name}-{n}", image_bytes))
        return name

    def notebook(self, name: str, modified_days_ago: float = 0) -> str:
        """An InService notebook whose LastModifiedTime (a start moves it) is `days_ago` back."""
        self.client("sagemaker", self.region).create_notebook_instance(
            NotebookInstanceName=name, RoleArn=self.role(), InstanceType="ml.t3.medium", VolumeSizeInGB=20,
            Tags=tags(name, TEAM, "research"))
        notebook = get_backend("sagemaker")[self.account_id][self.region].notebook_instances[name]
        notebook.last_modified_time = self.ago(modified_days_ago)
        return name

    # --- the cases, rule by rule ------------------------------------------------------------

    def build(self) -> None:
        self.network()
        web = self.instance("actions-web")
        self.case("stopped_instance", "ec2_instance", web, False, "running")

        volume = self.volume("actions-idle-data", 50, "gp3")
        self.seen("ebs_volume", volume, UNATTACHED, 3)
        self.case("unattached_volume", "ebs_volume", volume, True, "unattached for 3 days")
        kept = self.volume("actions-kept-data", 50, "gp3",
                           tags("actions-kept-data", TEAM, "batch") + [EXEMPT])
        self.seen("ebs_volume", kept, UNATTACHED, 3)
        self.case("unattached_volume", "ebs_volume", kept, False, "exempt-tagged")
        fresh = self.volume("actions-just-detached", 50, "gp3")
        self.case("unattached_volume", "ebs_volume", fresh, False, "unattached for minutes")
        attached = self.volume("actions-web-data", 50, "gp3", attach_to=web)
        self.case("unattached_volume", "ebs_volume", attached, False, "attached")

        self.case("idle_elastic_ip", "elastic_ip", self.address("actions-spare-ip"), True, "unassociated")
        self.case("idle_elastic_ip", "elastic_ip", self.address("actions-kept-ip", EXEMPT), False,
                  "exempt-tagged")
        self.case("idle_elastic_ip", "elastic_ip", self.address("actions-web-ip", instance_id=web), False,
                  "associated")

        old = self.instance("actions-old-batch")
        self.stop(old, 30)
        self.case("stopped_instance", "ec2_instance", old, True, "stopped 30 days ago")
        recent = self.instance("actions-paused-batch")
        self.stop(recent, 2)
        self.case("stopped_instance", "ec2_instance", recent, False, "stopped 2 days ago")
        exempt = self.instance("actions-kept-batch", EXEMPT)
        self.stop(exempt, 30)
        self.case("stopped_instance", "ec2_instance", exempt, False, "exempt-tagged")

        scratch = self.volume("actions-gone", 80, "gp3")
        orphan = self.snapshot(scratch, "actions-gone-old", 120)
        young = self.snapshot(scratch, "actions-gone-recent", 10)
        self.ec2.delete_volume(VolumeId=scratch)
        self.case("orphaned_snapshot", "ebs_snapshot", orphan, True, "120 days old, volume deleted")
        self.case("orphaned_snapshot", "ebs_snapshot", young, False, "10 days old")
        live = self.snapshot(attached, "actions-web-data-old", 120)
        self.case("orphaned_snapshot", "ebs_snapshot", live, False, "source volume exists")
        image = self.ec2.describe_images(ImageIds=[self.ami_id])["Images"][0]
        ami_snapshot = image["BlockDeviceMappings"][0]["Ebs"]["SnapshotId"]
        self.backend.snapshots[ami_snapshot].start_time = self.ago(200)
        self.case("orphaned_snapshot", "ebs_snapshot", ami_snapshot, False, "used by an AMI")

        stopped_target = self.instance("actions-api-down", EXEMPT)
        empty = self.load_balancer("actions-empty", [])
        self.seen("load_balancer", empty, NO_HEALTHY_TARGETS, 2)
        self.case("idle_load_balancer", "load_balancer", empty, True, "no targets for 2 days")
        down = self.load_balancer("actions-down", [stopped_target])
        self.stop(stopped_target, 2)
        self.seen("load_balancer", down, NO_HEALTHY_TARGETS, 2)
        self.case("idle_load_balancer", "load_balancer", down, True, "only target stopped for 2 days")
        healthy = self.load_balancer("actions-live", [web])
        self.case("idle_load_balancer", "load_balancer", healthy, False, "healthy target")
        new = self.load_balancer("actions-new", [])
        self.case("idle_load_balancer", "load_balancer", new, False, "no targets for minutes")

        self.case("idle_nat_gateway", "nat_gateway", self.nat_gateway("actions-idle-egress", 30, 0.0), True,
                  "30 days old, zero bytes out")
        self.case("idle_nat_gateway", "nat_gateway", self.nat_gateway("actions-busy-egress", 30, 4e9), False,
                  "traffic")
        self.case("idle_nat_gateway", "nat_gateway", self.nat_gateway("actions-new-egress", 2, 0.0), False,
                  "2 days old")

        gp2 = self.volume("actions-web-logs", 100, "gp2", attach_to=web, device="/dev/sdg")
        self.case("gp2_to_gp3", "ebs_volume", gp2, True, "attached gp2")
        self.case("gp2_to_gp3", "ebs_volume", attached, False, "gp3 already")

        self.case("stopped_rds_instance", "rds_instance", self.database("actions-paused-db", True), True,
                  "stopped")
        self.case("stopped_rds_instance", "rds_instance", self.database("actions-live-db", False), False,
                  "running")

        untagged = self.volume("", 10, "gp3", tag_list=[], attach_to=web, device="/dev/sdh")
        self.case("missing_tags", "ebs_volume", untagged, True, "no tags at all")
        self.case("missing_tags", "ebs_volume", attached, False, "team and service tags")
        self.build_services()

    def build_services(self) -> None:
        """The rules of the container, log and ML services."""
        rule = "idle_sagemaker_endpoint"
        self.endpoint_config()
        self.case(rule, "sagemaker_endpoint", self.endpoint("actions-idle-ranker", 30, 0.0), True,
                  "30 days old, no invocations")
        self.case(rule, "sagemaker_endpoint", self.endpoint("actions-busy-ranker", 30, 5000.0), False,
                  "invocations every day")
        self.case(rule, "sagemaker_endpoint", self.endpoint("actions-new-ranker", 2, 0.0), False, "2 days old")

        rule = "idle_eks_cluster"
        idle = self.cluster("actions-idle-cluster")
        self.seen("eks_cluster", idle, NO_NODES, 10)
        self.case(rule, "eks_cluster", idle, True, "no node group, Fargate profile or node for 10 days")
        self_managed = self.cluster("actions-self-managed")
        self.seen("eks_cluster", self_managed, NO_NODES, 10)
        self.instance("actions-k8s-node", {"Key": f"kubernetes.io/cluster/{self_managed}", "Value": "owned"})
        self.case(rule, "eks_cluster", self_managed, False, "a self-managed node (tagged instance)")
        fargate = self.cluster("actions-fargate", fargate=True)
        self.seen("eks_cluster", fargate, NO_NODES, 10)
        self.case(rule, "eks_cluster", fargate, False, "a Fargate profile")
        if self.prod:
            self.seen("eks_cluster", "serving", NO_NODES, 10)
            self.case(rule, "eks_cluster", "serving", False, "a node group (the estate's)")

        rule = "log_group_never_expires"
        self.case(rule, "cloudwatch_log_group", self.log_group("/actions/debug", 20), True,
                  "20 GiB, never expires")
        self.case(rule, "cloudwatch_log_group", self.log_group("/actions/app", 20, 14), False, "14-day retention")
        self.case(rule, "cloudwatch_log_group", self.log_group("/actions/cron", 0), False, "one event stored")
        self.case(rule, "cloudwatch_log_group", self.log_group("/actions/audit", 20, None, EXEMPT), False,
                  "exempt-tagged")

        rule = "ecr_no_lifecycle"
        self.case(rule, "ecr_repository", self.repository("actions-training", 3, 2_000_000_000, False), True,
                  "6 GB of images, no lifecycle policy")
        self.case(rule, "ecr_repository", self.repository("actions-serving", 3, 2_000_000_000, True), False,
                  "lifecycle policy")
        self.case(rule, "ecr_repository", self.repository("actions-tools", 1, 50_000_000, False), False,
                  "50 MB of images")

        rule = "notebook_left_running"
        forgotten = self.notebook("actions-forgotten", modified_days_ago=10)
        self.seen("sagemaker_notebook", forgotten, IN_SERVICE, 10)
        self.case(rule, "sagemaker_notebook", forgotten, True, "in service for 10 days")
        restarted = self.notebook("actions-restarted")
        self.seen("sagemaker_notebook", restarted, IN_SERVICE, 10)
        self.case(rule, "sagemaker_notebook", restarted, False, "started again minutes ago (LastModifiedTime)")
        # the estate's 'research' notebook: stopped in dev, just started in prod
        self.case(rule, "sagemaker_notebook", "research", False,
                  "in service for minutes" if self.prod else "stopped")


def build_action_cases(accounts: Iterable[Any], regions: Sequence[str], now: dt.datetime,
                       state_dir: str | Path | None = None, endpoint_url: str | None = None,
                       clients: AccountClients | None = None) -> list[Case]:
    """Add the cases to the first region of every other account; with `state_dir`, also merge
    their first-seen seeds into its memory file. Returns every case placed."""
    cases: list[Case] = []
    seeds: dict[first_seen.Key, float] = {}
    clients = clients or AccountClients(endpoint_url)
    for account in list(accounts)[::2]:
        builder = Builder(account.id, regions[0], now, clients(account.id),
                          prod=account.environment == "prod")
        builder.build()
        cases += builder.cases
        seeds.update(builder.seeds)
    if state_dir is not None:
        path = Path(state_dir) / first_seen.FILE_NAME
        first_seen.save(path, {**seeds, **first_seen.load(path)})
    return cases
