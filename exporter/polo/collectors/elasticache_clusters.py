"""ElastiCache cache clusters (DescribeCacheClusters, all pages; ListTagsForResource each).

Yields, e.g.:
    Resource(account_id='651774330118', region='us-east-1', resource_type='elasticache_cluster',
             resource_id='sessions-001', name='sessions-001', state='available',
             parent_id='sessions', created=1719000000.0, resource_class='cache.r6g.large',
             details={'nodes': 1, 'engine': 'redis', 'replication_group': 'sessions',
                      'arn': 'arn:aws:elasticache:us-east-1:651774330118:cluster:sessions-001'})
Each node bills by the hour at its node type's price. A Redis replication group's members are
listed as clusters of their own; `parent_id` is the replication group, else the account.
"""
from __future__ import annotations

from typing import Sequence

from polo.collectors.base import (
    CONSOLE, CollectContext, Console, Gauge, PriceQuery, Prices, ResourceType, detail, paginate,
)
from polo.model import Resource, tag_dict, timestamp


def collect(ctx: CollectContext):
    elasticache = ctx.regional_client("elasticache")
    for cluster in paginate(elasticache, "describe_cache_clusters", "CacheClusters"):
        arn = cluster.get("ARN", "")
        tags = tag_dict(elasticache.list_tags_for_resource(ResourceName=arn).get("TagList")) if arn else tag_dict(None)
        group = cluster.get("ReplicationGroupId") or ""
        yield Resource(
            account_id=ctx.account_id,
            region=ctx.region,
            resource_type=TYPE.name,
            resource_id=cluster["CacheClusterId"],
            name=cluster["CacheClusterId"],
            state=cluster.get("CacheClusterStatus", ""),
            parent_id=group or ctx.account_id,
            created=timestamp(cluster.get("CacheClusterCreateTime")),
            resource_class=cluster.get("CacheNodeType", ""),
            tags=tags,
            details={"nodes": cluster.get("NumCacheNodes"), "engine": cluster.get("Engine", ""),
                     "replication_group": group, "arn": arn},
        )


def price(prices: Prices, r: Resource) -> float | None:
    """Every node at its node type's hourly price for the engine (Valkey is cheaper)."""
    engine = str(r.details.get("engine", "redis"))
    hourly = prices.lookup(r.region, "elasticache_node_hourly", engine, r.resource_class)
    return None if hourly is None else prices.monthly(hourly * int(r.details.get("nodes") or 1))


ENGINES = {"redis": "Redis", "memcached": "Memcached", "valkey": "Valkey"}


def price_queries(region: str, kind: str, classes: Sequence[str]) -> PriceQuery | None:
    match kind, classes:
        case "elasticache_node_hourly", [engine, node_type] if engine in ENGINES:
            return PriceQuery.of("AmazonElastiCache", "NodeUsage", region, productFamily="Cache Instance",
                                 instanceType=node_type, cacheEngine=ENGINES[engine])
    return None


TYPE = ResourceType(
    name="elasticache_cluster", collector="elasticache_clusters", collect=collect,
    price=price, price_queries=price_queries,
    gauges=(Gauge("polo_elasticache_cluster_nodes", "Cache nodes in an ElastiCache cluster.", detail("nodes")),),
    console=Console(CONSOLE + "elasticache/home?region={r}#/redis/{1}"),
    chain=2,
)
