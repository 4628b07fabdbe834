"""Security groups (DescribeSecurityGroups, all pages), with world-open ingress summarised.

Yields, e.g.:
    Resource(account_id='651774330118', region='us-east-1', resource_type='security_group',
             resource_id='sg-1', name='bastion', parent_id='vpc-1', vpc_id='vpc-1',
             created=None,
             details={'group_name': 'bastion',
                      'open_ingress': (('all', 'all', '0.0.0.0/0'), ('tcp', '22', '0.0.0.0/0'),
                                       ('tcp', '22', '::/0'))})
`name` is the Name tag, else the GroupName. `open_ingress` holds one sorted, deduplicated
(protocol, port_range, source) triple per ingress permission open to 0.0.0.0/0 or ::/0:
protocol is 'tcp', 'udp', 'icmp', ... or 'all' (IpProtocol -1); port_range is '22', '80-443'
or 'all' (all protocols, no/-1 FromPort, or 0-65535); for ICMP it is the ICMP type.
Rules that open to prefix lists, other groups or narrower CIDRs are not listed.
AWS gives security groups no state and no creation time.
"""
from __future__ import annotations

from polo.collectors.base import EC2_CONSOLE, CollectContext, Console, ResourceType, paginate
from polo.model import Resource, tag_dict

WORLD_V4 = "0.0.0.0/0"
WORLD_V6 = "::/0"
PROTOCOL_NUMBERS = {"-1": "all", "6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6"}


def port_range(protocol: str, permission: dict) -> str:
    low, high = permission.get("FromPort"), permission.get("ToPort")
    if protocol == "all" or low is None or low == -1:
        return "all"
    if high is None or high == -1 or high == low:
        return str(low)
    if low == 0 and high == 65535:
        return "all"
    return f"{low}-{high}"


def open_ingress(permissions) -> tuple[tuple[str, str, str], ...]:
    """IpPermissions -> sorted unique (protocol, port_range, source) open to the world."""
    found = set()
    for permission in permissions or ():
        raw = str(permission.get("IpProtocol", "-1")).lower()
        protocol = PROTOCOL_NUMBERS.get(raw, raw)
        ports = port_range(protocol, permission)
        if any(r.get("CidrIp") == WORLD_V4 for r in permission.get("IpRanges", ())):
            found.add((protocol, ports, WORLD_V4))
        if any(r.get("CidrIpv6") == WORLD_V6 for r in permission.get("Ipv6Ranges", ())):
            found.add((protocol, ports, WORLD_V6))
    return tuple(sorted(found))


def collect(ctx: CollectContext):
    ec2 = ctx.regional_client("ec2")
    for group in paginate(ec2, "describe_security_groups", "SecurityGroups"):
        tags = tag_dict(group.get("Tags"))
        group_name = group.get("GroupName", "")
        yield Resource(
            account_id=ctx.account_id,
            region=ctx.region,
            resource_type=TYPE.name,
            resource_id=group["GroupId"],
            name=tags.get("Name") or group_name,
            parent_id=group.get("VpcId", ""),
            vpc_id=group.get("VpcId", ""),
            created=None,
            tags=tags,
            details={
                "group_name": group_name,
                "open_ingress": open_ingress(group.get("IpPermissions")),
            },
        )


TYPE = ResourceType(
    name="security_group", collector="security_groups", collect=collect,
    console=Console(EC2_CONSOLE + "SecurityGroup:groupId={1}"),
)
