"""The two export formats' columns, turned into one shape: pure pyarrow, no AWS.

Each Parquet batch becomes a table of LINE columns: the UTC day the usage started, the usage
account, service, region, FOCUS charge category, billed and effective (amortized) cost, the
resource id, the pricing kind, the commitment type and status, and one column per wanted tag
or cost category. CUR 2.0 has no effective-cost column: it is computed per line item type as
AWS's documentation describes (covered usage at the commitment's rate, the unused part of a
commitment on its fee line, upfront fees and negations zero).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Sequence

import pyarrow as pa
import pyarrow.compute as pc

SAVINGS_PLAN, RESERVED_INSTANCE = "savings_plan", "reserved_instance"
COMMITMENT_TYPES = (SAVINGS_PLAN, RESERVED_INSTANCE)
ON_DEMAND, COMMITTED, OTHER = "on_demand", "committed", "other"
# Usage a commitment could cover, by usage type (AWS prefixes a region code: "USE1-BoxUsage:m5.large").
ELIGIBLE_USAGE = {
    SAVINGS_PLAN: re.compile(r"(^|-)(BoxUsage|Lambda-GB-Second|Fargate-(vCPU|GB)-Hours|ml\.)"),
    RESERVED_INSTANCE: re.compile(r"(^|-)(BoxUsage|InstanceUsage:db\.|Multi-AZUsage:db\.|NodeUsage:cache\."
                                  r"|ESInstance:|Node:)"),
}


class SchemaError(Exception):
    """A data file lacks a column its format needs, or has one of the wrong type."""


@dataclass(frozen=True)
class Format:
    name: str
    columns: tuple[str, ...]       # always read
    tags: str                      # the map column of tags
    cost_categories: str           # the map column of cost categories
    tag_prefixes: tuple[str, ...]  # how a user tag key appears in the map, tried in order

    def needed(self, present: Sequence[str], tags: bool, categories: bool) -> list[str]:
        """The columns to read from a file with `present` columns; SchemaError if one is missing."""
        missing = [c for c in self.columns if c not in present]
        if missing:
            raise SchemaError(f"{self.name} export without column(s) {', '.join(missing)}")
        optional = [c for c, wanted in ((self.tags, tags), (self.cost_categories, categories)) if wanted]
        return list(self.columns) + [c for c in optional if c in present] + [
            c for c in OPTIONAL.get(self.name, ()) if c in present]


FOCUS = Format("focus", ("ChargePeriodStart", "SubAccountId", "ServiceName", "RegionId", "ChargeCategory",
                         "BilledCost", "EffectiveCost", "ResourceId", "PricingCategory",
                         "CommitmentDiscountCategory", "CommitmentDiscountStatus"),
               "Tags", "x_CostCategories", ("user:", ""))
CUR2 = Format("cur2", ("line_item_usage_start_date", "line_item_usage_account_id", "line_item_product_code",
                       "product_region_code", "line_item_line_item_type", "line_item_unblended_cost",
                       "line_item_resource_id", "line_item_usage_type", "pricing_term",
                       "savings_plan_savings_plan_effective_cost", "savings_plan_total_commitment_to_date",
                       "savings_plan_used_commitment", "reservation_effective_cost",
                       "reservation_unused_amortized_upfront_fee_for_billing_period",
                       "reservation_unused_recurring_fee"),
              "resource_tags", "cost_category", ("user_", "user:", ""))
OPTIONAL = {"focus": ("x_UsageType",), "cur2": ("product",)}  # read when present
BY_NAME = {f.name: f for f in (FOCUS, CUR2)}

# CUR 2.0 line item types -> FOCUS charge categories
CUR2_CHARGE = {"Usage": "Usage", "SavingsPlanCoveredUsage": "Usage", "DiscountedUsage": "Usage",
               "SavingsPlanNegation": "Usage", "Tax": "Tax", "Credit": "Credit", "Refund": "Credit",
               "BundledDiscount": "Credit", "EdpDiscount": "Credit", "PrivateRateDiscount": "Credit",
               "SavingsPlanRecurringFee": "Purchase", "SavingsPlanUpfrontFee": "Purchase", "RIFee": "Purchase",
               "Fee": "Purchase"}


def _text(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    """A string column, nulls as ''."""
    return pc.fill_null(pc.cast(column, pa.string()), "")


def _number(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    return pc.fill_null(pc.cast(column, pa.float64()), 0.0)


def _day(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    """'YYYY-MM-DD' of a timestamp (UTC) or of an ISO 8601 string."""
    if pa.types.is_timestamp(column.type):
        return pc.strftime(column, format="%Y-%m-%d")
    return pc.utf8_slice_codeunits(_text(column), 0, 10)


def _lookup(column: pa.ChunkedArray | pa.Array, candidates: Sequence[str]) -> pa.Array:
    """The first of `candidates` present in each row's map (or JSON object string), '' if none."""
    if pa.types.is_map(column.type):
        found = pa.nulls(len(column), pa.string())
        for key in candidates:
            found = pc.coalesce(found, pc.cast(pc.map_lookup(column, pa.scalar(key, column.type.key_type),
                                                             "first"), pa.string()))
        return pc.fill_null(found, "")
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        encoded = pc.dictionary_encode(_text(column))
        if isinstance(encoded, pa.ChunkedArray):
            encoded = encoded.combine_chunks()
        values = [_first_json(text, candidates) for text in encoded.dictionary.to_pylist()]
        return pc.take(pa.array(values, pa.string()), encoded.indices)
    raise SchemaError(f"a tag or cost category column of type {column.type}")


def _first_json(text: str, candidates: Sequence[str]) -> str:
    try:
        mapping = json.loads(text) if text else {}
    except ValueError:
        return ""
    if not isinstance(mapping, dict):
        return ""
    return next((str(mapping[k]) for k in candidates if mapping.get(k) not in (None, "")), "")


def _first(cases: Sequence[tuple[pa.Array, object]], otherwise: object) -> pa.Array:
    """Row by row, the value of the first case whose condition holds, else `otherwise`."""
    result = otherwise
    for condition, value in reversed(cases):
        result = pc.if_else(condition, value, result)
    return result  # at least one case, so an array


def tag_columns(table: pa.Table, fmt: Format, tag_keys: Sequence[str],
                cost_categories: Sequence[str]) -> dict[str, pa.Array]:
    """'tag:<key>' and 'cost_category:<name>' columns: the value, '' when untagged."""
    columns = {}
    for key in tag_keys:
        candidates = [prefix + key for prefix in fmt.tag_prefixes]
        columns[f"tag:{key}"] = (_lookup(table[fmt.tags], candidates) if fmt.tags in table.column_names
                                 else pa.array([""] * len(table), pa.string()))
    for name in cost_categories:
        columns[f"cost_category:{name}"] = (
            _lookup(table[fmt.cost_categories], [name]) if fmt.cost_categories in table.column_names
            else pa.array([""] * len(table), pa.string()))
    return columns


def normalise(table: pa.Table, fmt: Format, tag_keys: Sequence[str] = (),
              cost_categories: Sequence[str] = ()) -> pa.Table:
    """One batch of line items in format `fmt` as the line columns (day, account_id, service,
    region, charge_category, billed, effective, resource_id, usage_type, pricing,
    commitment_type, commitment_status) and the tag columns."""
    try:
        line = _focus(table) if fmt is FOCUS else _cur2(table)
        line.update(tag_columns(table, fmt, tag_keys, cost_categories))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
        raise SchemaError(f"{fmt.name} columns of unexpected types: {exc}") from exc
    return pa.table(line)


def _focus(t: pa.Table) -> dict[str, pa.Array]:
    category = _text(t["CommitmentDiscountCategory"])
    pricing = _text(t["PricingCategory"])
    usage_type = _text(t["x_UsageType"]) if "x_UsageType" in t.column_names else pa.array([""] * len(t))
    return {
        "day": _day(t["ChargePeriodStart"]), "account_id": _text(t["SubAccountId"]),
        "service": _text(t["ServiceName"]), "region": _text(t["RegionId"]),
        "charge_category": _text(t["ChargeCategory"]), "billed": _number(t["BilledCost"]),
        "effective": _number(t["EffectiveCost"]), "resource_id": _text(t["ResourceId"]), "usage_type": usage_type,
        # FOCUS 1.0 says Standard, Committed, Dynamic, Other (pre-1.0 drafts: On-Demand, Commitment-Based)
        "pricing": _first([(pc.is_in(pricing, pa.array(["Standard", "On-Demand"])), ON_DEMAND),
                           (pc.is_in(pricing, pa.array(["Committed", "Commitment-Based"])), COMMITTED)], OTHER),
        "commitment_type": _first([(pc.equal(category, "Spend"), SAVINGS_PLAN),
                                   (pc.equal(category, "Usage"), RESERVED_INSTANCE)], ""),
        "commitment_status": pc.utf8_lower(_text(t["CommitmentDiscountStatus"])),
    }


def _cur2(t: pa.Table) -> dict[str, pa.Array]:
    kind = _text(t["line_item_line_item_type"])
    unblended = _number(t["line_item_unblended_cost"])

    def of(*kinds: str) -> pa.Array:
        return pc.is_in(kind, pa.array(kinds))

    sp_unused = pc.max_element_wise(pc.subtract(_number(t["savings_plan_total_commitment_to_date"]),
                                                _number(t["savings_plan_used_commitment"])), 0.0)
    ri_unused = pc.add(_number(t["reservation_unused_amortized_upfront_fee_for_billing_period"]),
                       _number(t["reservation_unused_recurring_fee"]))
    effective = _first([(of("SavingsPlanCoveredUsage"), _number(t["savings_plan_savings_plan_effective_cost"])),
                        (of("DiscountedUsage"), _number(t["reservation_effective_cost"])),
                        (of("SavingsPlanRecurringFee"), sp_unused), (of("RIFee"), ri_unused),
                        (of("SavingsPlanNegation", "SavingsPlanUpfrontFee"), 0.0)], unblended)
    service = _text(t["line_item_product_code"])
    if "product" in t.column_names and pa.types.is_map(t["product"].type):
        service = pc.if_else(pc.equal(name := _lookup(t["product"], ["product_name"]), ""), service, name)
    charge = pc.fill_null(pc.take(pa.array(list(CUR2_CHARGE.values())),
                                  pc.index_in(kind, pa.array(list(CUR2_CHARGE)))), "Adjustment")
    covered = of("SavingsPlanCoveredUsage", "DiscountedUsage")
    return {
        "day": _day(t["line_item_usage_start_date"]), "account_id": _text(t["line_item_usage_account_id"]),
        "service": service, "region": _text(t["product_region_code"]), "charge_category": charge,
        "billed": unblended, "effective": effective, "resource_id": _text(t["line_item_resource_id"]),
        "usage_type": _text(t["line_item_usage_type"]),
        "pricing": _first([(covered, COMMITTED),
                           (pc.and_(of("Usage"), pc.equal(_text(t["pricing_term"]), "OnDemand")), ON_DEMAND)], OTHER),
        "commitment_type": _first([(of("SavingsPlanCoveredUsage", "SavingsPlanRecurringFee"), SAVINGS_PLAN),
                                   (of("DiscountedUsage", "RIFee"), RESERVED_INSTANCE)], ""),
        "commitment_status": _first([(covered, "used"), (of("SavingsPlanRecurringFee", "RIFee"), "unused")], ""),
    }
