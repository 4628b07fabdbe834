"""The AWS Price List Query API, pure part: which GetProducts query answers a price key, and
how to read the price out of the products it returns.

A price key is what polo.prices.pricing asks for: (region, kind, *classes). Each kind maps to one
query (polo.collectors.base.PriceQuery), declared by the resource type whose pricer looks it up:
a service code plus TERM_MATCH filters and a pattern the product's usage type must contain.

Only on-demand terms count. A tiered price (DynamoDB's free tier, then the paid rate) is read
at its highest tier, the steady-state rate; io2 IOPS keep AWS's three tiers. Several matching
products with different prices are ambiguous and give no price rather than a guess.
"""
from __future__ import annotations

import json
import math
import re
from typing import Any, Iterable, Mapping

from polo.collectors import RESOURCE_TYPES
from polo.collectors.base import PriceQuery
from polo.prices.pricing import PriceKey

# Units AWS lists a price in, and the factor to the unit polo.prices.pricing uses.
UNIT_FACTORS = {"GiBps-mo": 1 / 1024}  # gp3 throughput: polo prices per MiB/s-month


def query_for(key: PriceKey) -> PriceQuery | None:
    """The query answering `key`, from the type that looks the kind up (polo.collectors), or
    None for a kind or class the Price List cannot price."""
    region, kind, *classes = key
    for resource_type in RESOURCE_TYPES:
        query = resource_type.price_queries(region, kind, classes) if resource_type.price_queries else None
        if query is not None:
            return query
    return None


def parse_items(price_list: Iterable[Any]) -> list[Mapping[str, Any]]:
    """GetProducts' PriceList: each item a JSON document in a string."""
    return [json.loads(item) if isinstance(item, str) else item for item in price_list]


def on_demand_rate(product: Mapping[str, Any]) -> float | None:
    """USD per unit at the highest tier of the product's on-demand term, in polo's unit; None
    when the product has no on-demand term or no USD price."""
    best: tuple[float, float] | None = None  # (beginRange, rate)
    for term in (product.get("terms", {}).get("OnDemand") or {}).values():
        for dimension in (term.get("priceDimensions") or {}).values():
            try:
                rate = float(dimension["pricePerUnit"]["USD"]) * UNIT_FACTORS.get(dimension.get("unit", ""), 1.0)
                begin = float(dimension.get("beginRange", 0) or 0)
            except (KeyError, TypeError, ValueError):
                continue
            if math.isfinite(rate) and rate >= 0 and (best is None or begin > best[0]):
                best = (begin, rate)
    return None if best is None else best[1]


def usage_type(product: Mapping[str, Any]) -> str:
    return str(product.get("product", {}).get("attributes", {}).get("usagetype", ""))


def _single_rate(products: Iterable[Mapping[str, Any]], pattern: str) -> float | None:
    rates = {rate for p in products if re.search(pattern, usage_type(p))
             if (rate := on_demand_rate(p)) is not None}
    return rates.pop() if len(rates) == 1 else None


def price_from(query: PriceQuery, products: Iterable[Mapping[str, Any]]) -> float | list | None:
    """The price `query` asked for, from every product its pages returned."""
    products = list(products)
    if not query.tiers:
        return _single_rate(products, query.usage_type)
    tiers = []
    for pattern, ceiling in query.tiers:
        rate = _single_rate(products, pattern)
        if rate is None:
            return None
        tiers.append([ceiling, rate])
    return tiers
