"""List-price estimates of what a resource costs a month.

Prices come from two places, asked in this order for every (region, kind, class) key:
the AWS Price List API's answers cached in state_dir (polo.prices.price_list_source fetches them in
the background, never on a scrape), then the table shipped in polo/data/prices.json (AWS's
public on-demand prices for two regions; its "source" and "as_of" say which). The bigger
services (EKS, ElastiCache, OpenSearch, SageMaker, DynamoDB, ECR, CloudWatch Logs) are
priced from the Price List API only.

Pure: no AWS, no clock, no logging. A price neither source has is None, never 0, so callers
can show the gap; `traced` also says which source answered.
"""
from __future__ import annotations

import json
from contextvars import ContextVar
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Iterable, Mapping

from polo.collectors import BY_NAME, RESOURCE_TYPES
from polo.model import GIB, Resource

GP3_BASELINE_IOPS = 3000  # included in the gp3 GB-month price
GP3_BASELINE_THROUGHPUT = 125  # MiB/s, included too
GP2_SMALL_VOLUME_GIB = 170  # gp2 volumes up to this size top out at 128 MiB/s, larger ones at 250
GP2_MAX_THROUGHPUT = 250
# Where a price came from: polo_price_source_info's `source` label.
PRICE_LIST, TABLE = "price_list", "table"
PriceKey = tuple[str, ...]  # (region, kind, *classes), e.g. ("eu-west-1", "ec2_instance_hourly", "m5.large")


_SOURCES: ContextVar[set[str] | None] = ContextVar("price_sources", default=None)  # not a metric


def gp2_baseline_iops(size_gib: float) -> float:
    """gp2 performance scales with size: 3 IOPS per GiB, at least 100, at most 16,000."""
    return min(16000.0, max(100.0, 3.0 * size_gib))


@dataclass(frozen=True)
class PriceTable:
    source: str
    as_of: str
    hours_per_month: float
    regions: Mapping[str, Mapping[str, Any]]
    rds_engine_aliases: Mapping[str, str]
    rds_multi_az_factor: float
    # Prices read from the AWS Price List API, asked before the table: PriceKey -> a price (or a
    # list of tiers). polo.prices.price_list_source fills it in place, from the keys in `asked`:
    # every key looked up since it last looked, so exactly what the inventory needs.
    price_list: dict[PriceKey, Any] = field(default_factory=dict, compare=False)
    asked: set[PriceKey] = field(default_factory=set, compare=False)

    @classmethod
    def load(cls) -> "PriceTable":
        """The table shipped inside the package."""
        text = resources.files("polo").joinpath("data/prices.json").read_text(encoding="utf-8")
        return cls.from_dict(json.loads(text))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "PriceTable":
        return cls(source=data["source"], as_of=data["as_of"],
                   hours_per_month=float(data["hours_per_month"]), regions=data["regions"],
                   rds_engine_aliases=data.get("rds_engine_aliases", {}),
                   rds_multi_az_factor=float(data.get("rds_multi_az_factor", 2)))

    def lookup(self, region: str, *path: str) -> Any:
        """The price at `path` (a price, or a list of tiers): the Price List API's, else the
        table's; None when neither has it."""
        key = (region, *path)
        self.asked.add(key)
        sources = _SOURCES.get()
        price = self.price_list.get(key)
        if price is not None:
            if sources is not None:
                sources.add(PRICE_LIST)
            return price
        node: Any = self.regions.get(region)
        for part in path:
            if not isinstance(node, Mapping) or part not in node:
                return None
            node = node[part]
        if node is not None and sources is not None:
            sources.add(TABLE)
        return node

    def traced(self, resource: Resource) -> tuple[float | None, frozenset[str]]:
        """monthly_cost, and the sources (PRICE_LIST, TABLE) that answered its lookups."""
        sources: set[str] = set()
        token = _SOURCES.set(sources)
        try:
            return self.monthly_cost(resource), frozenset(sources)
        finally:
            _SOURCES.reset(token)

    def monthly(self, hourly: float | None) -> float | None:
        return None if hourly is None else hourly * self.hours_per_month

    def monthly_cost(self, resource: Resource) -> float | None:
        """Estimated USD a month at list price; None when no source has a price for it (or
        its type declares no price: polo.collectors)."""
        resource_type = BY_NAME.get(resource.resource_type)
        return resource_type.price(self, resource) if resource_type and resource_type.price else None

    # --- the building blocks the types' pricers use (polo.collectors.base.Prices) ------------

    def hourly_nodes(self, region: str, kind: str, nodes: Iterable[tuple[str, Any]]) -> float | None:
        """USD an hour for (instance type, count) pairs; pairs without a type or count add 0."""
        prices = [(self.lookup(region, kind, instance_type), int(count))
                  for instance_type, count in nodes if instance_type and count]
        if any(price is None for price, _count in prices):
            return None
        return sum(price * count for price, count in prices)

    def storage(self, r: Resource, kind: str) -> float | None:
        """A per-GB-month price times the resource's size (0 bytes when AWS gave none)."""
        per_gb = self.lookup(r.region, kind)
        return None if per_gb is None else per_gb * (r.size_bytes or 0) / GIB

    def volume_of(self, region: str, volume_type: str, size_gib: float, iops: float | None = None,
                  throughput: float | None = None) -> float | None:
        """Storage plus provisioned performance: gp3 IOPS and throughput above the included
        3,000 IOPS / 125 MiB/s, io1 per IOPS, io2 per IOPS in AWS's three tiers."""
        per_gb = self.lookup(region, "ebs_volume_gb_month", volume_type)
        performance = self._volume_performance(region, volume_type, iops, throughput)
        if per_gb is None or performance is None:
            return None
        return per_gb * size_gib + performance

    def _volume_performance(self, region: str, volume_type: str, iops: float | None,
                            throughput: float | None) -> float | None:
        if volume_type == "gp3":
            iops_price = self.lookup(region, "ebs_gp3_iops_month")
            throughput_price = self.lookup(region, "ebs_gp3_throughput_mibps_month")
            if iops_price is None or throughput_price is None:
                return None
            iops, throughput = iops or GP3_BASELINE_IOPS, throughput or GP3_BASELINE_THROUGHPUT
            return (max(0.0, iops - GP3_BASELINE_IOPS) * iops_price
                    + max(0.0, throughput - GP3_BASELINE_THROUGHPUT) * throughput_price)
        if volume_type == "io1":
            iops_price = self.lookup(region, "ebs_io1_iops_month")
            return None if iops_price is None else (iops or 0) * iops_price
        if volume_type == "io2":
            tiers = self.lookup(region, "ebs_io2_iops_month_tiers")
            if tiers is None:
                return None
            cost, remaining, floor = 0.0, float(iops or 0), 0.0
            for ceiling, price in tiers:
                band = remaining if ceiling is None else min(remaining, ceiling - floor)
                cost += band * price
                remaining -= band
                if ceiling is not None:
                    floor = ceiling
            return cost
        return 0.0

    def gp3_equivalent(self, region: str, size_gib: float, iops: float | None) -> float | None:
        """What a gp2 volume would cost as gp3 with at least its performance: gp2's baseline
        IOPS (bursts to 3,000 are covered by gp3's included 3,000) and, above 170 GiB, gp2's
        250 MiB/s. gp2's 128 MiB/s below 170 GiB counts as met by gp3's 125 MiB/s."""
        throughput = GP2_MAX_THROUGHPUT if size_gib > GP2_SMALL_VOLUME_GIB else GP3_BASELINE_THROUGHPUT
        return self.volume_of(region, "gp3", size_gib, max(iops or 0, gp2_baseline_iops(size_gib)),
                              throughput)


# Resource types with a list price: those whose declaration has a pricer. S3, Lambda and ECS on
# Fargate bill by usage; VPCs, subnets, security groups and Auto Scaling groups are free; EKS node
# groups' and Auto Scaling groups' instances are priced as the EC2 instances they are.
PRICED_TYPES = tuple(t.name for t in RESOURCE_TYPES if t.price)
