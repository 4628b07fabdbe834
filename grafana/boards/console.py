"""The AWS console page of a resource, built in PromQL as a `console_url` label so a table row
can link to it (`${__data.fields.console_url}`) whatever its type and region."""
from __future__ import annotations

EC2 = "https://{r}.console.aws.amazon.com/ec2/home?region={r}#"
VPC = "https://{r}.console.aws.amazon.com/vpcconsole/home?region={r}#"

# resource_type -> page, with {r} the region and {id} the resource_id label.
PAGES = {
    "ec2_instance": EC2 + "InstanceDetails:instanceId={id}",
    "vpc": VPC + "VpcDetails:VpcId={id}",
    "subnet": VPC + "SubnetDetails:subnetId={id}",
    "security_group": EC2 + "SecurityGroup:groupId={id}",
    "ebs_volume": EC2 + "VolumeDetails:volumeId={id}",
    "ebs_snapshot": EC2 + "SnapshotDetails:snapshotId={id}",
    "elastic_ip": EC2 + "ElasticIpDetails:AllocationId={id}",
    "nat_gateway": VPC + "NatGatewayDetails:natGatewayId={id}",
    "load_balancer": EC2 + "LoadBalancer:loadBalancerArn={id}",
    "rds_instance": "https://{r}.console.aws.amazon.com/rds/home?region={r}#database:id={id};is-cluster=false",
    "s3_bucket": "https://s3.console.aws.amazon.com/s3/buckets/{id}?region={r}",
    "lambda_function": "https://{r}.console.aws.amazon.com/lambda/home?region={r}#/functions/{id}",
}


def with_console_url(expr: str) -> str:
    """`expr` (series carrying region, resource_type, resource_id) with a `console_url` label.

    label_join packs `region|type|id` into console_url; one label_replace per type then
    rewrites the packed value of its own type into the page (others do not match and pass)."""
    out = f'label_join({expr}, "console_url", "|", "region", "resource_type", "resource_id")'
    for resource_type, page in sorted(PAGES.items()):
        replacement = page.format(r="${1}", id="${2}")
        pattern = f"([^|]+)\\\\|{resource_type}\\\\|(.+)"
        out = f'label_replace({out}, "console_url", "{replacement}", "console_url", "{pattern}")'
    return out
