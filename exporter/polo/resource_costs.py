"""polo_resource_monthly_cost_usd: a list-price estimate per resource, and the gaps in it.

A resource whose price the table lacks gets no cost series; it is counted in
polo_resource_price_missing and logged once per (type, region, class), so a gap is visible
instead of passing for $0.
"""
from __future__ import annotations

import logging
from collections import Counter

from polo.config import Config
from polo.exposition import Family, label_string
from polo.labels import AccountNames, identity_labels
from polo.model import Snapshot
from polo.pricing import PRICED_TYPES, PriceTable
from polo.source import Source

log = logging.getLogger(__name__)
GAP_LABELS = ("resource_type", "region", "resource_class")


class ResourceCostSource(Source):
    def __init__(self, config: Config, prices: PriceTable):
        self.prices = prices
        self.names = AccountNames(config)
        self._logged: set[tuple[str, str, str]] = set()

    def reconfigure(self, config: Config, access=None) -> None:
        self.names = AccountNames(config)

    def families(self, snapshot: Snapshot | None) -> list[Family]:
        cost = Family("polo_resource_monthly_cost_usd", "gauge",
                      "Estimated USD a month for the resource at on-demand list prices "
                      f"(price table as of {self.prices.as_of}).")
        missing = Family("polo_resource_price_missing", "gauge",
                         "Resources in the current inventory whose list price Polo does not know.")
        if snapshot is None:
            return [cost, missing]
        gaps: Counter[tuple[str, str, str]] = Counter()
        for r in snapshot.resources:
            if r.resource_type not in PRICED_TYPES:
                continue
            value = self.prices.monthly_cost(r)
            if value is None:
                gaps[(r.resource_type, r.region, r.resource_class)] += 1
            else:
                cost.add(identity_labels(r, self.names), round(value, 6))
        for gap, count in sorted(gaps.items()):
            missing.add(label_string(GAP_LABELS, gap), count)
            if gap not in self._logged:
                self._logged.add(gap)
                log.warning("no list price for %s %r in %s (%d resources): no cost estimate for them",
                            gap[0], gap[2], gap[1], count)
        return [cost, missing]
