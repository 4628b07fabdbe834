"""The demo estate's container, data and ML services, in the full regions of every account
(build_services is called by polo.demo.estate.build_full_region):

* EKS: prod runs a 'serving' cluster with a GPU node group and a Fargate profile in the first
  region; every third dev account has a 'sandbox' cluster with neither (a control plane
  billing alone);
* Auto Scaling: a 'batch' group per region, scaled to zero (no instances, so the EC2 counts
  are unchanged);
* ECS: a cluster with an 'indexer' service (Fargate), plus a 'crawler' (EC2) in prod;
* DynamoDB: a provisioned 'orders' table in prod, an on-demand 'sessions' table in dev,
  with a few items;
* ElastiCache: a Redis cluster in prod (first region), two nodes;
* OpenSearch: a 'search' domain in prod (first region), two data nodes with 100 GiB each;
* SageMaker: in prod's first region a 'reranker' endpoint (two variants); a 'research'
  notebook in every account's first region (stopped in dev);
* ECR: an 'api' repository with a lifecycle policy per region, and a 'models' one without in
  prod's first region, each with a few images;
* CloudWatch Logs: the first Lambda function's log group (30-day retention) and an 'audit'
  group that never expires, each with a few events stored.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

SERVICE_ROLE = "polo-demo-service"
LIFECYCLE = json.dumps({"rules": [{
    "rulePriority": 1, "description": "keep the last 20 images",
    "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 20},
    "action": {"type": "expire"}}]})


def digest(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def image_manifest(name: str, size: int) -> str:
    return json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"size": size, "digest": digest(f"{name}-config"),
                   "mediaType": "application/vnd.docker.container.image.v1+json"},
        "layers": [{"size": size, "digest": digest(f"{name}-layer"),
                    "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip"}]})


def map_tags(tag_list: list[dict[str, str]]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in tag_list}


def lower_tags(tag_list: list[dict[str, str]]) -> list[dict[str, str]]:
    return [{"key": t["Key"], "value": t["Value"]} for t in tag_list]


def build_services(account: Any, est: Any, index: int, region_index: int, team: str,
                   tag_fn, now: dt.datetime) -> None:
    """Add the services above to `est` (a RegionEstate), counting each resource."""
    client, region = account.client, est.region
    prod, first = account.environment == "prod", region_index == 0
    role = f"arn:aws:iam::{account.account_id}:role/{SERVICE_ROLE}"
    ml = tag_fn(team="ml", service="models")

    def record(resource_type: str, resource_id: str) -> None:
        est.service_ids.append(resource_id)
        est.counts[resource_type] += 1

    eks = client("eks", region)
    if prod and first:
        eks.create_cluster(name="serving", roleArn=role, tags=map_tags(ml),
                           resourcesVpcConfig={"subnetIds": est.subnet_ids})
        record("eks_cluster", "serving")
        group = eks.create_nodegroup(clusterName="serving", nodegroupName="gpu", subnets=est.subnet_ids,
                                     nodeRole=role, instanceTypes=["g5.xlarge"], tags=map_tags(ml),
                                     scalingConfig={"minSize": 1, "maxSize": 4, "desiredSize": 2})
        record("eks_nodegroup", group["nodegroup"]["nodegroupArn"])
        eks.create_fargate_profile(fargateProfileName="jobs", clusterName="serving",
                                   podExecutionRoleArn=role, selectors=[{"namespace": "jobs"}])
    elif not prod and first and index % 3 == 1:  # EKS clusters are slow to create in moto: a few
        eks.create_cluster(name="sandbox", roleArn=role, tags=map_tags(tag_fn(team=team, service="sandbox")),
                           resourcesVpcConfig={"subnetIds": est.subnet_ids})
        record("eks_cluster", "sandbox")

    ec2, autoscaling = client("ec2", region), client("autoscaling", region)
    ec2.create_launch_template(LaunchTemplateName="batch-workers", LaunchTemplateData={
        "ImageId": est.ami_ids[0], "InstanceType": "c5.xlarge"})
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName="batch", LaunchTemplate={"LaunchTemplateName": "batch-workers"},
        MinSize=0, MaxSize=6 if prod else 2, DesiredCapacity=0, VPCZoneIdentifier=",".join(est.subnet_ids),
        Tags=[dict(t, PropagateAtLaunch=True) for t in tag_fn(team=team, service="batch")])
    record("autoscaling_group", "batch")

    ecs = client("ecs", region)
    ecs.create_cluster(clusterName="search")
    ecs.register_task_definition(family="indexer", requiresCompatibilities=["FARGATE", "EC2"],
                                 networkMode="awsvpc", cpu="512", memory="1024",
                                 containerDefinitions=[{"name": "indexer", "image": "indexer:1", "memory": 1024}])
    services = [("indexer", "FARGATE", 2 if prod else 1)] + ([("crawler", "EC2", 3)] if prod else [])
    for name, launch_type, desired in services:
        reply = ecs.create_service(
            cluster="search", serviceName=name, taskDefinition="indexer", desiredCount=desired,
            launchType=launch_type, tags=lower_tags(tag_fn(team="search", service=name)),
            networkConfiguration={"awsvpcConfiguration": {
                "subnets": est.subnet_ids[:1], "securityGroups": [est.security_group_ids["app"]]}})
        record("ecs_service", reply["service"]["serviceArn"])

    if first:
        dynamodb = client("dynamodb", region)
        key = {"KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
               "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}]}
        name = "orders" if prod else "sessions"
        capacity = ({"BillingMode": "PROVISIONED", "ProvisionedThroughput": {
            "ReadCapacityUnits": 100, "WriteCapacityUnits": 25}} if prod else {"BillingMode": "PAY_PER_REQUEST"})
        dynamodb.create_table(TableName=name, Tags=tag_fn(team=team, service=name), **key, **capacity)
        for n in range(3):
            dynamodb.put_item(TableName=name, Item={"id": {"S": f"{name}-{n}"}, "body": {"S": "x" * 200}})
        record("dynamodb_table", name)

    if prod and first:
        elasticache = client("elasticache", region)
        elasticache.create_cache_cluster(CacheClusterId="sessions-cache", Engine="redis",
                                         CacheNodeType="cache.r6g.large", NumCacheNodes=2,
                                         Tags=tag_fn(team=team, service="sessions"))
        record("elasticache_cluster", "sessions-cache")
        client("opensearch", region).create_domain(
            DomainName="search", EngineVersion="OpenSearch_2.11",
            ClusterConfig={"InstanceType": "r6g.large.search", "InstanceCount": 2},
            EBSOptions={"EBSEnabled": True, "VolumeType": "gp3", "VolumeSize": 100},
            TagList=tag_fn(team="search", service="search"))
        record("opensearch_domain", "search")
        sagemaker = client("sagemaker", region)
        sagemaker.create_model(ModelName="reranker", ExecutionRoleArn=role,
                               PrimaryContainer={"Image": "reranker:3"})
        sagemaker.create_endpoint_config(EndpointConfigName="reranker-v3", ProductionVariants=[
            {"VariantName": "primary", "ModelName": "reranker", "InstanceType": "ml.g4dn.xlarge",
             "InitialInstanceCount": 2},
            {"VariantName": "shadow", "ModelName": "reranker", "InstanceType": "ml.m5.large",
             "InitialInstanceCount": 1}])
        sagemaker.create_endpoint(EndpointName="reranker", EndpointConfigName="reranker-v3", Tags=ml)
        record("sagemaker_endpoint", "reranker")

    if first:
        sagemaker = client("sagemaker", region)
        sagemaker.create_notebook_instance(NotebookInstanceName="research", RoleArn=role,
                                           InstanceType="ml.m5.xlarge" if prod else "ml.t3.medium",
                                           VolumeSizeInGB=50, Tags=ml)
        if not prod:
            sagemaker.stop_notebook_instance(NotebookInstanceName="research")
        record("sagemaker_notebook", "research")

    ecr = client("ecr", region)
    repositories = [("api", True, 2)] + ([("models", False, 4)] if prod and first else [])
    for name, lifecycle, images in repositories:
        ecr.create_repository(repositoryName=name, tags=tag_fn(team=team, service=name))
        if lifecycle:
            ecr.put_lifecycle_policy(repositoryName=name, lifecyclePolicyText=LIFECYCLE)
        for n in range(images):
            ecr.put_image(repositoryName=name, imageTag=f"v{n}",
                          imageManifest=image_manifest(f"{account.account_id}-{region}-{name}-{n}", 50_000_000))
        record("ecr_repository", name)

    logs = client("logs", region)
    stamp = int(now.timestamp() * 1000)
    groups = [(f"/aws/lambda/{est.function_names[0]}", 30), (f"/{account.label}/audit", None)]
    for name, retention in groups:
        logs.create_log_group(logGroupName=name, tags=map_tags(tag_fn(team=team, service="logging")))
        if retention:
            logs.put_retention_policy(logGroupName=name, retentionInDays=retention)
        logs.create_log_stream(logGroupName=name, logStreamName="main")
        logs.put_log_events(logGroupName=name, logStreamName="main", logEvents=[
            {"timestamp": stamp - n * 1000, "message": f"event {n} " + "x" * 500} for n in range(5, 0, -1)])
        record("cloudwatch_log_group", name)
