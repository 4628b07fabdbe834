"""polo_resource_monthly_cost_usd: a list-price estimate per resource, the gaps in it, and
where the prices came from.

A resource whose price neither the Price List cache nor the table has gets no cost series; it
is counted in polo_resource_price_missing and logged once per (type, region, class), so a gap
is visible instead of passing for $0. polo_price_source_info names the source per type and
region (a label on the info metric, not on the cost series: a cost series must keep its
identity when a price moves from the table to the Price List).
"""
from __future__ import annotations

import logging
from collections import Counter

from polo.config import Config
from polo.render.exposition import Family, label_string
from polo.render.labels import AccountNames, identity_labels
from polo.model import Snapshot
from polo.prices.pricing import PRICED_TYPES, PriceTable
from polo.source import Source

log = logging.getLogger(__name__)
GAP_LABELS = ("resource_type", "region", "resource_class")
SOURCE_LABELS = ("resource_type", "region", "source")


class ResourceCostSource(Source):
    def __init__(self, config: Config, prices: PriceTable):
        self.prices = prices
        self._logged: set[tuple[str, str, str]] = set()
        self._previous_gaps: set[tuple[str, str, str]] = set()
        self.reconfigure(config)

    def reconfigure(self, config: Config) -> None:
        self.names = AccountNames(config)
        self.fetching = config.pricing.price_list  # a gap may be a price still being fetched

    def families(self, snapshot: Snapshot | None) -> list[Family]:
        cost = Family("polo_resource_monthly_cost_usd", "gauge",
                      "Estimated USD a month for the resource at on-demand list prices "
                      f"(AWS Price List API, else the shipped table as of {self.prices.as_of}).")
        missing = Family("polo_resource_price_missing", "gauge",
                         "Resources in the current inventory whose list price Polo does not know.")
        sources = Family("polo_price_source_info", "gauge",
                         "Where the prices of a resource type in a region came from: price_list (the AWS "
                         "Price List API), table (the shipped table) or price_list+table; value 1.")
        if snapshot is None:
            return [cost, missing, sources]
        gaps: Counter[tuple[str, str, str]] = Counter()
        used: set[tuple[str, str, str]] = set()
        for r in snapshot.resources:
            if r.resource_type not in PRICED_TYPES:
                continue
            value, answered = self.prices.traced(r)
            if value is None:
                gaps[(r.resource_type, r.region, r.resource_class)] += 1
            else:
                cost.add(identity_labels(r, self.names), round(value, 6))
            if answered:
                used.add((r.resource_type, r.region, "+".join(sorted(answered))))
        for source in sorted(used):
            sources.add(label_string(SOURCE_LABELS, source), 1)
        # With the Price List on, a gap in one render is usually a price still being fetched:
        # only a gap seen twice running is worth a warning.
        for gap, count in sorted(gaps.items()):
            missing.add(label_string(GAP_LABELS, gap), count)
            if gap not in self._logged and (gap in self._previous_gaps or not self.fetching):
                self._logged.add(gap)
                log.warning("no list price for %s %r in %s (%d resources): no cost estimate for them",
                            gap[0], gap[2], gap[1], count)
        self._previous_gaps = set(gaps)
        return [cost, missing, sources]
