"""Line items folded into the figures the billing metrics show: pure, no AWS.

One billing period's `PeriodTotals` are built batch by batch (a Parquet row group at a time),
so memory follows the number of distinct keys, not of line items. Costs are kept as
[billed, effective] pairs.
"""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import pyarrow as pa
import pyarrow.compute as pc

from polo.billing.schema import COMMITMENT_TYPES, ELIGIBLE_USAGE, ON_DEMAND

DailyKey = tuple[str, str, str, str, str]      # day, account_id, service, region, charge_category
AllocationKey = tuple[str, str, str, str]      # day, kind (tag or cost_category), key, value
CommitmentKey = tuple[str, str, str]           # account_id, commitment type, measure
MEASURES = ("used", "unused", "eligible_on_demand")
MAX_USD = 1e12  # a larger figure in the state file is corruption


def _pair() -> list[float]:
    return [0.0, 0.0]


@dataclass
class PeriodTotals:
    """One billing period of one export: what its line items add up to."""

    daily: dict[DailyKey, list[float]] = field(default_factory=lambda: defaultdict(_pair))
    resources: dict[tuple[str, str], list[float]] = field(default_factory=lambda: defaultdict(_pair))
    allocation: dict[AllocationKey, list[float]] = field(default_factory=lambda: defaultdict(_pair))
    commitments: dict[CommitmentKey, float] = field(default_factory=lambda: defaultdict(float))
    rows: int = 0

    def add(self, line: pa.Table) -> None:
        """Fold one normalised batch (schema.normalise) in."""
        self.rows += line.num_rows
        costs = [("billed", "sum"), ("effective", "sum")]
        for row in line.group_by(["day", "account_id", "service", "region", "charge_category"]).aggregate(
                costs).to_pylist():
            _accumulate(self.daily[(row["day"], row["account_id"], row["service"], row["region"],
                                    row["charge_category"])], row)
        with_id = line.filter(pc.not_equal(line["resource_id"], ""))
        for row in with_id.group_by(["account_id", "resource_id"]).aggregate(costs).to_pylist():
            _accumulate(self.resources[(row["account_id"], row["resource_id"])], row)
        for column in (c for c in line.column_names if ":" in c):
            kind, key = column.split(":", 1)
            for row in line.group_by(["day", column]).aggregate(costs).to_pylist():
                _accumulate(self.allocation[(row["day"], kind, key, row[column])], row)
        self._add_commitments(line)

    def _add_commitments(self, line: pa.Table) -> None:
        committed = line.filter(pc.not_equal(line["commitment_type"], ""))
        for row in committed.group_by(["account_id", "commitment_type", "commitment_status"]).aggregate(
                [("effective", "sum")]).to_pylist():
            if row["commitment_status"] in ("used", "unused"):
                self.commitments[(row["account_id"], row["commitment_type"], row["commitment_status"])] += \
                    row["effective_sum"]
        on_demand = line.filter(pc.and_(pc.equal(line["pricing"], ON_DEMAND),
                                        pc.equal(line["charge_category"], "Usage")))
        for kind in COMMITMENT_TYPES:
            eligible = on_demand.filter(pc.match_substring_regex(on_demand["usage_type"],
                                                                 ELIGIBLE_USAGE[kind].pattern))
            for row in eligible.group_by(["account_id"]).aggregate([("effective", "sum")]).to_pylist():
                self.commitments[(row["account_id"], kind, "eligible_on_demand")] += row["effective_sum"]

    def to_json(self) -> dict[str, Any]:
        return {"rows": self.rows,
                "daily": [list(k) + v for k, v in sorted(self.daily.items())],
                "resources": [list(k) + v for k, v in sorted(self.resources.items())],
                "allocation": [list(k) + v for k, v in sorted(self.allocation.items())],
                "commitments": [list(k) + [v] for k, v in sorted(self.commitments.items())]}

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> "PeriodTotals":
        """The inverse of to_json; ValueError, TypeError or KeyError on anything malformed."""
        totals = cls(rows=int(raw["rows"]))
        for target, width in ((totals.daily, 5), (totals.resources, 2), (totals.allocation, 4)):
            for entry in raw[{5: "daily", 2: "resources", 4: "allocation"}[width]]:
                if len(entry) != width + 2 or not all(isinstance(k, str) for k in entry[:width]):
                    raise ValueError(f"malformed entry {entry!r:.80}")
                target[tuple(entry[:width])] = [usd(entry[width]), usd(entry[width + 1])]
        for entry in raw["commitments"]:
            if len(entry) != 4 or entry[2] not in MEASURES:
                raise ValueError(f"malformed commitment {entry!r:.80}")
            totals.commitments[(entry[0], entry[1], entry[2])] = usd(entry[3])
        return totals


def _accumulate(pair: list[float], row: dict[str, Any]) -> None:
    pair[0] += row["billed_sum"] or 0.0
    pair[1] += row["effective_sum"] or 0.0


def usd(value: object) -> float:
    number = float(value)  # type: ignore[arg-type]
    if not math.isfinite(number) or abs(number) > MAX_USD:
        raise ValueError(f"implausible cost figure {number}")
    return number


def fold(batches: Iterable[pa.Table]) -> PeriodTotals:
    totals = PeriodTotals()
    for batch in batches:
        totals.add(batch)
    return totals


def ratio(part: float, whole: float) -> float | None:
    return part / whole if whole > 0 else None


def coverage_and_utilization(commitments: dict[CommitmentKey, float], accounts: Sequence[str] | None = None
                             ) -> dict[tuple[str, str], tuple[float | None, float | None, float]]:
    """(account_id, commitment type) -> (coverage, utilization, eligible on-demand usd).
    Coverage: covered usage over covered plus eligible on-demand usage; utilization: used
    commitment over used plus unused. None where the denominator is zero."""
    keys = {(a, k) for a, k, _ in commitments} if accounts is None else {
        (a, k) for a in accounts for k in COMMITMENT_TYPES}
    result = {}
    for account, kind in sorted(keys):
        used = commitments.get((account, kind, "used"), 0.0)
        unused = commitments.get((account, kind, "unused"), 0.0)
        eligible = commitments.get((account, kind, "eligible_on_demand"), 0.0)
        result[(account, kind)] = (ratio(used, used + eligible), ratio(used, used + unused), eligible)
    return result
