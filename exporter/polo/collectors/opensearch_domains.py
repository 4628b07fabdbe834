"""OpenSearch Service domains (ListDomainNames, one page; DescribeDomains five at a time;
ListTags each).

Yields, e.g.:
    Resource(account_id='651774330118', region='us-east-1', resource_type='opensearch_domain',
             resource_id='search', name='search', state='active', parent_id='vpc-1',
             vpc_id='vpc-1', resource_class='r6g.large.search', size_bytes=214748364800,
             details={'instance_count': 2, 'volume_size_gib': 100, 'volume_type': 'gp3',
                      'engine_version': 'OpenSearch_2.11', 'master_instance_type': '',
                      'master_count': 0, 'arn': 'arn:aws:es:us-east-1:651774330118:domain/search'})
`resource_class` is the data nodes' instance type; `size_bytes` their EBS storage in total
(volume size x instance count). Dedicated master nodes are in `master_instance_type` and
`master_count`. AWS reports no creation time. `state` is 'deleted' (being deleted),
'processing' (a configuration change in progress) or 'active'.
"""
from __future__ import annotations

from typing import Sequence

from polo.collectors.base import (
    CONSOLE, GIB, CollectContext, Console, Gauge, PriceQuery, Prices, ResourceType, detail,
)
from polo.model import Resource, tag_dict

DOMAINS_PER_CALL = 5  # DescribeDomains' limit


def state(domain: dict) -> str:
    if domain.get("Deleted"):
        return "deleted"
    return "processing" if domain.get("Processing") else "active"


def collect(ctx: CollectContext):
    opensearch = ctx.regional_client("opensearch")
    names = [d["DomainName"] for d in opensearch.list_domain_names().get("DomainNames", ())]
    for start in range(0, len(names), DOMAINS_PER_CALL):
        reply = opensearch.describe_domains(DomainNames=names[start:start + DOMAINS_PER_CALL])
        for domain in reply.get("DomainStatusList", ()):
            arn = domain.get("ARN", "")
            config = domain.get("ClusterConfig") or {}
            ebs = domain.get("EBSOptions") or {}
            count = config.get("InstanceCount") or 0
            volume = ebs.get("VolumeSize") if ebs.get("EBSEnabled") else None
            vpc_id = (domain.get("VPCOptions") or {}).get("VPCId") or ""
            yield Resource(
                account_id=ctx.account_id,
                region=ctx.region,
                resource_type=TYPE.name,
                resource_id=domain["DomainName"],
                name=domain["DomainName"],
                state=state(domain),
                parent_id=vpc_id or ctx.account_id,
                vpc_id=vpc_id,
                resource_class=config.get("InstanceType", ""),
                size_bytes=volume * GIB * count if volume else None,
                tags=tag_dict(opensearch.list_tags(ARN=arn).get("TagList")) if arn else tag_dict(None),
                details={"instance_count": count, "volume_size_gib": volume,
                         "volume_type": ebs.get("VolumeType", "") if volume else "",
                         "engine_version": domain.get("EngineVersion", ""),
                         "master_instance_type": config.get("DedicatedMasterType", "")
                         if config.get("DedicatedMasterEnabled") else "",
                         "master_count": (config.get("DedicatedMasterCount") or 0)
                         if config.get("DedicatedMasterEnabled") else 0,
                         "arn": arn},
            )


def price(prices: Prices, r: Resource) -> float | None:
    """Data nodes, dedicated masters and EBS storage; UltraWarm and snapshots excluded."""
    nodes = ((r.resource_class, r.details.get("instance_count")),
             (str(r.details.get("master_instance_type", "")), r.details.get("master_count")))
    hourly = prices.hourly_nodes(r.region, "opensearch_instance_hourly", nodes)
    per_gb = prices.lookup(r.region, "opensearch_storage_gb_month",
                           str(r.details.get("volume_type", "gp3"))) if r.size_bytes else 0.0
    if hourly is None or per_gb is None:
        return None
    return hourly * prices.hours_per_month + per_gb * (r.size_bytes or 0) / GIB


STORAGE_MEDIA = {"gp2": "GP2", "gp3": "GP3", "io1": "PIOPS-Storage", "standard": "Magnetic"}


def price_queries(region: str, kind: str, classes: Sequence[str]) -> PriceQuery | None:
    match kind, classes:
        case "opensearch_instance_hourly", [instance_type]:
            return PriceQuery.of("AmazonES", "ESInstance", region, productFamily="Amazon OpenSearch Service Instance",
                                 instanceType=instance_type)
        case "opensearch_storage_gb_month", [volume_type] if volume_type in STORAGE_MEDIA:
            return PriceQuery.of("AmazonES", r"ES.*-Storage", region, productFamily="Amazon OpenSearch Service Volume",
                                 storageMedia=STORAGE_MEDIA[volume_type])
    return None


TYPE = ResourceType(
    name="opensearch_domain", collector="opensearch_domains", collect=collect,
    price=price, price_queries=price_queries,
    gauges=(
        Gauge("polo_opensearch_domain_instances", "Data nodes of an OpenSearch domain.", detail("instance_count")),
        Gauge("polo_opensearch_domain_master_instances",
              "Dedicated master nodes of an OpenSearch domain (0 without dedicated masters).",
              detail("master_count")),
    ),
    console=Console(CONSOLE + "aos/home?region={r}#opensearch/domains/{1}"),
    chain=3,
)
