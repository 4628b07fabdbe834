"""Elastic IPs (DescribeAddresses, which has no pages), with the NAT gateways holding them
(DescribeNatGateways, all pages).

Yields, e.g.:
    Resource(account_id='651774330118', region='us-east-1', resource_type='elastic_ip',
             resource_id='eipalloc-1', name='nat-a', state='associated', parent_id='nat-1',
             details={'public_ip': '203.0.113.7', 'instance_id': '',
                      'nat_gateway_id': 'nat-1', 'network_interface_id': 'eni-1'})
`resource_id` is the AllocationId (the PublicIp for EC2-Classic addresses). `name` is the Name
tag, else the public IP. `state` is 'associated' when the address has an association, an
instance or a NAT gateway, else 'unassociated' (idle, yet still billed). `parent_id` is the
instance, else the NAT gateway, else ''. AWS gives addresses no creation time.
"""
from __future__ import annotations

from typing import Sequence

from polo.collectors.base import (
    EC2_CONSOLE, CollectContext, Console, PriceQuery, Prices, ResourceType, paginate,
)
from polo.model import Resource, tag_dict

GONE = ("deleted", "failed")  # NAT gateways in these states no longer hold their addresses


def nat_gateway_allocations(ec2) -> dict[str, str]:
    """AllocationId -> id of the live NAT gateway that holds it."""
    owners = {}
    for gateway in paginate(ec2, "describe_nat_gateways", "NatGateways"):
        if gateway.get("State") in GONE:
            continue
        for address in gateway.get("NatGatewayAddresses") or ():
            if address.get("AllocationId"):
                owners[address["AllocationId"]] = gateway["NatGatewayId"]
    return owners


def collect(ctx: CollectContext):
    ec2 = ctx.regional_client("ec2")
    nat_owners = nat_gateway_allocations(ec2)
    for address in ec2.describe_addresses().get("Addresses", ()):
        tags = tag_dict(address.get("Tags"))
        allocation_id = address.get("AllocationId") or ""
        public_ip = address.get("PublicIp") or ""
        instance_id = address.get("InstanceId") or ""
        nat_gateway_id = nat_owners.get(allocation_id, "") if allocation_id else ""
        associated = bool(address.get("AssociationId") or instance_id or nat_gateway_id)
        yield Resource(
            account_id=ctx.account_id,
            region=ctx.region,
            resource_type=TYPE.name,
            resource_id=allocation_id or public_ip,
            name=tags.get("Name") or public_ip,
            state="associated" if associated else "unassociated",
            parent_id=instance_id or nat_gateway_id,
            tags=tags,
            details={
                "public_ip": public_ip,
                "instance_id": instance_id,
                "nat_gateway_id": nat_gateway_id,
                "network_interface_id": address.get("NetworkInterfaceId") or "",
            },
        )


def price(prices: Prices, r: Resource) -> float | None:
    """Public IPv4 addresses are billed hourly since February 2024, associated or idle."""
    return prices.monthly(prices.lookup(r.region, "public_ipv4_hourly"))


def price_queries(region: str, kind: str, classes: Sequence[str]) -> PriceQuery | None:
    if (kind, classes) == ("public_ipv4_hourly", []):
        return PriceQuery.of("AmazonVPC", r"PublicIPv4:InUseAddress$", region)
    return None


TYPE = ResourceType(
    name="elastic_ip", collector="elastic_ips", collect=collect,
    price=price, price_queries=price_queries,
    console=Console(EC2_CONSOLE + "ElasticIpDetails:AllocationId={1}"),
    chain=2,
)
