"""The golden-date baseline, from the first source that reaches the golden date.

Cost Explorer serves daily data for about 13 months, so a golden date older than that has no
baseline there. In order: the billing export (as long as the bucket keeps it), Cost Explorer
(or its state file), the figures in the config (`budget.golden_baseline_usd`), v1's history
(`budget.golden_history_csv`). One family, its `source` label naming which answered.
"""
from __future__ import annotations

from typing import Callable, Iterable, Sequence

from polo.config import Config
from polo.render.exposition import Family, label_string
from polo.render.labels import ACCOUNT_LABELS, AccountNames
from polo.source import Source

Provider = tuple[str, Callable[[], "dict[str, float] | None"]]  # (source label, golden day's cost per account)


class GoldenBaselineSource(Source):
    def __init__(self, config: Config, providers: Sequence[Provider] = ()):
        """`providers`, in order of preference, from the running sources (polo.exporter.assemble);
        the config's figures follow them."""
        self.providers = list(providers)
        self.reconfigure(config)

    def reconfigure(self, config: Config) -> None:
        self.config = config
        self.names = AccountNames(config)

    def baseline(self) -> tuple[str, dict[str, float]] | None:
        settings = self.config.budget
        candidates = self.providers + [("config", lambda: dict(settings.golden_baseline) or None),
                                       ("v1_history", lambda: dict(settings.golden_history) or None)]
        for name, costs in candidates:
            found = costs()
            if found:
                return name, found
        return None

    def families(self, snapshot=None) -> Iterable[Family]:
        family = Family("polo_cost_golden_baseline_usd", "gauge",
                        "Cost on the golden date by account; source says where it came from (billing_export, "
                        "cost_explorer, config or v1_history).")
        found = self.baseline()
        if found is not None:
            source, costs = found
            for account in sorted(set(costs) | {a.id for a in self.config.accounts}):
                family.add(label_string(ACCOUNT_LABELS + ("source",), (account,) + self.names(account) + (source,)),
                           round(costs.get(account, 0.0), 6))
        return [family]
