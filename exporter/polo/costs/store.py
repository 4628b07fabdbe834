"""Daily costs on disk, so every final day is bought from Cost Explorer only once.

AWS restates recent days; a day older than the restatement window no longer changes. A day
is final once it was fetched at least `restatement_window_days` after it (the last time it
was inside the window): from then on it is never asked for again. One JSON file per payer
account and cost metric (switching metric starts a new file), written atomically (temp file
+ os.replace) so a crash mid-write leaves the previous state intact.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path

from polo.atomic import write_atomically

log = logging.getLogger(__name__)
VERSION = 1
ONE_DAY = dt.timedelta(days=1)
MAX_USD = 1e12  # no day of one service in one account costs more: a larger figure is corruption


def cost_figure(value: object) -> float:
    """A cost figure from the state file; ValueError unless it is a plausible finite number."""
    number = float(value)  # type: ignore[arg-type]  # TypeError for non-numbers is caught as corrupt
    if not math.isfinite(number) or abs(number) > MAX_USD:
        raise ValueError(f"implausible cost figure {number}")
    return number


@dataclass(frozen=True)
class Day:
    fetched: dt.date                      # the UTC day it was last fetched
    costs: dict[tuple[str, str], float]   # (account_id, service) -> usd


class CostStore:
    """The cached days of one payer account and cost metric. Load and save never raise:
    problems are logged and counted in `errors` by reason, and the store starts empty."""

    def __init__(self, state_dir: str, account_id: str, metric: str):
        self.path = Path(state_dir) / f"cost-explorer-{account_id}-{metric}.json"
        self.account_id, self.metric = account_id, metric
        self.days: dict[dt.date, Day] = {}
        self.forecast: tuple[dt.date, float] | None = None  # (asked on, rest-of-month forecast)
        self.horizon: dt.date | None = None  # Cost Explorer refused days before it
        self.errors: dict[str, int] = {"missing": 0, "corrupt": 0, "write": 0}

    def load(self) -> None:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            if raw.get("version") != VERSION or raw.get("account") != self.account_id \
                    or raw.get("metric") != self.metric:
                raise ValueError("not this version, account or metric")
            self.days = {
                dt.date.fromisoformat(day): Day(dt.date.fromisoformat(entry["fetched"]), {
                    (account, service): cost_figure(amount)
                    for account, services in entry["costs"].items()
                    for service, amount in services.items()})
                for day, entry in raw["days"].items()}
            self.horizon = dt.date.fromisoformat(raw["horizon"]) if raw.get("horizon") else None
            forecast = raw.get("forecast")
            self.forecast = ((dt.date.fromisoformat(forecast["asked"]), cost_figure(forecast["usd"]))
                             if forecast else None)
        except FileNotFoundError:  # a first start: normal, so not a warning
            self.errors["missing"] += 1
            log.info("no cost state at %s yet: the full history is fetched once", self.path)
        except (OSError, ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:
            self.days, self.forecast, self.horizon = {}, None, None
            self._problem("corrupt", f"cost state {self.path} is unreadable ({type(exc).__name__}): "
                                     "rebuilding it from Cost Explorer")

    def _problem(self, reason: str, message: str) -> None:
        self.errors[reason] += 1
        log.warning("%s", message)

    def unsettled(self, first: dt.date, today: dt.date, window_days: int) -> list[tuple[dt.date, dt.date]]:
        """The [start, end) ranges to fetch so that every day from `first` (or the horizon) to
        today is known: days not cached, days cached before they were final unless already
        fetched today (the restatement window is asked once a day, AWS restates at most daily),
        and always yesterday and today, whose figures grow during the day; runs that touch
        are one range."""
        ranges: list[tuple[dt.date, dt.date]] = []
        tail = today - ONE_DAY
        day = max(first, self.horizon) if self.horizon else first
        while day < tail:
            cached = self.days.get(day)
            final = cached is not None and (cached.fetched - day).days >= window_days
            if cached is None or (not final and cached.fetched < today):
                if ranges and ranges[-1][1] == day:
                    ranges[-1] = (ranges[-1][0], day + ONE_DAY)
                else:
                    ranges.append((day, day + ONE_DAY))
            day += ONE_DAY
        tomorrow = today + ONE_DAY
        if ranges and ranges[-1][1] == tail:
            return ranges[:-1] + [(ranges[-1][0], tomorrow)]
        return ranges + [(tail, tomorrow)]

    def update(self, start: dt.date, end: dt.date, costs: dict[dt.date, dict[tuple[str, str], float]],
               fetched: dt.date) -> None:
        """Replace every day in [start, end) with what was just fetched (days without data too)."""
        day = start
        while day < end:
            self.days[day] = Day(fetched, costs.get(day, {}))
            day += ONE_DAY

    def daily_costs(self) -> dict[dt.date, dict[tuple[str, str], float]]:
        return {day: entry.costs for day, entry in self.days.items()}

    def save(self) -> None:
        days = {}
        for day in sorted(self.days):
            nested: dict[str, dict[str, float]] = {}
            for (account, service), usd in sorted(self.days[day].costs.items()):
                nested.setdefault(account, {})[service] = usd
            days[day.isoformat()] = {"fetched": self.days[day].fetched.isoformat(), "costs": nested}
        forecast = {"asked": self.forecast[0].isoformat(), "usd": self.forecast[1]} if self.forecast else None
        text = json.dumps({"version": VERSION, "account": self.account_id, "metric": self.metric,
                           "horizon": self.horizon.isoformat() if self.horizon else None,
                           "forecast": forecast, "days": days}, separators=(",", ":"))
        try:
            write_atomically(self.path, [text])
        except OSError as exc:
            self._problem("write", f"cannot write cost state {self.path} ({exc}): "
                                   "final days are fetched again after a restart")
