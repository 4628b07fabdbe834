"""The cleanup-action metrics: polo_action_info and polo_action_monthly_savings_usd from the
rules in polo.actions.rules, with the first-seen memory they need kept in state_dir."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

from polo.actions import first_seen
from polo.actions.rules import Finding, evaluate
from polo.config import Config
from polo.render.exposition import Family, label_string
from polo.actions.first_seen import Key
from polo.render.labels import AccountNames, identity_labels
from polo.model import Snapshot
from polo.prices.pricing import PriceTable
from polo.source import Source

ACTION_LABELS = ("action", "reason")


class ActionSource(Source):
    """polo_action_info and polo_action_monthly_savings_usd for the latest snapshot; keeps the
    first-seen memory in `config.state_dir` (read on first use, written when it changes)."""

    def __init__(self, config: Config, prices: PriceTable):
        self.settings = config.actions
        self.prices = prices
        self.names = AccountNames(config)
        self.path = Path(config.state_dir) / first_seen.FILE_NAME
        self._memory: dict[Key, float] | None = None
        self.errors: Counter[str] = Counter({"corrupt": 0, "write": 0})

    def reconfigure(self, config: Config) -> None:
        self.settings = config.actions
        self.names = AccountNames(config)
        path = Path(config.state_dir) / first_seen.FILE_NAME
        if path != self.path:  # a new state_dir: its own memory, read on next use
            self.path, self._memory = path, None

    def findings(self, snapshot: Snapshot) -> list[Finding]:
        if self._memory is None:
            self._memory = first_seen.load(self.path, self.errors)
        found, memory = evaluate(snapshot, self.settings, self.prices, self._memory)
        if memory != self._memory:
            first_seen.save(self.path, memory, self.errors)
            self._memory = memory
        return found

    def families(self, snapshot: Snapshot | None) -> list[Family]:
        info = Family("polo_action_info", "gauge",
                      "One series per cleanup finding: what to do with the resource and why; value 1.")
        savings = Family("polo_action_monthly_savings_usd", "gauge",
                         "Estimated USD a month saved by the action (list prices); "
                         "absent when a price is missing.")
        if snapshot is not None:
            for finding in self.findings(snapshot):
                labels = identity_labels(finding.resource, self.names) + "," + label_string(
                    ACTION_LABELS, (finding.action, finding.reason))
                info.add(labels, 1)
                if finding.savings is not None:
                    savings.add(labels, round(finding.savings, 6))
        errors = Family.by_label(
            "polo_first_seen_state_errors_total", "counter",
            "First-seen memory file problems by reason: corrupt (ignored, rebuilt) or write (not saved).",
            "reason", self.errors)
        return [info, savings, errors]
