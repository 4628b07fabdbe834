"""Line items folded into the figures the billing metrics show: pure, no AWS.

One billing period's `PeriodTotals` are built batch by batch (a Parquet row group at a time),
so memory follows the number of distinct keys, not of line items. Costs per day, tag and
commitment are [billed, effective] pairs in dicts (thousands of keys); per resource (up to
millions) only the billed cost is kept, in a dict per account, and partial sums stay in Arrow
until the period is complete (`finish`), where they take a tenth of the memory of Python
objects (docs/benchmarks.md).
"""
from __future__ import annotations

import sys
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import pyarrow as pa
import pyarrow.compute as pc

from polo.billing.schema import COMMITMENT_TYPES, ELIGIBLE_USAGE, ON_DEMAND
from polo.costs.store import cost_figure

DailyKey = tuple[str, str, str, str, str]      # day, account_id, service, region, charge_category
AllocationKey = tuple[str, str, str, str, str]  # day, account_id, kind (tag or cost_category), key, value
CommitmentKey = tuple[str, str, str]           # account_id, commitment type, measure
MEASURES = ("used", "unused", "eligible_on_demand")
COMPACT_ROWS = 1_000_000  # partial per-resource sums are merged once they hold this many rows
COSTS = [("billed", "sum"), ("effective", "sum")]


def _pair() -> list[float]:
    return [0.0, 0.0]


@dataclass
class PeriodTotals:
    """One billing period of one export: what its line items add up to."""

    daily: dict[DailyKey, list[float]] = field(default_factory=lambda: defaultdict(_pair))
    resources: dict[str, dict[str, float]] = field(default_factory=dict)  # account_id -> resource_id -> billed
    allocation: dict[AllocationKey, list[float]] = field(default_factory=lambda: defaultdict(_pair))
    commitments: dict[CommitmentKey, float] = field(default_factory=lambda: defaultdict(float))
    rows: int = 0
    _partial: list[pa.Table] = field(default_factory=list, repr=False)

    def add(self, line: pa.Table) -> None:
        """Fold one normalised batch (schema.normalise) in."""
        self.rows += line.num_rows
        keys = ["day", "account_id", "service", "region", "charge_category"]
        for *key, billed, effective in _rows(line.group_by(keys).aggregate(COSTS), keys):
            _add(self.daily[tuple(key)], billed, effective)
        with_id = line.filter(pc.not_equal(line["resource_id"], ""))
        self._partial.append(with_id.group_by(["account_id", "resource_id"]).aggregate([("billed", "sum")]))
        if sum(t.num_rows for t in self._partial) > COMPACT_ROWS:
            self._partial = [_merge(self._partial)]
        for column in (c for c in line.column_names if ":" in c):
            kind, key = _interned(column.split(":", 1))
            by = ["day", "account_id", column]
            for day, account, value, billed, effective in _rows(line.group_by(by).aggregate(COSTS), by):
                _add(self.allocation[(day, account, kind, key, value)], billed, effective)
        self._add_commitments(line)

    def finish(self) -> "PeriodTotals":
        """The per-resource sums, from Arrow into the dict the metrics read."""
        if self._partial:
            merged = _merge(self._partial + [_as_table(self.resources)])
            self._partial, self.resources = [], {}
            for account, resource_id, billed in _rows(merged, ["account_id", "resource_id"], ["billed_sum"],
                                                      interned=False):  # ids are unique
                self.resources.setdefault(sys.intern(account), {})[resource_id] = billed
        return self

    def _add_commitments(self, line: pa.Table) -> None:
        committed = line.filter(pc.not_equal(line["commitment_type"], ""))
        keys = ["account_id", "commitment_type", "commitment_status"]
        for account, kind, status, effective in _rows(committed.group_by(keys).aggregate(
                [("effective", "sum")]), keys, ["effective_sum"]):
            if status in ("used", "unused"):
                self.commitments[(account, kind, status)] += effective
        on_demand = line.filter(pc.and_(pc.equal(line["pricing"], ON_DEMAND),
                                        pc.equal(line["charge_category"], "Usage")))
        for kind in COMMITMENT_TYPES:
            eligible = on_demand.filter(pc.match_substring_regex(on_demand["usage_type"],
                                                                 ELIGIBLE_USAGE[kind].pattern))
            for account, effective in _rows(eligible.group_by(["account_id"]).aggregate([("effective", "sum")]),
                                            ["account_id"], ["effective_sum"]):
                self.commitments[(account, kind, "eligible_on_demand")] += effective

    def to_json(self) -> dict[str, Any]:
        self.finish()
        return {"rows": self.rows,
                "daily": [list(k) + v for k, v in sorted(self.daily.items())],
                "resources": {account: ids for account, ids in sorted(self.resources.items())},
                "allocation": [list(k) + v for k, v in sorted(self.allocation.items())],
                "commitments": [list(k) + [v] for k, v in sorted(self.commitments.items())]}

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> "PeriodTotals":
        """The inverse of to_json; ValueError, TypeError or KeyError on anything malformed."""
        totals = cls(rows=int(raw["rows"]))
        for target, name, width in ((totals.daily, "daily", 5), (totals.allocation, "allocation", 5)):
            for entry in raw[name]:
                if len(entry) != width + 2 or not all(isinstance(k, str) for k in entry[:width]):
                    raise ValueError(f"malformed entry {entry!r:.80}")
                target[tuple(_interned(entry[:width]))] = [cost_figure(entry[width]), cost_figure(entry[width + 1])]
        for account, ids in raw["resources"].items():
            totals.resources[sys.intern(str(account))] = {str(k): cost_figure(v) for k, v in ids.items()}
        for entry in raw["commitments"]:
            if len(entry) != 4 or entry[2] not in MEASURES:
                raise ValueError(f"malformed commitment {entry!r:.80}")
            totals.commitments[(entry[0], entry[1], entry[2])] = cost_figure(entry[3])
        return totals


def _rows(table: pa.Table, keys: list[str], values: Sequence[str] = ("billed_sum", "effective_sum"),
          interned: bool = True) -> Iterable:
    """The rows of a group_by result as tuples: keys then values (nulls as 0), column by column
    rather than a dict per row. Keys are `interned`: the same few days, accounts, services and
    regions make up hundreds of thousands of keys, and a string object each was most of their
    memory."""
    columns = [_interned(table[k].to_pylist()) if interned else table[k].to_pylist() for k in keys] + [
        pc.fill_null(table[v], 0.0).to_pylist() for v in values]
    return zip(*columns)


def _interned(values: list) -> list:
    return [sys.intern(v) if isinstance(v, str) else v for v in values]


def _merge(parts: list[pa.Table]) -> pa.Table:
    merged = pa.concat_tables([p.rename_columns(["account_id", "resource_id", "billed"]) for p in parts])
    return merged.group_by(["account_id", "resource_id"]).aggregate([("billed", "sum")])


def _as_table(resources: dict[str, dict[str, float]]) -> pa.Table:
    accounts = [a for a, ids in resources.items() for _ in ids]
    return pa.table({"account_id": pa.array(accounts, pa.string()),
                     "resource_id": pa.array([i for ids in resources.values() for i in ids], pa.string()),
                     "billed_sum": pa.array([v for ids in resources.values() for v in ids.values()], pa.float64())})


def _add(pair: list[float], billed: float, effective: float) -> None:
    pair[0] += billed
    pair[1] += effective


def ratio(part: float, whole: float) -> float | None:
    return part / whole if whole > 0 else None


def coverage_and_utilization(commitments: dict[CommitmentKey, float]
                             ) -> dict[tuple[str, str], tuple[float | None, float | None, float]]:
    """(account_id, commitment type) -> (coverage, utilization, eligible on-demand usd).
    Coverage: covered usage over covered plus eligible on-demand usage; utilization: used
    commitment over used plus unused. None where the denominator is zero."""
    result = {}
    for account, kind in sorted({(a, k) for a, k, _ in commitments}):
        used = commitments.get((account, kind, "used"), 0.0)
        unused = commitments.get((account, kind, "unused"), 0.0)
        eligible = commitments.get((account, kind, "eligible_on_demand"), 0.0)
        result[(account, kind)] = (ratio(used, used + eligible), ratio(used, used + unused), eligible)
    return result
