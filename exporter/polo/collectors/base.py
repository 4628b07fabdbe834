"""What every resource type shares: the declaration each type's module makes once, the context
its collector runs in, and the helpers for paging and tags.

Collectors import this module, never the package, which imports every collector. Nothing here
imports an AWS SDK: the pure core (config, prices, rules, rendering) and the Grafana generator
read the declarations without loading boto3.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Mapping, Protocol, Sequence, TypeVar

from polo.model import GIB, Resource, tag_dict

__all__ = ["GIB", "CollectContext", "Console", "Diagram", "Gauge", "PriceQuery", "Prices", "ResourceType", "detail",
           "each_item", "map_tags", "paginate"]

DAY = 86400
# Console pages: {r} is the region, {account} the account id, {1}, {2}... the id pattern's groups.
EC2_CONSOLE = "https://{r}.console.aws.amazon.com/ec2/home?region={r}#"
VPC_CONSOLE = "https://{r}.console.aws.amazon.com/vpcconsole/home?region={r}#"
CONSOLE = "https://{r}.console.aws.amazon.com/"
WHOLE_ID = "(.+)"


@dataclass(frozen=True)
class CollectContext:
    account_id: str
    region: str  # 'global' for global collectors
    home_region: str  # region for global services' API calls
    client: Callable[[str, str], Any]  # (service, region) -> boto3 client

    def regional_client(self, service: str):
        return self.client(service, self.home_region if self.region == "global" else self.region)


class Prices(Protocol):
    """What a type's pricer may ask of the price table (polo.prices.pricing.PriceTable): this
    interface keeps the declarations free of the prices package, which reads them."""

    @property
    def hours_per_month(self) -> float: ...

    @property
    def rds_engine_aliases(self) -> Mapping[str, str]: ...

    @property
    def rds_multi_az_factor(self) -> float: ...

    def lookup(self, region: str, *path: str) -> Any: ...

    def monthly(self, hourly: float | None) -> float | None: ...

    def hourly_nodes(self, region: str, kind: str, nodes: Iterable[tuple[str, Any]]) -> float | None: ...

    def storage(self, r: Resource, kind: str) -> float | None: ...

    def volume_of(self, region: str, volume_type: str, size_gib: float, iops: float | None = None,
                  throughput: float | None = None) -> float | None: ...


@dataclass(frozen=True)
class Gauge:
    """One per-resource gauge family: the identity labels, plus `labels` when `value` yields
    several (label values, number) pairs per resource instead of one number. A value AWS did
    not give (None) has no series."""

    name: str
    help: str
    value: Callable[[Mapping[str, Any]], Any]  # from the resource's details
    labels: tuple[str, ...] = ()


def detail(key: str, scale: float = 1) -> Callable[[Mapping[str, Any]], Any]:
    """A gauge's value read from one `details` key (booleans as 0/1), scaled to base units."""
    def value(details: Mapping[str, Any]):
        found = details.get(key)
        if found is None:
            return None
        return int(found) if isinstance(found, bool) else found * scale
    return value


@dataclass(frozen=True)
class Console:
    """The resource's AWS console page: `page` filled from the region, the account and the
    groups of `id_pattern` matched against the resource id. Patterns use no backslash, so the
    dashboards can put them into PromQL strings as they are."""

    page: str
    id_pattern: str = WHOLE_ID


@dataclass(frozen=True)
class Diagram:
    """Where the type sits in the Diagram dashboard's node graph, and its colour there:
    'account' (drawn under its account), 'vpc' (drawn inside its VPC, under its parent_id) or
    'parent' (drawn under its parent_id when that parent is on the graph, as volumes under
    their instance)."""

    place: str
    colour: str


@dataclass(frozen=True)
class PriceQuery:
    """One AWS Price List GetProducts query (polo.prices.price_list), and which of its products
    hold the price: TERM_MATCH filters (region code included) and a pattern the product's usage
    type must contain. Usage types carry a region prefix (USE1-, EU-, APS2-, ...) not worth
    mapping, so that test is made on the products rather than as a filter."""

    service_code: str
    filters: tuple[tuple[str, str], ...]  # TERM_MATCH (field, value), regionCode included
    usage_type: str  # regex searched in the product's usagetype
    tiers: tuple[tuple[str, int | None], ...] = ()  # io2: (usage type regex, tier ceiling)

    @classmethod
    def of(cls, service_code: str, usage_type: str, region: str, **filters: str) -> "PriceQuery":
        return cls(service_code, (("regionCode", region), *sorted(filters.items())), usage_type)

    def request(self) -> dict[str, Any]:
        """GetProducts parameters, NextToken and MaxResults aside."""
        return {"ServiceCode": self.service_code, "FormatVersion": "aws_v1",
                "Filters": [{"Type": "TERM_MATCH", "Field": f, "Value": v} for f, v in self.filters]}


# (region, price kind, classes) -> the query answering it, or None for a kind or class it
# does not price
PriceQueries = Callable[[str, str, Sequence[str]], "PriceQuery | None"]


@dataclass(frozen=True)
class ResourceType:
    """One AWS resource type, declared once in its collector's module; every list of types
    (config's collector names, the sweep, prices, gauges, rules, console links, the diagram)
    is derived from these declarations."""

    name: str  # the resource_type label
    collector: str  # its collector's name in the config and the `collector` label
    collect: Callable[[CollectContext], Iterable[Resource]]
    scope: str = "regional"  # or 'global': listed once per account (S3)
    price: Callable[[Prices, Resource], float | None] | None = None  # USD a month at list price
    price_queries: PriceQueries | None = None  # the Price List queries of the price kinds it looks up
    gauges: Sequence[Gauge] = ()
    console: Console | None = None
    diagram: Diagram | None = None
    taggable: bool = True  # checked by the missing_tags rule
    # Calls one after another that an account-region needs at the least (a listing, then a call
    # per item or on what it found): a sweep starts the longest chains first.
    chain: int = 1


def paginate(client, operation: str, result_key: str, **params) -> Iterator[Any]:
    """Every item of every page of a paginated Describe/List call (records, or names/ARNs)."""
    for page in client.get_paginator(operation).paginate(**params):
        yield from page.get(result_key, ())


Item = TypeVar("Item")
Described = TypeVar("Described")
ITEMS_AT_ONCE = 4  # per task, beyond the sweep's pool: a few more requests in flight per account


def each_item(describe: Callable[[Item], Described], items: Iterable[Item]) -> Iterator[Described]:
    """describe(item) for every item, in their order, ITEMS_AT_ONCE at a time: a type whose
    every item needs calls of its own (S3's buckets, ECR's repositories) otherwise makes one
    chain of them all, the longest task of a sweep. The first failure is the task's; items
    not yet started are dropped."""
    items = list(items)
    if len(items) < 2:
        yield from map(describe, items)
        return
    pool = ThreadPoolExecutor(min(ITEMS_AT_ONCE, len(items)), thread_name_prefix="polo-items")
    try:
        yield from pool.map(describe, items)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def map_tags(tags: dict[str, str] | None):
    """Tags AWS returns as a {key: value} map (EKS, ECS lists aside) in tag_dict's shape."""
    return tag_dict({"Key": k, "Value": v} for k, v in (tags or {}).items())
