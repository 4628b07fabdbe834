"""A deterministic, realistic AWS estate for the demo and the tests, built through boto3.

`build_estate(accounts, regions, now)` runs against whatever AWS the environment points at
(moto's `mock_aws()` in the demo and the tests; `endpoint_url` for a moto server). For every
account it assumes `arn:aws:iam::<id>:role/PoloReadOnly`, so each account's resources land in
that account's own backend, and builds:

* in the first two regions, a full estate:
  - the default VPC removed (as a landing zone does), one VPC with two subnets in two AZs;
  - security groups: 'app' (8080 from the VPC only) everywhere, 'alb-public' (443 from the
    world) in prod, 'ssh-open' (22/tcp from 0.0.0.0/0 and ::/0) in every third account and
    an untagged 'legacy-any' (all traffic from 0.0.0.0/0) in some accounts; each VPC also
    has its 'default' group;
  - one registered AMI per region (moto gives it its own snapshot), plus a backup AMI made
    with CreateImage from a running instance in prod: snapshots referenced by AMIs;
  - running and stopped instances in reservations of at most 10, each with a root volume
    (gp3 in prod, gp2 in dev), every fifth one untagged;
  - attached gp3 data volumes, unattached gp2/gp3 volumes (some untagged), snapshots of
    data volumes that no AMI references;
  - an Elastic IP on an instance and an idle one; in prod a NAT gateway with its own EIP
    (CloudWatch BytesOutToDestination seeded for the first region's gateway only, so the
    second one looks idle);
  - ALBs: 'web' with healthy targets (dev: first region only), 'api' in prod with one
    healthy and one stopped target, and in every other account an untagged 'old' ALB whose
    target group has no targets;
  - RDS instances in a DB subnet group (prod: orders and reporting, dev: one in the first
    region, stopped in every second dev account);
  - Lambda functions, one of them attached to the VPC, some untagged;
  - EKS, Auto Scaling, ECS, DynamoDB, ElastiCache, OpenSearch, SageMaker, ECR and CloudWatch
    Logs resources (polo.demo.services);
* in any further region a light footprint: VPC, two subnets, one AMI and one instance;
* per account (S3 is global): buckets in different regions, all but one with a public
  access block, one untagged.

Prod accounts are about twice the size of dev accounts. Everything is arithmetic on the
account's and region's position, so the same inputs always give the same estate (AWS ids
themselves are random). The only use of `now` is for the CloudWatch datapoints.

The return value is a summary per account id: counts per resource_type (exactly what the
collectors should find, implicit resources such as default security groups, root volumes and
AMI snapshots included) and the handles (ids) per region, so that other code can add to the
estate, e.g. cleanup-action cases. `AccountEstate.client(service, region)` gives clients in
the account.
"""
from __future__ import annotations

import datetime as dt
import io
import logging
import re
import threading
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

import boto3

from polo.demo.services import build_services

log = logging.getLogger(__name__)
ROLE_NAME = "PoloReadOnly"
LAMBDA_ROLE_NAME = "polo-demo-lambda"
FULL_REGIONS = 2  # regions (in config order) that get the full estate
TEAMS = ("payments", "search", "platform", "data")
MAX_LABEL = 40


@dataclass
class RegionEstate:
    """Ids of what was created in one account and region."""

    region: str
    vpc_id: str = ""
    subnet_ids: list[str] = field(default_factory=list)
    availability_zones: list[str] = field(default_factory=list)
    security_group_ids: dict[str, str] = field(default_factory=dict)  # name -> id ('default' included)
    ami_ids: list[str] = field(default_factory=list)
    running_instance_ids: list[str] = field(default_factory=list)
    stopped_instance_ids: list[str] = field(default_factory=list)
    attached_volume_ids: list[str] = field(default_factory=list)  # data volumes, roots excluded
    unattached_volume_ids: list[str] = field(default_factory=list)
    snapshot_ids: list[str] = field(default_factory=list)  # taken from volumes, no AMI uses them
    ami_snapshot_ids: list[str] = field(default_factory=list)
    associated_allocation_ids: list[str] = field(default_factory=list)
    idle_allocation_ids: list[str] = field(default_factory=list)
    nat_gateway_ids: list[str] = field(default_factory=list)
    load_balancer_arns: dict[str, str] = field(default_factory=dict)  # name -> arn
    target_group_arns: dict[str, str] = field(default_factory=dict)
    db_instance_ids: list[str] = field(default_factory=list)
    stopped_db_instance_ids: list[str] = field(default_factory=list)
    function_names: list[str] = field(default_factory=list)
    service_ids: list[str] = field(default_factory=list)  # polo.demo.services' resource ids
    counts: Counter = field(default_factory=Counter)  # resource_type -> number


@dataclass
class AccountEstate:
    account_id: str
    name: str
    environment: str
    label: str  # the name made safe for resource names
    client: Callable[[str, str], Any]  # (service, region) -> boto3 client in this account
    regions: dict[str, RegionEstate] = field(default_factory=dict)
    buckets: dict[str, str] = field(default_factory=dict)  # bucket -> region
    open_buckets: list[str] = field(default_factory=list)  # without a public access block
    lambda_role_arn: str = ""
    global_counts: Counter = field(default_factory=Counter)  # S3

    @property
    def counts(self) -> dict[str, int]:
        """resource_type -> number, over all regions and S3."""
        total = Counter(self.global_counts)
        for region in self.regions.values():
            total.update(region.counts)
        return dict(total)

    def __getitem__(self, key: str):  # summary["<id>"]["counts"] reads like a dict
        return getattr(self, key)


# --- access -----------------------------------------------------------------------------------

def account_client_factory(account_id: str, endpoint_url: str | None = None,
                           base: boto3.Session | None = None,
                           lock: threading.Lock | None = None) -> Callable[[str, str], Any]:
    """Assume the account's PoloReadOnly role once; return a caching (service, region) -> client.
    Clients share one botocore session, so service models are loaded once; `lock` makes them
    one at a time when several threads ask (a boto3 session is not thread-safe)."""
    base = base or boto3.Session()
    lock = lock or threading.Lock()
    with lock:
        sts = base.client("sts", endpoint_url=endpoint_url, region_name=base.region_name or "us-east-1")
    creds = sts.assume_role(RoleArn=f"arn:aws:iam::{account_id}:role/{ROLE_NAME}",
                            RoleSessionName="polo-demo-estate")["Credentials"]
    cache: dict[tuple[str, str], Any] = {}

    def client(service: str, region: str):
        key = (service, region)
        with lock:
            if key not in cache:
                cache[key] = base.client(
                    service, region_name=region, endpoint_url=endpoint_url,
                    aws_access_key_id=creds["AccessKeyId"],
                    aws_secret_access_key=creds["SecretAccessKey"],
                    aws_session_token=creds["SessionToken"])
            return cache[key]
    return client


class AccountClients:
    """account id -> its caching client factory, made once and shared by the demo's builders,
    its churn and its billing exports: each made its own for every account, service and
    region (a boto3 session each for the churn), and a client takes ~10 ms."""

    def __init__(self, endpoint_url: str | None = None):
        self.endpoint_url, self.base = endpoint_url, boto3.Session()
        self._factories: dict[str, Callable[[str, str], Any]] = {}
        self._lock = threading.Lock()

    def release(self) -> None:
        """Let go of every client made so far: the estate's builders made hundreds, each with
        its own copy of botocore's models, and the simulation's later users need a few."""
        self._factories.clear()

    def __call__(self, account_id: str) -> Callable[[str, str], Any]:
        if account_id not in self._factories:
            self._factories[account_id] = account_client_factory(account_id, self.endpoint_url, self.base,
                                                                 self._lock)
        return self._factories[account_id]


def slug(text: str) -> str:
    """A name safe for ALB, RDS, Lambda and S3 naming rules: lowercase letters, digits and
    single hyphens, starting with a letter."""
    text = re.sub(r"-+", "-", re.sub(r"[^a-z0-9]", "-", text.lower())).strip("-") or "account"
    text = text if text[0].isalpha() else f"a-{text}"
    return text[:MAX_LABEL].rstrip("-")  # leaves room for suffixes within RDS/Lambda limits


def tags(name: str | None = None, team: str | None = None, service: str | None = None,
         **extra: str) -> list[dict[str, str]]:
    items = {"Name": name, "team": team, "service": service, **extra}
    return [{"Key": k, "Value": v} for k, v in items.items() if v]


def tag_spec(resource_type: str, tag_list: list[dict[str, str]]) -> list[dict]:
    return [{"ResourceType": resource_type, "Tags": tag_list}] if tag_list else []


# --- network ----------------------------------------------------------------------------------

def remove_default_vpc(ec2) -> None:
    for vpc in ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"]:
        subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])
        for subnet in subnets["Subnets"]:
            ec2.delete_subnet(SubnetId=subnet["SubnetId"])
        ec2.delete_vpc(VpcId=vpc["VpcId"])


def create_network(ec2, est: RegionEstate, cidr_octet: int, label: str, team: str) -> None:
    """A VPC with two subnets in the region's first two AZs; records its default group."""
    zones = [z["ZoneName"] for z in ec2.describe_availability_zones()["AvailabilityZones"]][:2]
    est.availability_zones = zones
    vpc = ec2.create_vpc(CidrBlock=f"10.{cidr_octet}.0.0/16",
                         TagSpecifications=tag_spec("vpc", tags(f"{label}-vpc", team, "network")))
    est.vpc_id = vpc["Vpc"]["VpcId"]
    est.counts["vpc"] += 1
    for index, zone in enumerate(zones):
        subnet = ec2.create_subnet(
            VpcId=est.vpc_id, CidrBlock=f"10.{cidr_octet}.{index}.0/24", AvailabilityZone=zone,
            TagSpecifications=tag_spec("subnet", tags(f"{label}-{zone[-1]}", team, "network")))
        est.subnet_ids.append(subnet["Subnet"]["SubnetId"])
        est.counts["subnet"] += 1
    default = ec2.describe_security_groups(Filters=[
        {"Name": "vpc-id", "Values": [est.vpc_id]}, {"Name": "group-name", "Values": ["default"]}])
    for group in default["SecurityGroups"]:
        est.security_group_ids["default"] = group["GroupId"]
        est.counts["security_group"] += 1


def create_security_group(ec2, est: RegionEstate, name: str, permissions: list[dict],
                          tag_list: list[dict[str, str]]) -> str:
    group_id = ec2.create_security_group(
        GroupName=name, Description=f"{name} (polo demo)", VpcId=est.vpc_id,
        TagSpecifications=tag_spec("security-group", tag_list))["GroupId"]
    if permissions:
        ec2.authorize_security_group_ingress(GroupId=group_id, IpPermissions=permissions)
    est.security_group_ids[name] = group_id
    est.counts["security_group"] += 1
    return group_id


def create_security_groups(ec2, est: RegionEstate, prod: bool, index: int, team: str,
                           vpc_cidr: str) -> None:
    create_security_group(ec2, est, "app", [
        {"IpProtocol": "tcp", "FromPort": 8080, "ToPort": 8080, "IpRanges": [{"CidrIp": vpc_cidr}]},
    ], tags("app", team, "app"))
    if prod:
        create_security_group(ec2, est, "alb-public", [
            {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
             "IpRanges": [{"CidrIp": "0.0.0.0/0"}], "Ipv6Ranges": [{"CidrIpv6": "::/0"}]},
        ], tags("alb-public", team, "web"))
    if index % 3 == 0:
        create_security_group(ec2, est, "ssh-open", [
            {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
             "IpRanges": [{"CidrIp": "0.0.0.0/0"}], "Ipv6Ranges": [{"CidrIpv6": "::/0"}]},
        ], tags("bastion-ssh", team, "bastion"))
    if index % 4 == 1:
        create_security_group(ec2, est, "legacy-any", [
            {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
        ], [])  # untagged on purpose


# --- compute and storage ----------------------------------------------------------------------

def record_ami(ec2, est: RegionEstate, ami_id: str) -> str:
    """Note a new AMI and the snapshot moto gives it, so counts match what collectors find."""
    est.ami_ids.append(ami_id)
    est.counts["ebs_snapshot"] += 1
    image = ec2.describe_images(ImageIds=[ami_id])["Images"][0]
    est.ami_snapshot_ids += [m["Ebs"]["SnapshotId"] for m in image.get("BlockDeviceMappings", ())
                             if m.get("Ebs", {}).get("SnapshotId")]
    return ami_id


def register_ami(ec2, est: RegionEstate, name: str) -> str:
    """A private AMI; moto gives every AMI its own snapshot, referenced by the AMI."""
    ami_id = ec2.register_image(Name=name, Description=f"{name} golden image",
                                RootDeviceName="/dev/xvda", Architecture="x86_64",
                                VirtualizationType="hvm")["ImageId"]
    return record_ami(ec2, est, ami_id)


def run_instances(ec2, est: RegionEstate, ami_id: str, count: int, instance_type: str,
                  service: str, team: str, root_type: str, label: str,
                  untagged_every: int = 5) -> list[str]:
    """`count` instances in reservations of at most 10, alternating subnets; every
    `untagged_every`-th one has no tags. Each gets a root volume."""
    created: list[str] = []
    number = 0
    while number < count:
        batch = min(10, count - number)
        subnet = est.subnet_ids[(len(est.running_instance_ids) + number // 10) % len(est.subnet_ids)]
        reply = ec2.run_instances(
            ImageId=ami_id, MinCount=batch, MaxCount=batch, InstanceType=instance_type,
            SubnetId=subnet, SecurityGroupIds=[est.security_group_ids["app"]],
            BlockDeviceMappings=[{"DeviceName": "/dev/xvda",
                                  "Ebs": {"VolumeSize": 20, "VolumeType": root_type}}])
        for inst in reply["Instances"]:
            number += 1
            if number % untagged_every:
                ec2.create_tags(Resources=[inst["InstanceId"]],
                                Tags=tags(f"{label}-{service}-{number}", team, service))
            created.append(inst["InstanceId"])
    est.running_instance_ids += created
    est.counts["ec2_instance"] += count
    est.counts["ebs_volume"] += count  # root volumes
    return created


def stop_instances(ec2, est: RegionEstate, instance_ids: list[str]) -> None:
    if not instance_ids:
        return
    ec2.stop_instances(InstanceIds=instance_ids)
    for instance_id in instance_ids:
        est.running_instance_ids.remove(instance_id)
        est.stopped_instance_ids.append(instance_id)


def instance_zone(ec2, instance_id: str) -> str:
    reply = ec2.describe_instances(InstanceIds=[instance_id])
    return reply["Reservations"][0]["Instances"][0]["Placement"]["AvailabilityZone"]


def create_volume(ec2, est: RegionEstate, zone: str, size: int, volume_type: str,
                  tag_list: list[dict[str, str]], attach_to: str | None = None,
                  device: str = "/dev/sdf") -> str:
    params: dict[str, Any] = {"AvailabilityZone": zone, "Size": size, "VolumeType": volume_type,
                              "TagSpecifications": tag_spec("volume", tag_list)}
    if volume_type == "gp3":
        params.update(Iops=3000, Throughput=125)
    volume_id = ec2.create_volume(**params)["VolumeId"]
    est.counts["ebs_volume"] += 1
    if attach_to:
        ec2.attach_volume(VolumeId=volume_id, InstanceId=attach_to, Device=device)
        est.attached_volume_ids.append(volume_id)
    else:
        est.unattached_volume_ids.append(volume_id)
    return volume_id


def create_snapshot(ec2, est: RegionEstate, volume_id: str, description: str,
                    tag_list: list[dict[str, str]]) -> str:
    snapshot_id = ec2.create_snapshot(VolumeId=volume_id, Description=description,
                                      TagSpecifications=tag_spec("snapshot", tag_list))["SnapshotId"]
    est.snapshot_ids.append(snapshot_id)
    est.counts["ebs_snapshot"] += 1
    return snapshot_id


def create_backup_ami(ec2, est: RegionEstate, instance_id: str, name: str) -> str:
    ami_id = ec2.create_image(InstanceId=instance_id, Name=name,
                              Description=f"backup of {instance_id}")["ImageId"]
    return record_ami(ec2, est, ami_id)


def allocate_eip(ec2, est: RegionEstate, tag_list: list[dict[str, str]],
                 instance_id: str | None = None) -> str:
    allocation_id = ec2.allocate_address(
        Domain="vpc", TagSpecifications=tag_spec("elastic-ip", tag_list))["AllocationId"]
    est.counts["elastic_ip"] += 1
    if instance_id:
        ec2.associate_address(AllocationId=allocation_id, InstanceId=instance_id)
        est.associated_allocation_ids.append(allocation_id)
    else:
        est.idle_allocation_ids.append(allocation_id)
    return allocation_id


def create_nat_gateway(ec2, cloudwatch, est: RegionEstate, label: str, team: str,
                       now: dt.datetime, daily_bytes: float) -> str:
    """A NAT gateway with its own EIP; `daily_bytes` > 0 seeds 7 days of CloudWatch traffic."""
    allocation_id = ec2.allocate_address(
        Domain="vpc", TagSpecifications=tag_spec("elastic-ip", tags(f"{label}-nat", team, "network"))
    )["AllocationId"]
    est.counts["elastic_ip"] += 1
    est.associated_allocation_ids.append(allocation_id)
    gateway_id = ec2.create_nat_gateway(
        SubnetId=est.subnet_ids[0], AllocationId=allocation_id,
        TagSpecifications=tag_spec("natgateway", tags(f"{label}-egress", team, "network")),
    )["NatGateway"]["NatGatewayId"]
    est.nat_gateway_ids.append(gateway_id)
    est.counts["nat_gateway"] += 1
    if daily_bytes > 0:
        cloudwatch.put_metric_data(Namespace="AWS/NATGateway", MetricData=[{
            "MetricName": "BytesOutToDestination",
            "Dimensions": [{"Name": "NatGatewayId", "Value": gateway_id}],
            "Timestamp": now - dt.timedelta(days=day, hours=1),
            "Value": daily_bytes * (1 + day % 3) / 2, "Unit": "Bytes",
        } for day in range(7)])
    return gateway_id


# --- load balancers, databases, functions -----------------------------------------------------

def create_alb(elb, est: RegionEstate, name: str, tag_list: list[dict[str, str]],
               targets: Sequence[str], scheme: str = "internet-facing") -> str:
    """An ALB with one target group (registering `targets`) and an HTTP listener."""
    group_ids = [est.security_group_ids.get("alb-public") or est.security_group_ids["app"]]
    arn = elb.create_load_balancer(Name=name, Subnets=est.subnet_ids, SecurityGroups=group_ids,
                                   Scheme=scheme, Type="application",
                                   **({"Tags": tag_list} if tag_list else {})
                                   )["LoadBalancers"][0]["LoadBalancerArn"]
    group_arn = elb.create_target_group(Name=f"{name}-tg", Protocol="HTTP", Port=8080,
                                        VpcId=est.vpc_id, TargetType="instance",
                                        )["TargetGroups"][0]["TargetGroupArn"]
    if targets:
        elb.register_targets(TargetGroupArn=group_arn, Targets=[{"Id": t, "Port": 8080} for t in targets])
    elb.create_listener(LoadBalancerArn=arn, Protocol="HTTP", Port=80,
                        DefaultActions=[{"Type": "forward", "TargetGroupArn": group_arn}])
    est.load_balancer_arns[name] = arn
    est.target_group_arns[f"{name}-tg"] = group_arn
    est.counts["load_balancer"] += 1
    return arn


def create_db_subnet_group(rds, est: RegionEstate, name: str) -> str:
    rds.create_db_subnet_group(DBSubnetGroupName=name, DBSubnetGroupDescription=name,
                               SubnetIds=est.subnet_ids)
    return name


def create_db_instance(rds, est: RegionEstate, identifier: str, subnet_group: str,
                       instance_class: str, engine: str, storage_gib: int, multi_az: bool,
                       tag_list: list[dict[str, str]], stopped: bool = False) -> str:
    rds.create_db_instance(
        DBInstanceIdentifier=identifier, DBInstanceClass=instance_class, Engine=engine,
        AllocatedStorage=storage_gib, StorageType="gp3", MultiAZ=multi_az,
        MasterUsername="polo", MasterUserPassword="polo-demo-password",
        DBSubnetGroupName=subnet_group,
        VpcSecurityGroupIds=[est.security_group_ids["app"]], Tags=tag_list)
    est.db_instance_ids.append(identifier)
    est.counts["rds_instance"] += 1
    if stopped:
        rds.stop_db_instance(DBInstanceIdentifier=identifier)
        est.stopped_db_instance_ids.append(identifier)
    return identifier


def lambda_package(name: str) -> bytes:
    """A small, byte-for-byte reproducible zip (fixed timestamps)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        info = zipfile.ZipInfo("handler.py", date_time=(2024, 1, 1, 0, 0, 0))
        archive.writestr(info, f"def handler(event, context):\n    return {{'from': {name!r}}}\n")
    return buffer.getvalue()


def create_lambda_role(iam, account_id: str) -> str:
    trust = ('{"Version":"2012-10-17","Statement":[{"Effect":"Allow",'
             '"Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}')
    return iam.create_role(RoleName=LAMBDA_ROLE_NAME, AssumeRolePolicyDocument=trust)["Role"]["Arn"]


def create_function(lam, est: RegionEstate, name: str, role_arn: str, runtime: str,
                    memory_mb: int, tag_map: dict[str, str], in_vpc: bool = False) -> str:
    params: dict[str, Any] = dict(
        FunctionName=name, Runtime=runtime, Role=role_arn, Handler="handler.handler",
        Code={"ZipFile": lambda_package(name)}, MemorySize=memory_mb, Timeout=30)
    if tag_map:
        params["Tags"] = tag_map
    if in_vpc:
        params["VpcConfig"] = {"SubnetIds": est.subnet_ids,
                               "SecurityGroupIds": [est.security_group_ids["app"]]}
    lam.create_function(**params)
    est.function_names.append(name)
    est.counts["lambda_function"] += 1
    return name


def create_bucket(s3, account: AccountEstate, name: str, region: str, block_public: bool,
                  tag_map: dict[str, str]) -> str:
    params: dict[str, Any] = {"Bucket": name}
    if region != "us-east-1":
        params["CreateBucketConfiguration"] = {"LocationConstraint": region}
    s3.create_bucket(**params)
    if block_public:
        s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration={
            "BlockPublicAcls": True, "IgnorePublicAcls": True,
            "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
    else:
        account.open_buckets.append(name)
    if tag_map:
        s3.put_bucket_tagging(Bucket=name, Tagging={
            "TagSet": [{"Key": k, "Value": v} for k, v in tag_map.items()]})
    account.buckets[name] = region
    account.global_counts["s3_bucket"] += 1
    return name


# --- per account and region -------------------------------------------------------------------

def build_full_region(account: AccountEstate, index: int, region: str, region_index: int,
                      now: dt.datetime) -> RegionEstate:
    client = account.client
    prod = account.environment == "prod"
    team = TEAMS[index % len(TEAMS)]
    label = f"{account.label}-{region}"
    est = RegionEstate(region)
    ec2 = client("ec2", region)
    octet = (index * 8 + region_index) % 256
    remove_default_vpc(ec2)
    create_network(ec2, est, octet, label, team)
    create_security_groups(ec2, est, prod, index, team, f"10.{octet}.0.0/16")

    # Instances: prod ~ twice dev; the second region is smaller.
    ami = register_ami(ec2, est, f"{account.label}-base-al2023")
    scale = 2 if prod else 1
    api_count = (6 if region_index == 0 else 3) * scale
    worker_count = (2 if region_index == 0 else 1) * scale + (index % 2)
    root = "gp3" if prod else "gp2"
    api = run_instances(ec2, est, ami, api_count, "m5.large" if prod else "t3.medium",
                        "api", team, root, label)
    workers = run_instances(ec2, est, ami, worker_count, "c5.xlarge" if prod else "t3.small",
                            "worker", team, root, label)
    to_stop = workers[-(1 + (index % 2)):]  # 1 or 2 stopped per region, after the ALBs
    running_workers = [w for w in workers if w not in to_stop]

    # Data volumes on the first running worker and api instances, idle volumes, snapshots.
    for n, instance_id in enumerate(running_workers[:1] + api[:scale]):
        volume_id = create_volume(ec2, est, instance_zone(ec2, instance_id), 100 * scale, "gp3",
                                  tags(f"{label}-data-{n}", team, "api"), attach_to=instance_id)
        create_snapshot(ec2, est, volume_id, f"nightly {label}-data-{n}",
                        tags(f"{label}-data-{n}-nightly", team, "backup"))
    zone = est.availability_zones[0]
    create_volume(ec2, est, zone, 50, "gp2", tags(f"{label}-scratch", team, "batch"))
    if index % 2 == 0:
        create_volume(ec2, est, zone, 500, "gp3", [])  # untagged, forgotten
    if prod:
        create_backup_ami(ec2, est, api[0], f"{label}-api-backup")

    # Elastic IPs: one on an instance, one idle; prod has a NAT gateway.
    allocate_eip(ec2, est, tags(f"{label}-bastion-ip", team, "bastion"), instance_id=api[0])
    allocate_eip(ec2, est, tags(f"{label}-spare-ip", team) if index % 2 else [])
    if prod:
        create_nat_gateway(ec2, client("cloudwatch", region), est, label, team, now,
                           daily_bytes=5e9 * (index + 1) if region_index == 0 else 0.0)

    # Load balancers.
    elb = client("elbv2", region)
    short = f"{account.label[:14].rstrip('-')}-{region_index}"  # ALB names: 32 characters
    if prod or region_index == 0:
        create_alb(elb, est, f"{short}-web", tags(f"{short}-web", team, "web"), api[:2 + scale])
    if prod:
        create_alb(elb, est, f"{short}-api", tags(f"{short}-api", team, "api"),
                   [api[-1], to_stop[0]], scheme="internal")  # one target will be stopped
    if index % 2 == 1:
        create_alb(elb, est, f"{short}-old", [], [])  # untagged, no targets
    stop_instances(ec2, est, to_stop)  # AWS refuses to register stopped targets

    # Databases.
    if prod or region_index == 0:
        rds = client("rds", region)
        group = create_db_subnet_group(rds, est, f"{account.label}-db")
        if prod:
            create_db_instance(rds, est, f"{account.label}-orders", group, "db.m5.large", "postgres",
                               200, True, tags(team=team, service="orders"))
            create_db_instance(rds, est, f"{account.label}-reporting", group, "db.r5.large", "mysql",
                               500, False, tags(team="data", service="reporting"))
        else:
            create_db_instance(rds, est, f"{account.label}-dev-db", group, "db.t3.micro", "postgres",
                               20, False, tags(team=team, service="api"), stopped=index % 2 == 1)

    # Lambda functions.
    lam = client("lambda", region)
    create_function(lam, est, f"{account.label}-thumbnailer", account.lambda_role_arn, "python3.12",
                    512, {"team": team, "service": "media"})
    create_function(lam, est, f"{account.label}-db-rotator", account.lambda_role_arn, "python3.11",
                    256, {"team": "platform", "service": "secrets"}, in_vpc=True)
    if prod:
        create_function(lam, est, f"{account.label}-ingest", account.lambda_role_arn, "nodejs20.x",
                        1024, {})  # untagged
    build_services(account, est, index, region_index, team, tags, now)
    return est


def build_light_region(account: AccountEstate, index: int, region: str,
                       region_index: int) -> RegionEstate:
    team = TEAMS[index % len(TEAMS)]
    label = f"{account.label}-{region}"
    est = RegionEstate(region)
    ec2 = account.client("ec2", region)
    octet = (index * 8 + region_index) % 256
    remove_default_vpc(ec2)
    create_network(ec2, est, octet, label, team)
    create_security_group(ec2, est, "app", [
        {"IpProtocol": "tcp", "FromPort": 8080, "ToPort": 8080,
         "IpRanges": [{"CidrIp": f"10.{octet}.0.0/16"}]},
    ], tags("app", team, "app"))
    ami = register_ami(ec2, est, f"{account.label}-base-al2023")
    run_instances(ec2, est, ami, 1, "t3.small", "canary", team, "gp3", label)
    return est


def build_buckets(account: AccountEstate, regions: Sequence[str]) -> None:
    s3 = account.client("s3", regions[0])
    prod = account.environment == "prod"
    team = "platform"
    second = regions[1] if len(regions) > 1 else regions[0]
    create_bucket(s3, account, f"polo-{account.account_id}-logs", regions[0], True,
                  {"team": team, "service": "logging", "Name": "access logs"})
    create_bucket(s3, account, f"polo-{account.account_id}-assets", second, True,
                  {"team": "web", "service": "web"})
    create_bucket(s3, account, f"polo-{account.account_id}-scratch", regions[0], False, {})  # open, untagged
    if prod:
        create_bucket(s3, account, f"polo-{account.account_id}-backups", second, True,
                      {"team": team, "service": "backup"})
        create_bucket(s3, account, f"polo-{account.account_id}-datalake", "eu-west-1", True,
                      {"team": "data", "service": "analytics"})


def build_account(account: Any, index: int, regions: Sequence[str], now: dt.datetime,
                  clients: AccountClients) -> AccountEstate:
    est = AccountEstate(account_id=account.id, name=account.name, label=slug(account.name),
                        environment=account.environment, client=clients(account.id))
    est.lambda_role_arn = create_lambda_role(est.client("iam", regions[0]), account.id)
    for region_index, region in enumerate(regions):
        if region_index < FULL_REGIONS:
            est.regions[region] = build_full_region(est, index, region, region_index, now)
        else:
            est.regions[region] = build_light_region(est, index, region, region_index)
    build_buckets(est, regions)
    return est


def build_estate(accounts: Iterable[Any], regions: Sequence[str], now: dt.datetime,
                 endpoint_url: str | None = None, clients: AccountClients | None = None) -> dict[str, AccountEstate]:
    """Build the estate for `accounts` (objects with .id, .name, .environment) in `regions`.

    Returns account id -> AccountEstate; `summary[id].counts` (also `summary[id]["counts"]`)
    maps each resource_type to the number the collectors should find in that account."""
    regions = list(regions)
    if not regions:
        raise ValueError("build_estate needs at least one region")
    clients = clients or AccountClients(endpoint_url)
    accounts = list(accounts)
    estate = {}
    for index, account in enumerate(accounts):
        estate[account.id] = build_account(account, index, regions, now, clients)
        log.info("simulated estate: account %s (%s) built, %d of %d", account.id, account.name, index + 1,
                 len(accounts))
    return estate
