"""The collectors against moto in-process: normalisation, rule summaries, parent resolution
and paging.

moto pages DescribeInstances (MaxResults counts reservations), ELBv2 DescribeLoadBalancers
(PageSize, default 50), RDS DescribeDBInstances (MaxRecords), EKS ListClusters and
ListNodegroups, DescribeAutoScalingGroups, DynamoDB ListTables, DescribeCacheClusters
(MaxRecords, at least 20), SageMaker ListNotebookInstances and DescribeLogGroups; it returns one
page for DescribeVolumes, DescribeSnapshots, DescribeVpcs/Subnets/SecurityGroups/NatGateways,
Lambda ListFunctions, ECS ListClusters/ListServices and ECR DescribeRepositories whatever the
page size. Where it pages, the tests force small pages with a
botocore `provide-client-params` hook (the collectors themselves never set page sizes) and
count the pages with `after-call` hooks.
"""
from __future__ import annotations

import datetime as dt
import io
import logging
import time
import zipfile
from pathlib import Path
from collections import Counter

import boto3
import pytest
from botocore.exceptions import ClientError, ReadTimeoutError

from polo.collectors.base import GIB, CollectContext
import polo.collectors as collectors_package
from polo.collectors import COLLECTORS, RESOURCE_TYPES, metric_sums
from polo.collectors import (
    autoscaling_groups, cloudwatch_log_groups, dynamodb_tables, ebs_snapshots, ebs_volumes,
    ec2_instances, ecr_repositories, ecs_services, eks_clusters, eks_nodegroups, elastic_ips,
    elasticache_clusters, lambda_functions, load_balancers, nat_gateways, opensearch_domains,
    rds_instances, s3_buckets, sagemaker_endpoints, sagemaker_notebooks, security_groups, subnets,
    vpcs,
)
from polo.collectors.security_groups import open_ingress
from polo.model import Resource

ACCOUNT = "123456789012"
REGION = "us-east-1"


@pytest.fixture
def aws(moto):  # conftest's in-process moto, in REGION
    return Clients()


class Clients:
    """Cached boto3 clients, so tests can hook the very clients the collectors use."""

    def __init__(self):
        self._cache = {}
        self.calls: Counter[str] = Counter()

    def __call__(self, service: str, region: str = REGION):
        key = (service, region)
        if key not in self._cache:
            client = boto3.client(service, region_name=region)
            client.meta.events.register("after-call.*.*", self._count)
            self._cache[key] = client
        return self._cache[key]

    def _count(self, model, **_):
        self.calls[model.name] += 1

    def page_size(self, service: str, operation: str, param: str, size: int, region: str = REGION):
        """Make every `operation` call ask for pages of `size` (as a big account would get)."""
        def shrink(params, **_):
            params.setdefault(param, size)
        self(service, region).meta.events.register(f"provide-client-params.{service}.{operation}", shrink)

    def context(self, region: str = REGION) -> CollectContext:
        return CollectContext(account_id=ACCOUNT, region=region, home_region=REGION, client=self)


def collect(module, clients: Clients, region: str = REGION) -> list[Resource]:
    resources = list(module.collect(clients.context(region)))
    assert all(r.resource_type == resources[0].resource_type for r in resources)
    for r in resources:  # ids and strings are never None
        for attr in ("resource_id", "name", "state", "parent_id", "vpc_id", "subnet_id", "resource_class"):
            assert isinstance(getattr(r, attr), str), (attr, r)
        assert r.account_id == ACCOUNT
    return resources


def by_id(resources):
    return {r.resource_id: r for r in resources}


def tagspec(kind, **tags):
    return [{"ResourceType": kind, "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}]


def network(ec2):
    vpc = ec2.create_vpc(CidrBlock="10.1.0.0/16", TagSpecifications=tagspec("vpc", Name="main", team="core"))
    vpc_id = vpc["Vpc"]["VpcId"]
    subnet_ids = [ec2.create_subnet(VpcId=vpc_id, CidrBlock=f"10.1.{n}.0/24", AvailabilityZone=zone,
                                    TagSpecifications=tagspec("subnet", Name=f"main-{zone[-1]}")
                                    )["Subnet"]["SubnetId"]
                  for n, zone in enumerate(("us-east-1a", "us-east-1b"))]
    return vpc_id, subnet_ids


def ami(ec2):
    return ec2.register_image(Name="base")["ImageId"]


def test_every_collector_module_declares_one_registered_type():
    helpers = {"__init__", "base", "metric_sums"}
    modules = {p.stem for p in Path(collectors_package.__file__).parent.glob("*.py")} - helpers
    assert {t.collect.__module__.rsplit(".", 1)[1] for t in RESOURCE_TYPES} == modules
    assert len({t.name for t in RESOURCE_TYPES}) == len({t.collector for t in RESOURCE_TYPES}) == len(modules)
    assert all(t.scope in ("regional", "global") for t in RESOURCE_TYPES)


def test_registry_names_and_scopes():
    assert set(COLLECTORS) == {
        "ec2_instances", "vpcs", "subnets", "security_groups", "ebs_volumes", "ebs_snapshots",
        "elastic_ips", "nat_gateways", "load_balancers", "rds_instances", "s3_buckets",
        "lambda_functions", "eks_clusters", "eks_nodegroups", "autoscaling_groups", "ecs_services",
        "dynamodb_tables", "elasticache_clusters", "opensearch_domains", "sagemaker_endpoints",
        "sagemaker_notebooks", "ecr_repositories", "cloudwatch_log_groups"}
    assert {name for name, t in COLLECTORS.items() if t.scope == "global"} == {"s3_buckets"}


def test_vpcs_and_subnets(aws):
    ec2 = aws("ec2")
    vpc_id, subnet_ids = network(ec2)
    found = by_id(collect(vpcs, aws))
    assert len(found) == 2  # moto's default VPC and ours
    vpc = found[vpc_id]
    assert (vpc.resource_type, vpc.name, vpc.state, vpc.parent_id, vpc.vpc_id, vpc.created) == (
        "vpc", "main", "available", ACCOUNT, vpc_id, None)
    assert dict(vpc.details) == {"cidr": "10.1.0.0/16", "is_default": False}
    assert vpc.tags == {"Name": "main", "team": "core"}
    (default,) = [v for v in found.values() if v.resource_id != vpc_id]
    assert default.details["is_default"] is True and default.name == ""

    found = by_id(collect(subnets, aws))
    subnet = found[subnet_ids[1]]
    assert (subnet.resource_type, subnet.name, subnet.state, subnet.parent_id, subnet.vpc_id,
            subnet.subnet_id) == ("subnet", "main-b", "available", vpc_id, vpc_id, subnet_ids[1])
    assert dict(subnet.details) == {"cidr": "10.1.1.0/24", "availability_zone": "us-east-1b"}


def test_open_ingress_summary():
    permissions = [
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
         "IpRanges": [{"CidrIp": "0.0.0.0/0"}, {"CidrIp": "10.0.0.0/8"}],
         "Ipv6Ranges": [{"CidrIpv6": "::/0"}]},
        {"IpProtocol": "6", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},  # duplicate
        {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 443, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
        {"IpProtocol": "tcp", "FromPort": 0, "ToPort": 65535, "Ipv6Ranges": [{"CidrIpv6": "::/0"}]},
        {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
        {"IpProtocol": "icmp", "FromPort": -1, "ToPort": -1, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
        {"IpProtocol": "icmp", "FromPort": 8, "ToPort": -1, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
        {"IpProtocol": "udp", "FromPort": 53, "ToPort": 53, "IpRanges": [{"CidrIp": "10.0.0.0/8"}],
         "UserIdGroupPairs": [{"GroupId": "sg-1"}]},
    ]
    assert open_ingress(permissions) == (
        ("all", "all", "0.0.0.0/0"),
        ("icmp", "8", "0.0.0.0/0"),
        ("icmp", "all", "0.0.0.0/0"),
        ("tcp", "22", "0.0.0.0/0"),
        ("tcp", "22", "::/0"),
        ("tcp", "80-443", "0.0.0.0/0"),
        ("tcp", "all", "::/0"),
    )
    assert open_ingress(None) == ()


def test_security_groups(aws):
    ec2 = aws("ec2")
    vpc_id, _ = network(ec2)
    ssh = ec2.create_security_group(GroupName="ssh", Description="d", VpcId=vpc_id,
                                    TagSpecifications=tagspec("security-group", Name="bastion"))["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=ssh, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
         "IpRanges": [{"CidrIp": "0.0.0.0/0"}], "Ipv6Ranges": [{"CidrIpv6": "::/0"}]},
        {"IpProtocol": "udp", "FromPort": 1000, "ToPort": 2000, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]},
    ])
    anything = ec2.create_security_group(GroupName="legacy", Description="d", VpcId=vpc_id)["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=anything, IpPermissions=[
        {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}], "Ipv6Ranges": [{"CidrIpv6": "::/0"}]}])
    closed = ec2.create_security_group(GroupName="closed", Description="d", VpcId=vpc_id)["GroupId"]

    found = by_id(collect(security_groups, aws))
    group = found[ssh]
    assert (group.resource_type, group.name, group.parent_id, group.vpc_id) == (
        "security_group", "bastion", vpc_id, vpc_id)
    assert dict(group.details) == {"group_name": "ssh", "open_ingress": (
        ("tcp", "22", "0.0.0.0/0"), ("tcp", "22", "::/0"))}
    assert found[anything].name == "legacy"  # no Name tag: the group name
    assert found[anything].details["open_ingress"] == (("all", "all", "0.0.0.0/0"), ("all", "all", "::/0"))
    assert found[closed].details["open_ingress"] == ()
    defaults = [g for g in found.values() if g.details["group_name"] == "default"]
    assert len(defaults) == 2  # one per VPC, the default VPC's included


def test_ebs_volumes(aws):
    ec2 = aws("ec2")
    _, subnet_ids = network(ec2)
    instance = ec2.run_instances(ImageId=ami(ec2), MinCount=1, MaxCount=1, SubnetId=subnet_ids[0],
                                 InstanceType="t3.micro")["Instances"][0]["InstanceId"]
    data = ec2.create_volume(AvailabilityZone="us-east-1a", Size=100, VolumeType="gp3", Iops=4000,
                             Throughput=250, Encrypted=True,
                             TagSpecifications=tagspec("volume", Name="data"))["VolumeId"]
    ec2.attach_volume(VolumeId=data, InstanceId=instance, Device="/dev/sdf")
    idle = ec2.create_volume(AvailabilityZone="us-east-1b", Size=8, VolumeType="gp2")["VolumeId"]

    found = by_id(collect(ebs_volumes, aws))
    assert len(found) == 3  # the instance's root volume too
    volume = found[data]
    assert (volume.resource_type, volume.name, volume.state, volume.parent_id, volume.resource_class,
            volume.size_bytes) == ("ebs_volume", "data", "in-use", instance, "gp3", 100 * GIB)
    assert isinstance(volume.created, float) and abs(volume.created - time.time()) < 600
    assert dict(volume.details) == {"attached_instance_id": instance, "availability_zone": "us-east-1a",
                                    "iops": 4000, "throughput": 250, "encrypted": True}
    volume = found[idle]
    assert (volume.state, volume.parent_id, volume.resource_class, volume.size_bytes) == (
        "available", "", "gp2", 8 * GIB)
    assert volume.details["attached_instance_id"] == "" and volume.details["encrypted"] is False


def test_ebs_snapshots_and_ami_references(aws):
    ec2 = aws("ec2")
    image = ami(ec2)  # moto gives every AMI its own snapshot
    volume = ec2.create_volume(AvailabilityZone="us-east-1a", Size=50)["VolumeId"]
    tagged = ec2.create_snapshot(VolumeId=volume, Description="nightly",
                                 TagSpecifications=tagspec("snapshot", Name="db-nightly"))["SnapshotId"]
    described = ec2.create_snapshot(VolumeId=volume, Description="before upgrade")["SnapshotId"]

    found = by_id(collect(ebs_snapshots, aws))
    assert len(found) == 3
    snap = found[tagged]
    assert (snap.resource_type, snap.name, snap.state, snap.parent_id, snap.size_bytes) == (
        "ebs_snapshot", "db-nightly", "completed", volume, 50 * GIB)
    assert snap.created is not None
    assert dict(snap.details) == {"volume_id": volume, "ami_ids": (), "description": "nightly"}
    assert found[described].name == "before upgrade"
    (ami_snapshot,) = [s for s in found.values() if s.resource_id not in (tagged, described)]
    assert ami_snapshot.details["ami_ids"] == (image,)
    assert aws.calls["DescribeImages"] == 1  # once per region, not per snapshot


def test_elastic_ips_resolve_instance_and_nat_gateway_parents(aws):
    ec2 = aws("ec2")
    _, subnet_ids = network(ec2)
    instance = ec2.run_instances(ImageId=ami(ec2), MinCount=1, MaxCount=1,
                                 SubnetId=subnet_ids[0])["Instances"][0]["InstanceId"]
    on_instance = ec2.allocate_address(Domain="vpc", TagSpecifications=tagspec("elastic-ip", Name="web-ip"))
    ec2.associate_address(AllocationId=on_instance["AllocationId"], InstanceId=instance)
    on_nat = ec2.allocate_address(Domain="vpc")["AllocationId"]
    nat = ec2.create_nat_gateway(SubnetId=subnet_ids[0], AllocationId=on_nat)["NatGateway"]["NatGatewayId"]
    idle = ec2.allocate_address(Domain="vpc")

    found = by_id(collect(elastic_ips, aws))
    assert len(found) == 3
    eip = found[on_instance["AllocationId"]]
    assert (eip.resource_type, eip.name, eip.state, eip.parent_id) == (
        "elastic_ip", "web-ip", "associated", instance)
    assert eip.details["instance_id"] == instance and eip.details["nat_gateway_id"] == ""
    assert eip.details["public_ip"] == on_instance["PublicIp"]
    assert eip.details["network_interface_id"].startswith("eni-")
    eip = found[on_nat]
    assert (eip.state, eip.parent_id, eip.details["nat_gateway_id"], eip.details["instance_id"]) == (
        "associated", nat, nat, "")
    eip = found[idle["AllocationId"]]
    assert (eip.name, eip.state, eip.parent_id) == (idle["PublicIp"], "unassociated", "")
    assert dict(eip.details) == {"public_ip": idle["PublicIp"], "instance_id": "", "nat_gateway_id": "",
                                 "network_interface_id": ""}


def test_nat_gateways_with_traffic_from_one_metric_call(aws):
    ec2 = aws("ec2")
    vpc_id, subnet_ids = network(ec2)
    gateways = []
    for n in range(3):
        allocation = ec2.allocate_address(Domain="vpc")["AllocationId"]
        gateways.append((ec2.create_nat_gateway(
            SubnetId=subnet_ids[n % 2], AllocationId=allocation,
            TagSpecifications=tagspec("natgateway", Name=f"egress-{n}"))["NatGateway"]["NatGatewayId"],
            allocation))
    busy, idle, deleted = (g for g, _ in gateways)
    ec2.delete_nat_gateway(NatGatewayId=deleted)
    now = dt.datetime.now(dt.timezone.utc)
    aws("cloudwatch").put_metric_data(Namespace="AWS/NATGateway", MetricData=[
        {"MetricName": "BytesOutToDestination", "Dimensions": [{"Name": "NatGatewayId", "Value": busy}],
         "Timestamp": now - dt.timedelta(days=day, hours=2), "Value": 1000.0 * (day + 1)}
        for day in range(10)])  # days 7..9 fall outside the window

    found = by_id(collect(nat_gateways, aws))
    assert set(found) == {busy, idle}  # the deleted one is skipped
    gateway = found[busy]
    assert (gateway.resource_type, gateway.name, gateway.state, gateway.parent_id, gateway.vpc_id,
            gateway.subnet_id) == ("nat_gateway", "egress-0", "available", subnet_ids[0], vpc_id, subnet_ids[0])
    assert gateway.created is not None
    assert gateway.details["allocation_ids"] == (gateways[0][1],)
    assert gateway.details["bytes_out_7d"] == sum(1000.0 * (day + 1) for day in range(7))
    assert found[idle].details["bytes_out_7d"] == 0.0
    assert aws.calls["GetMetricData"] == 1


def test_nat_gateways_survive_a_cloudwatch_failure(aws, caplog):
    ec2 = aws("ec2")
    _, subnet_ids = network(ec2)
    allocation = ec2.allocate_address(Domain="vpc")["AllocationId"]
    gateway = ec2.create_nat_gateway(SubnetId=subnet_ids[0], AllocationId=allocation)["NatGateway"]["NatGatewayId"]

    def denied(**_):
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "GetMetricData")
    aws("cloudwatch").meta.events.register("before-call.cloudwatch.GetMetricData", denied)

    with caplog.at_level(logging.WARNING, logger=metric_sums.__name__):  # whatever --log.level ran before
        (found,) = collect(nat_gateways, aws)
    assert found.resource_id == gateway and found.details["bytes_out_7d"] is None
    assert "AccessDenied" in caplog.text


def test_nat_gateway_metric_queries_are_batched_by_500():
    class FakeCloudWatch:
        def __init__(self):
            self.batches = []

        def get_paginator(self, operation):
            assert operation == "get_metric_data"
            return self

        def paginate(self, MetricDataQueries, **_):
            self.batches.append(len(MetricDataQueries))
            ids = [q["Id"] for q in MetricDataQueries]
            # two pages, like CloudWatch's NextToken: values of one query may span pages
            yield {"MetricDataResults": [{"Id": i, "Values": [1.0]} for i in ids]}
            yield {"MetricDataResults": [{"Id": ids[0], "Values": [2.0, 3.0]}]}

    cloudwatch = FakeCloudWatch()
    totals = nat_gateways.bytes_out(cloudwatch, [f"nat-{n}" for n in range(1203)])
    assert cloudwatch.batches == [500, 500, 203]
    assert totals["nat-0"] == totals["nat-500"] == totals["nat-1000"] == 6.0
    assert totals["nat-1"] == totals["nat-1202"] == 1.0
    assert nat_gateways.bytes_out(cloudwatch, []) == {}


def test_load_balancers_count_targets_and_page(aws):
    ec2, elb = aws("ec2"), aws("elbv2")
    vpc_id, subnet_ids = network(ec2)
    instances = [i["InstanceId"] for i in ec2.run_instances(
        ImageId=ami(ec2), MinCount=3, MaxCount=3, SubnetId=subnet_ids[0])["Instances"]]

    def balancer(name, targets=(), tags=None, groups=1):
        # moto leaves Scheme out of the reply unless it is given (AWS defaults it)
        arn = elb.create_load_balancer(Name=name, Subnets=subnet_ids, Type="application",
                                       Scheme="internet-facing",
                                       **({"Tags": tags} if tags else {}))["LoadBalancers"][0]["LoadBalancerArn"]
        for g in range(groups):
            group = elb.create_target_group(Name=f"{name}-{g}", Protocol="HTTP", Port=80, VpcId=vpc_id,
                                            TargetType="instance")["TargetGroups"][0]["TargetGroupArn"]
            if targets:
                elb.register_targets(TargetGroupArn=group, Targets=[{"Id": t} for t in targets])
            elb.create_listener(LoadBalancerArn=arn, Protocol="HTTP", Port=80 + g,
                                DefaultActions=[{"Type": "forward", "TargetGroupArn": group}])
        return arn

    web = balancer("web", instances, tags=[{"Key": "team", "Value": "shop"}], groups=2)
    idle = balancer("idle")
    ec2.stop_instances(InstanceIds=[instances[2]])  # registered, but moto reports it 'unused'
    elb.create_target_group(Name="orphan", Protocol="HTTP", Port=80, VpcId=vpc_id)  # attached to nothing
    for n in range(53):
        elb.create_load_balancer(Name=f"lb-{n:02d}", Subnets=subnet_ids, Type="application")
    aws.calls.clear()

    found = by_id(collect(load_balancers, aws))
    assert len(found) == 55
    assert aws.calls["DescribeLoadBalancers"] == 2  # moto's default page is 50 balancers
    assert aws.calls["DescribeTags"] == 3  # 20 ARNs a call
    assert aws.calls["DescribeTargetHealth"] == 3  # per target group that serves a balancer
    lb = found[web]
    assert (lb.resource_type, lb.name, lb.state, lb.resource_class, lb.parent_id, lb.vpc_id) == (
        "load_balancer", "web", "active", "application", vpc_id, vpc_id)
    assert lb.tags == {"team": "shop"} and lb.created is not None
    assert lb.details["target_groups"] == 2
    assert lb.details["registered_targets"] == 6
    assert lb.details["healthy_targets"] == 4
    assert lb.details["scheme"] == "internet-facing" and lb.details["dns_name"]
    assert {k: found[idle].details[k] for k in ("target_groups", "registered_targets", "healthy_targets")} == {
        "target_groups": 1, "registered_targets": 0, "healthy_targets": 0}
    assert found[idle].tags == {}


def test_rds_instances_all_pages(aws):
    ec2, rds = aws("ec2"), aws("rds")
    vpc_id, subnet_ids = network(ec2)
    rds.create_db_subnet_group(DBSubnetGroupName="main", DBSubnetGroupDescription="d", SubnetIds=subnet_ids)
    rds.create_db_instance(DBInstanceIdentifier="orders", DBInstanceClass="db.m5.large", Engine="postgres",
                           AllocatedStorage=200, StorageType="gp3", MultiAZ=True, DBSubnetGroupName="main",
                           MasterUsername="u", MasterUserPassword="password123",
                           Tags=[{"Key": "team", "Value": "shop"}])
    rds.stop_db_instance(DBInstanceIdentifier="orders")
    for n in range(24):
        rds.create_db_instance(DBInstanceIdentifier=f"db-{n:02d}", DBInstanceClass="db.t3.micro",
                               Engine="mysql", AllocatedStorage=20)
    aws.page_size("rds", "DescribeDBInstances", "MaxRecords", 20)
    aws.calls.clear()

    found = by_id(collect(rds_instances, aws))
    assert len(found) == 25
    assert aws.calls["DescribeDBInstances"] == 2
    db = found["orders"]
    assert (db.resource_type, db.name, db.state, db.resource_class, db.size_bytes, db.vpc_id, db.parent_id) == (
        "rds_instance", "orders", "stopped", "db.m5.large", 200 * GIB, vpc_id, vpc_id)
    assert db.tags == {"team": "shop"} and db.created is not None
    assert dict(db.details) == {"engine": "postgres", "multi_az": True, "storage_type": "gp3",
                                "arn": f"arn:aws:rds:{REGION}:{ACCOUNT}:db:orders"}
    assert found["db-00"].state == "available" and found["db-00"].details["multi_az"] is False


def test_ec2_instances_all_pages(aws):
    ec2 = aws("ec2")
    _, subnet_ids = network(ec2)
    image = ami(ec2)
    for n in range(12):  # 12 reservations of 2 instances
        ec2.run_instances(ImageId=image, MinCount=2, MaxCount=2, SubnetId=subnet_ids[n % 2])
    aws.page_size("ec2", "DescribeInstances", "MaxResults", 5)  # counts reservations in moto
    aws.calls.clear()

    found = collect(ec2_instances, aws)
    assert len({r.resource_id for r in found}) == 24
    assert aws.calls["DescribeInstances"] == 3


def test_s3_buckets(aws):
    home = aws("s3")
    home.create_bucket(Bucket="blocked-east")
    home.put_public_access_block(Bucket="blocked-east", PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True})
    home.put_bucket_tagging(Bucket="blocked-east", Tagging={"TagSet": [{"Key": "team", "Value": "web"}]})
    west = aws("s3", "eu-west-1")
    west.create_bucket(Bucket="open-west", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    aws("s3", "ap-southeast-2").create_bucket(
        Bucket="partly-blocked", CreateBucketConfiguration={"LocationConstraint": "ap-southeast-2"})
    aws("s3", "ap-southeast-2").put_public_access_block(Bucket="partly-blocked", PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
        "RestrictPublicBuckets": False})

    found = by_id(collect(s3_buckets, aws, region="global"))
    assert set(found) == {"blocked-east", "open-west", "partly-blocked"}
    bucket = found["blocked-east"]
    assert (bucket.resource_type, bucket.region, bucket.name, bucket.parent_id) == (
        "s3_bucket", "us-east-1", "blocked-east", ACCOUNT)
    assert bucket.created is not None and bucket.tags == {"team": "web"}
    assert dict(bucket.details) == {"public_access_blocked": True}
    assert (found["open-west"].region, found["open-west"].details["public_access_blocked"],
            found["open-west"].tags) == ("eu-west-1", False, {})
    assert (found["partly-blocked"].region, found["partly-blocked"].details["public_access_blocked"]) == (
        "ap-southeast-2", False)


def test_s3_legacy_locations():
    class Location:
        def __init__(self, value):
            self.value = value

        def get_bucket_location(self, Bucket):
            return {} if self.value is None else {"LocationConstraint": self.value}

    assert s3_buckets.bucket_region(Location(None), "b") == "us-east-1"
    assert s3_buckets.bucket_region(Location(""), "b") == "us-east-1"
    assert s3_buckets.bucket_region(Location("EU"), "b") == "eu-west-1"
    assert s3_buckets.bucket_region(Location("eu-central-1"), "b") == "eu-central-1"


def test_s3_other_errors_fail_the_collector(aws):
    aws("s3").create_bucket(Bucket="denied-bucket")

    def denied(**_):
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "GetBucketTagging")
    aws("s3").meta.events.register("before-call.s3.GetBucketTagging", denied)
    with pytest.raises(ClientError):
        collect(s3_buckets, aws, region="global")


def test_s3_asks_about_a_few_buckets_at_once(aws):
    """Three calls per bucket, one bucket after another, made S3 the sweep's longest task."""
    import threading
    import time

    from polo.collectors.base import ITEMS_AT_ONCE

    for index in range(8):
        aws("s3").create_bucket(Bucket=f"bucket-{index}")
    lock, active, peak = threading.Lock(), [0], [0]

    def slow_tagging(**_):
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.1)
        with lock:
            active[0] -= 1

    aws("s3").meta.events.register("before-call.s3.GetBucketTagging", slow_tagging)
    found = collect(s3_buckets, aws, region="global")
    assert [r.resource_id for r in found] == [f"bucket-{index}" for index in range(8)]  # in ListBuckets' order
    assert peak[0] == ITEMS_AT_ONCE


def test_nat_gateways_survive_a_cloudwatch_transport_error(aws, caplog):
    ec2 = aws("ec2")
    _, subnet_ids = network(ec2)
    allocation = ec2.allocate_address(Domain="vpc")["AllocationId"]
    gateway = ec2.create_nat_gateway(SubnetId=subnet_ids[0], AllocationId=allocation)["NatGateway"]["NatGatewayId"]

    def timed_out(request, **_):
        raise ReadTimeoutError(endpoint_url=request.url)
    aws("cloudwatch").meta.events.register("before-send.cloudwatch.GetMetricData", timed_out)

    with caplog.at_level(logging.WARNING, logger=metric_sums.__name__):  # whatever --log.level ran before
        (found,) = collect(nat_gateways, aws)
    assert found.resource_id == gateway and found.details["bytes_out_7d"] is None
    assert "ReadTimeout" in caplog.text


def lambda_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "def handler(event, context):\n    return 1\n")
    return buffer.getvalue()


def test_lambda_functions(aws):
    ec2 = aws("ec2")
    _, subnet_ids = network(ec2)
    group = ec2.create_security_group(GroupName="fn", Description="d",
                                      VpcId=ec2.describe_subnets(SubnetIds=subnet_ids[:1])["Subnets"][0]["VpcId"])
    role = aws("iam").create_role(RoleName="fn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    lam = aws("lambda")
    code = lambda_zip()
    lam.create_function(FunctionName="plain", Runtime="python3.12", Role=role, Handler="handler.handler",
                        Code={"ZipFile": code}, MemorySize=256, Tags={"team": "media"})
    lam.create_function(FunctionName="in-vpc", Runtime="python3.11", Role=role, Handler="handler.handler",
                        Code={"ZipFile": code},
                        VpcConfig={"SubnetIds": subnet_ids, "SecurityGroupIds": [group["GroupId"]]})
    lam.create_function(FunctionName="container", Role=role, PackageType="Image",
                        Code={"ImageUri": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/fn:latest"})

    found = by_id(collect(lambda_functions, aws))
    assert set(found) == {"plain", "in-vpc", "container"}
    fn = found["plain"]
    assert (fn.resource_type, fn.name, fn.state, fn.resource_class, fn.size_bytes, fn.vpc_id, fn.parent_id) == (
        "lambda_function", "plain", "Active", "python3.12", len(code), "", ACCOUNT)
    assert fn.tags == {"team": "media"} and fn.created is not None
    assert dict(fn.details) == {"memory_mb": 256, "arn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:plain"}
    # moto reports a fixed VpcId ('vpc-123abc') for VPC functions, whatever the subnets
    assert found["in-vpc"].vpc_id and found["in-vpc"].parent_id == found["in-vpc"].vpc_id
    assert found["container"].resource_class == "Image"
    assert aws.calls["ListTags"] == 3


def test_lambda_functions_follow_markers():
    """moto ignores MaxItems, so paging is checked against a two-page fake."""
    pages = [{"Functions": [{"FunctionName": f"f{n}", "FunctionArn": f"arn:f{n}"} for n in range(50)],
              "NextMarker": "m"},
             {"Functions": [{"FunctionName": "f50", "FunctionArn": "arn:f50"}]}]

    class FakeLambda:
        def get_paginator(self, operation):
            assert operation == "list_functions"
            return self

        def paginate(self, **_):
            return iter(pages)

        def list_tags(self, Resource):
            return {"Tags": {}}

    ctx = CollectContext(ACCOUNT, REGION, REGION, lambda service, region: FakeLambda())
    found = list(lambda_functions.collect(ctx))
    assert len(found) == 51 and found[-1].name == "f50" and found[-1].state == "Active"
    assert found[0].tags == {} and found[0].resource_class == "" and found[0].vpc_id == ""


# --- the services that carry an ML estate's bill ----------------------------------------------

ROLE = f"arn:aws:iam::{ACCOUNT}:role/polo-test"


def test_eks_clusters_and_nodegroups_all_pages(aws):
    eks, ec2 = aws("eks"), aws("ec2")
    _, subnet_ids = network(ec2)
    eks.create_cluster(name="serving", roleArn=ROLE, resourcesVpcConfig={"subnetIds": subnet_ids},
                       tags={"team": "ml"})
    for n in range(4):
        eks.create_nodegroup(clusterName="serving", nodegroupName=f"gpu-{n}", subnets=subnet_ids, nodeRole=ROLE,
                             scalingConfig={"minSize": 1, "maxSize": 4, "desiredSize": 2},
                             instanceTypes=["g5.xlarge"], tags={"team": "ml"})
    eks.create_fargate_profile(fargateProfileName="jobs", clusterName="serving", podExecutionRoleArn=ROLE,
                               selectors=[{"namespace": "jobs"}])
    for n in range(4):
        eks.create_cluster(name=f"empty-{n}", roleArn=ROLE, resourcesVpcConfig={"subnetIds": []})
    for operation in ("ListClusters", "ListNodegroups", "ListFargateProfiles"):
        aws.page_size("eks", operation, "maxResults", 2)
    aws.calls.clear()

    clusters = by_id(collect(eks_clusters, aws))
    assert len(clusters) == 5 and aws.calls["ListClusters"] == 3
    assert aws.calls["ListNodegroups"] == 2 + 4  # serving's 4 in pages of 2; one call per empty cluster
    serving = clusters["serving"]
    # moto leaves resourcesVpcConfig.vpcId out (AWS fills it): the cluster then hangs off the account
    assert (serving.state, serving.vpc_id, serving.parent_id, serving.tags) == ("ACTIVE", "", ACCOUNT, {"team": "ml"})
    assert serving.resource_class and serving.created is not None
    assert (serving.details["nodegroups"], serving.details["fargate_profiles"]) == (4, 1)
    assert (clusters["empty-0"].details["nodegroups"], clusters["empty-0"].parent_id) == (0, ACCOUNT)

    aws.calls.clear()
    groups = collect(eks_nodegroups, aws)
    assert len(groups) == 4 and aws.calls["DescribeNodegroup"] == 4
    group = next(g for g in groups if g.name == "gpu-1")
    assert group.resource_id.startswith(f"arn:aws:eks:{REGION}:{ACCOUNT}:nodegroup/serving/gpu-1/")
    assert (group.parent_id, group.resource_class, group.tags) == ("serving", "g5.xlarge", {"team": "ml"})
    assert {k: group.details[k] for k in ("desired_size", "min_size", "max_size", "instance_types")} == {
        "desired_size": 2, "min_size": 1, "max_size": 4, "instance_types": ("g5.xlarge",)}


def test_autoscaling_groups_all_pages(aws):
    autoscaling, ec2 = aws("autoscaling"), aws("ec2")
    _, subnet_ids = network(ec2)
    autoscaling.create_launch_configuration(LaunchConfigurationName="workers-lc", ImageId=ami(ec2),
                                            InstanceType="t3.small")
    for n in range(5):
        autoscaling.create_auto_scaling_group(
            AutoScalingGroupName=f"workers-{n}", LaunchConfigurationName="workers-lc", MinSize=0, MaxSize=4,
            DesiredCapacity=n % 3, VPCZoneIdentifier=",".join(subnet_ids),
            Tags=[{"Key": "team", "Value": "batch", "PropagateAtLaunch": True}])
    aws.page_size("autoscaling", "DescribeAutoScalingGroups", "MaxRecords", 2)
    aws.calls.clear()

    found = by_id(collect(autoscaling_groups, aws))
    assert len(found) == 5 and aws.calls["DescribeAutoScalingGroups"] == 3
    group = found["workers-2"]
    assert (group.state, group.subnet_id, group.parent_id, group.resource_class) == (
        "active", subnet_ids[0], subnet_ids[0], "workers-lc")
    assert group.tags == {"team": "batch"} and group.created is not None
    assert {k: group.details[k] for k in ("desired_capacity", "min_size", "max_size", "in_service")} == {
        "desired_capacity": 2, "min_size": 0, "max_size": 4, "in_service": 2}


def test_ecs_services_described_ten_at_a_time(aws):
    ecs = aws("ecs")
    ecs.create_cluster(clusterName="search")
    ecs.register_task_definition(family="indexer", containerDefinitions=[{"name": "a", "image": "x", "memory": 128}])
    for n in range(12):
        ecs.create_service(cluster="search", serviceName=f"indexer-{n}", taskDefinition="indexer", desiredCount=n % 3,
                           launchType="FARGATE" if n % 2 else "EC2", tags=[{"key": "team", "value": "search"}])
    aws.calls.clear()

    found = {r.name: r for r in collect(ecs_services, aws)}
    assert len(found) == 12 and aws.calls["DescribeServices"] == 2
    service = found["indexer-5"]
    assert service.resource_id == f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/search/indexer-5"
    assert (service.parent_id, service.resource_class, service.state, service.tags) == (
        "search", "FARGATE", "ACTIVE", {"team": "search"})
    assert (service.details["desired_tasks"], service.details["launch_type"]) == (2, "FARGATE")
    assert isinstance(service.details["running_tasks"], int)


def test_dynamodb_tables_all_pages(aws):
    dynamodb = aws("dynamodb")
    key = {"KeySchema": [{"AttributeName": "k", "KeyType": "HASH"}],
           "AttributeDefinitions": [{"AttributeName": "k", "AttributeType": "S"}]}
    dynamodb.create_table(TableName="sessions", BillingMode="PROVISIONED", **key,
                          ProvisionedThroughput={"ReadCapacityUnits": 50, "WriteCapacityUnits": 10},
                          Tags=[{"Key": "team", "Value": "web"}])
    for n in range(3):
        dynamodb.put_item(TableName="sessions", Item={"k": {"S": f"session-{n}"}})
    for n in range(4):
        dynamodb.create_table(TableName=f"events-{n}", BillingMode="PAY_PER_REQUEST", **key)
    aws.page_size("dynamodb", "ListTables", "Limit", 2)
    aws.calls.clear()

    found = by_id(collect(dynamodb_tables, aws))
    assert len(found) == 5 and aws.calls["ListTables"] == 3
    table = found["sessions"]
    assert (table.state, table.resource_class, table.parent_id, table.tags) == (
        "ACTIVE", "PROVISIONED", ACCOUNT, {"team": "web"})
    assert table.created is not None and table.size_bytes is not None
    assert {k: table.details[k] for k in ("item_count", "read_capacity_units", "write_capacity_units")} == {
        "item_count": 3, "read_capacity_units": 50, "write_capacity_units": 10}
    on_demand = found["events-0"]
    assert on_demand.resource_class == "PAY_PER_REQUEST" and on_demand.details["read_capacity_units"] is None
    assert on_demand.tags == {}


def test_elasticache_clusters_all_pages(aws):
    elasticache = aws("elasticache")
    for n in range(22):
        elasticache.create_cache_cluster(CacheClusterId=f"cache-{n:02d}", Engine="redis",
                                         CacheNodeType="cache.r6g.large" if n == 0 else "cache.t3.micro",
                                         NumCacheNodes=1, Tags=[{"Key": "team", "Value": "web"}] if n == 0 else [])
    aws.page_size("elasticache", "DescribeCacheClusters", "MaxRecords", 20)
    aws.calls.clear()

    found = by_id(collect(elasticache_clusters, aws))
    assert len(found) == 22 and aws.calls["DescribeCacheClusters"] == 2
    cache = found["cache-00"]
    assert (cache.resource_class, cache.state, cache.parent_id, cache.tags) == (
        "cache.r6g.large", "available", ACCOUNT, {"team": "web"})
    assert (cache.details["nodes"], cache.details["engine"]) == (1, "redis") and cache.created is not None


def test_opensearch_domains_described_five_at_a_time(aws):
    opensearch = aws("opensearch")
    for n in range(6):
        opensearch.create_domain(DomainName=f"search-{n}", EngineVersion="OpenSearch_2.11",
                                 ClusterConfig={"InstanceType": "r6g.large.search", "InstanceCount": 2},
                                 EBSOptions={"EBSEnabled": True, "VolumeType": "gp3", "VolumeSize": 100},
                                 TagList=[{"Key": "team", "Value": "search"}])
    aws.calls.clear()

    found = by_id(collect(opensearch_domains, aws))
    assert len(found) == 6 and aws.calls["DescribeDomains"] == 2
    domain = found["search-3"]
    assert (domain.resource_class, domain.size_bytes, domain.state, domain.tags) == (
        "r6g.large.search", 200 * GIB, "active", {"team": "search"})
    assert {k: domain.details[k] for k in ("instance_count", "volume_size_gib", "volume_type")} == {
        "instance_count": 2, "volume_size_gib": 100, "volume_type": "gp3"}


def test_sagemaker_endpoints_count_instances_per_variant(aws):
    sagemaker = aws("sagemaker")
    sagemaker.create_model(ModelName="reranker", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": "x"})
    sagemaker.create_endpoint_config(EndpointConfigName="reranker-config", ProductionVariants=[
        {"VariantName": "primary", "ModelName": "reranker", "InstanceType": "ml.g4dn.xlarge",
         "InitialInstanceCount": 2},
        {"VariantName": "canary", "ModelName": "reranker", "InstanceType": "ml.m5.large",
         "InitialInstanceCount": 1}])
    for n in range(3):
        sagemaker.create_endpoint(EndpointName=f"reranker-{n}", EndpointConfigName="reranker-config",
                                  Tags=[{"Key": "team", "Value": "ml"}])
    aws.page_size("sagemaker", "ListEndpoints", "MaxResults", 2)
    aws.calls.clear()

    found = by_id(collect(sagemaker_endpoints, aws))
    assert len(found) == 3 and aws.calls["ListEndpoints"] == 2
    endpoint = found["reranker-1"]
    assert (endpoint.resource_class, endpoint.parent_id, endpoint.tags) == ("ml.g4dn.xlarge", ACCOUNT, {"team": "ml"})
    assert endpoint.state and endpoint.created is not None
    assert endpoint.details["variants"] == (("primary", "ml.g4dn.xlarge", 2), ("canary", "ml.m5.large", 1))
    assert endpoint.details["instance_count"] == 3


def reranker_endpoints(sagemaker, *names):
    sagemaker.create_model(ModelName="reranker", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": "x"})
    sagemaker.create_endpoint_config(EndpointConfigName="reranker-config", ProductionVariants=[
        {"VariantName": variant, "ModelName": "reranker", "InstanceType": "ml.m5.large", "InitialInstanceCount": 1}
        for variant in ("primary", "canary")])
    for name in names:
        sagemaker.create_endpoint(EndpointName=name, EndpointConfigName="reranker-config")


def test_sagemaker_endpoints_sum_invocations_of_every_variant_in_one_metric_call(aws):
    reranker_endpoints(aws("sagemaker"), "busy", "idle")
    now = dt.datetime.now(dt.timezone.utc)
    aws("cloudwatch").put_metric_data(Namespace="AWS/SageMaker", MetricData=[
        {"MetricName": "Invocations", "Timestamp": now - dt.timedelta(days=day, hours=2), "Value": value,
         "Dimensions": [{"Name": "EndpointName", "Value": "busy"}, {"Name": "VariantName", "Value": variant}]}
        for day in range(10) for variant, value in (("primary", 100.0), ("canary", 1.0))])  # days 7..9: too old
    aws.calls.clear()

    found = by_id(collect(sagemaker_endpoints, aws))
    assert found["busy"].details["invocations_7d"] == 7 * 101.0
    assert found["idle"].details["invocations_7d"] == 0.0
    assert aws.calls["GetMetricData"] == 1


@pytest.mark.parametrize("failure", ["denied", "timeout"])
def test_sagemaker_endpoints_survive_a_cloudwatch_failure(aws, caplog, failure):
    reranker_endpoints(aws("sagemaker"), "ranker-a", "ranker-b")

    def denied(**_):
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "GetMetricData")

    def timed_out(request, **_):
        raise ReadTimeoutError(endpoint_url=request.url)
    event = "before-call" if failure == "denied" else "before-send"
    aws("cloudwatch").meta.events.register(f"{event}.cloudwatch.GetMetricData",
                                           denied if failure == "denied" else timed_out)

    with caplog.at_level(logging.WARNING, logger=metric_sums.__name__):
        found = by_id(collect(sagemaker_endpoints, aws))
    assert {name: r.details["invocations_7d"] for name, r in found.items()} == {"ranker-a": None, "ranker-b": None}
    assert ("AccessDenied" if failure == "denied" else "ReadTimeout") in caplog.text
    assert "2 SageMaker endpoints" in caplog.text


def test_sagemaker_notebooks_all_pages(aws):
    sagemaker = aws("sagemaker")
    for n in range(5):
        sagemaker.create_notebook_instance(NotebookInstanceName=f"research-{n}", InstanceType="ml.t3.medium",
                                           RoleArn=ROLE, VolumeSizeInGB=20,
                                           Tags=[{"Key": "team", "Value": "ml"}] if n else [])
    sagemaker.stop_notebook_instance(NotebookInstanceName="research-1")
    aws.page_size("sagemaker", "ListNotebookInstances", "MaxResults", 2)
    aws.calls.clear()

    found = by_id(collect(sagemaker_notebooks, aws))
    assert len(found) == 5 and aws.calls["ListNotebookInstances"] == 3
    assert (found["research-0"].state, found["research-1"].state) == ("InService", "Stopped")
    notebook = found["research-1"]
    assert (notebook.resource_class, notebook.size_bytes, notebook.parent_id, notebook.tags) == (
        "ml.t3.medium", 20 * GIB, ACCOUNT, {"team": "ml"})
    assert notebook.created is not None and found["research-0"].tags == {}


def manifest(layer_bytes: int, seed: str) -> str:
    import json
    return json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                       "config": {"size": 100, "digest": "sha256:" + seed * 64,
                                  "mediaType": "application/vnd.docker.container.image.v1+json"},
                       "layers": [{"size": layer_bytes, "digest": "sha256:" + seed * 64,
                                   "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip"}]})


LIFECYCLE = ('{"rules":[{"rulePriority":1,"description":"keep 10","selection":{"tagStatus":"any",'
             '"countType":"imageCountMoreThan","countNumber":10},"action":{"type":"expire"}}]}')


def test_ecr_repositories_images_and_lifecycle(aws):
    ecr = aws("ecr")
    ecr.create_repository(repositoryName="reranker", tags=[{"Key": "team", "Value": "ml"}])
    for seed in "abc":
        ecr.put_image(repositoryName="reranker", imageManifest=manifest(5000, seed), imageTag=f"v-{seed}")
    ecr.create_repository(repositoryName="tidy")
    ecr.put_lifecycle_policy(repositoryName="tidy", lifecyclePolicyText=LIFECYCLE)
    aws.calls.clear()

    found = by_id(collect(ecr_repositories, aws))
    repo = found["reranker"]
    assert (repo.details["image_count"], repo.details["lifecycle_policy"], repo.tags) == (3, False, {"team": "ml"})
    # moto reports each image's size as its manifest's config size
    images = ecr.describe_images(repositoryName="reranker")["imageDetails"]
    assert repo.size_bytes == sum(i["imageSizeInBytes"] for i in images)
    assert repo.size_bytes > 0 and repo.created is not None and repo.parent_id == ACCOUNT
    tidy = found["tidy"]
    assert (tidy.details["image_count"], tidy.details["lifecycle_policy"], tidy.size_bytes) == (0, True, 0)


def test_ecr_other_lifecycle_errors_fail_the_collector(aws):
    ecr = aws("ecr")
    ecr.create_repository(repositoryName="reranker")

    def deny(**_):
        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "GetLifecyclePolicy")
    ecr.meta.events.register("before-call.ecr.GetLifecyclePolicy", deny)
    with pytest.raises(ClientError):
        collect(ecr_repositories, aws)


def test_cloudwatch_log_groups_all_pages(aws):
    logs = aws("logs")
    for n in range(5):
        logs.create_log_group(logGroupName=f"/app/{n}", tags={"team": "web"} if n else {})
    logs.put_retention_policy(logGroupName="/app/1", retentionInDays=30)
    aws.page_size("logs", "DescribeLogGroups", "limit", 2)
    aws.calls.clear()

    found = by_id(collect(cloudwatch_log_groups, aws))
    assert len(found) == 5 and aws.calls["DescribeLogGroups"] == 3
    kept = found["/app/1"]
    assert (kept.details["retention_days"], kept.tags, kept.resource_class, kept.size_bytes) == (
        30, {"team": "web"}, "STANDARD", 0)
    assert kept.details["arn"] == f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/app/1"
    assert kept.created is not None and abs(kept.created - time.time()) < 600
    assert found["/app/0"].details["retention_days"] is None and found["/app/0"].tags == {}


def test_ecs_and_ecr_follow_next_tokens(monkeypatch):
    """moto answers ListServices and DescribeRepositories in one page whatever the size, so
    botocore's own paginators are driven with canned two-page replies (botocore's Stubber,
    which wants its calls in order: one repository at a time)."""
    from botocore.stub import Stubber

    from polo.collectors import base

    monkeypatch.setattr(base, "ITEMS_AT_ONCE", 1)

    ecs = boto3.client("ecs", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    cluster = f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/search"
    arns = [f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/search/s{n}" for n in range(3)]
    with Stubber(ecs) as stub:
        stub.add_response("list_clusters", {"clusterArns": [cluster]})
        stub.add_response("list_services", {"serviceArns": arns[:2], "nextToken": "t"}, {"cluster": cluster})
        stub.add_response("list_services", {"serviceArns": arns[2:]}, {"cluster": cluster, "nextToken": "t"})
        stub.add_response("describe_services", {"services": [
            {"serviceArn": arn, "serviceName": arn.rsplit("/", 1)[1], "desiredCount": 1, "runningCount": 1,
             "launchType": "FARGATE"} for arn in arns]}, {"cluster": cluster, "services": arns, "include": ["TAGS"]})
        found = list(ecs_services.collect(CollectContext(ACCOUNT, REGION, REGION, lambda s, r: ecs)))
    assert [r.name for r in found] == ["s0", "s1", "s2"] and found[2].parent_id == "search"

    ecr = boto3.client("ecr", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(ecr) as stub:
        stub.add_response("describe_repositories", {"repositories": [{"repositoryName": "api"}], "nextToken": "t"})
        stub.add_response("describe_repositories", {"repositories": [{"repositoryName": "web"}]}, {"nextToken": "t"})
        stub.add_response("describe_images", {"imageDetails": [{"imageSizeInBytes": 10}], "nextToken": "i"},
                          {"repositoryName": "api"})
        stub.add_response("describe_images", {"imageDetails": [{"imageSizeInBytes": 5}]},
                          {"repositoryName": "api", "nextToken": "i"})
        stub.add_response("get_lifecycle_policy", {"repositoryName": "api"}, {"repositoryName": "api"})
        stub.add_response("describe_images", {"imageDetails": []}, {"repositoryName": "web"})
        stub.add_client_error("get_lifecycle_policy", "LifecyclePolicyNotFoundException",
                              expected_params={"repositoryName": "web"})
        found = list(ecr_repositories.collect(CollectContext(ACCOUNT, REGION, REGION, lambda s, r: ecr)))
    assert [(r.name, r.size_bytes, r.details["image_count"], r.details["lifecycle_policy"]) for r in found] == [
        ("api", 15, 2, True), ("web", 0, 0, False)]
