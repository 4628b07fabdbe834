"""The AWS console page of a resource, built in PromQL as a `console_url` label so a table row
can link to it (`${__data.fields.console_url}`) whatever its type and region."""
from __future__ import annotations

import re

EC2 = "https://{r}.console.aws.amazon.com/ec2/home?region={r}#"
VPC = "https://{r}.console.aws.amazon.com/vpcconsole/home?region={r}#"
CONSOLE = "https://{r}.console.aws.amazon.com/"
WHOLE_ID = "(.+)"

# resource_type -> (page, resource_id pattern): {r} is the region, {1}, {2}... the pattern's
# groups. Patterns use no backslash, so they go into PromQL strings as they are.
PAGES = {
    "ec2_instance": (EC2 + "InstanceDetails:instanceId={1}", WHOLE_ID),
    "vpc": (VPC + "VpcDetails:VpcId={1}", WHOLE_ID),
    "subnet": (VPC + "SubnetDetails:subnetId={1}", WHOLE_ID),
    "security_group": (EC2 + "SecurityGroup:groupId={1}", WHOLE_ID),
    "ebs_volume": (EC2 + "VolumeDetails:volumeId={1}", WHOLE_ID),
    "ebs_snapshot": (EC2 + "SnapshotDetails:snapshotId={1}", WHOLE_ID),
    "elastic_ip": (EC2 + "ElasticIpDetails:AllocationId={1}", WHOLE_ID),
    "nat_gateway": (VPC + "NatGatewayDetails:natGatewayId={1}", WHOLE_ID),
    "load_balancer": (EC2 + "LoadBalancer:loadBalancerArn={1}", WHOLE_ID),
    "rds_instance": (CONSOLE + "rds/home?region={r}#database:id={1};is-cluster=false", WHOLE_ID),
    "s3_bucket": ("https://s3.console.aws.amazon.com/s3/buckets/{1}?region={r}", WHOLE_ID),
    "lambda_function": (CONSOLE + "lambda/home?region={r}#/functions/{1}", WHOLE_ID),
    "eks_cluster": (CONSOLE + "eks/home?region={r}#/clusters/{1}", WHOLE_ID),
    # arn:aws:eks:REGION:ACCOUNT:nodegroup/CLUSTER/NODEGROUP/UUID
    "eks_nodegroup": (CONSOLE + "eks/home?region={r}#/clusters/{1}/nodegroups/{2}",
                      "arn:[^:]+:eks:[^:]*:[^:]*:nodegroup/([^/]+)/([^/]+)/.*"),
    "autoscaling_group": (EC2 + "AutoScalingGroupDetails:id={1}", WHOLE_ID),
    # arn:aws:ecs:REGION:ACCOUNT:service/CLUSTER/SERVICE
    "ecs_service": (CONSOLE + "ecs/v2/clusters/{1}/services/{2}?region={r}",
                    "arn:[^:]+:ecs:[^:]*:[^:]*:service/([^/]+)/([^/]+)"),
    "dynamodb_table": (CONSOLE + "dynamodbv2/home?region={r}#table?name={1}", WHOLE_ID),
    "elasticache_cluster": (CONSOLE + "elasticache/home?region={r}#/redis/{1}", WHOLE_ID),
    "opensearch_domain": (CONSOLE + "aos/home?region={r}#opensearch/domains/{1}", WHOLE_ID),
    "sagemaker_endpoint": (CONSOLE + "sagemaker/home?region={r}#/endpoints/{1}", WHOLE_ID),
    "sagemaker_notebook": (CONSOLE + "sagemaker/home?region={r}#/notebook-instances/{1}", WHOLE_ID),
    "ecr_repository": (CONSOLE + "ecr/repositories/private/{account}/{1}?region={r}", WHOLE_ID),
    "cloudwatch_log_group": (CONSOLE + "cloudwatch/home?region={r}#logsV2:log-groups/log-group/{1}", WHOLE_ID),
}


def _fill(page: str, region: str, account_id: str, groups: list[str]) -> str:
    """Every placeholder in one pass, so a filled-in value is never filled again."""
    values = {"r": region, "account": account_id} | {str(n): g for n, g in enumerate(groups, start=1)}
    return re.sub(r"\{(r|account|\d+)\}", lambda placeholder: values[placeholder.group(1)], page)


def console_page(resource_type: str, region: str, account_id: str, resource_id: str) -> str:
    """The page for one resource, computed in Python: what the PromQL below must produce."""
    page, pattern = PAGES[resource_type]
    match = re.fullmatch(pattern, resource_id)
    assert match, (resource_type, resource_id)
    return _fill(page, region, account_id, list(match.groups()))


def with_console_url(expr: str) -> str:
    """`expr` (series carrying account_id, region, resource_type, resource_id) with a
    `console_url` label.

    label_join packs `region|account|type|id` into console_url; one label_replace per type then
    rewrites the packed value of its own type into the page (others do not match and pass)."""
    out = f'label_join({expr}, "console_url", "|", "region", "account_id", "resource_type", "resource_id")'
    for resource_type, (page, id_pattern) in sorted(PAGES.items()):
        groups = re.compile(id_pattern).groups
        replacement = _fill(page, "${1}", "${2}", ["${%d}" % (n + 3) for n in range(groups)])
        pattern = f"([^|]+)\\\\|([^|]+)\\\\|{resource_type}\\\\|{id_pattern}"
        out = f'label_replace({out}, "console_url", "{replacement}", "console_url", "{pattern}")'
    return out
