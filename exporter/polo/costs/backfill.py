"""`polo-exporter backfill`: daily cost history as OpenMetrics for
`promtool tsdb create-blocks-from openmetrics`, continuing the live polo_cost_daily_usd.

Each day is one sample per account and service, stamped at the day's last second
(23:59:59 UTC): inside the day it measures, and just before the live exporter starts showing
that same day as its "last complete day". Days come from the same state file and refresh as
the exporter, so final days already bought are not bought again.
"""
from __future__ import annotations

import datetime as dt
import os
import sys
from typing import Callable, Iterable, Iterator

from polo.atomic import write_atomically
from polo.aws.access import AwsAccess
from polo.config import Config
from polo.costs.budget import midnight_utc
from polo.costs.explorer import REQUEST_COST_USD
from polo.costs.source import DAILY_HELP, SERVICE_LABELS, CostSource
from polo.render.exposition import escape, format_value, label_string
from polo.render.labels import AccountNames

EXIT_USAGE = 2
NAME = "polo_cost_daily_usd"


def family_lines(name: str, help_text: str, series: dict[str, list[tuple[dt.date, float]]]) -> Iterator[str]:
    """One gauge family of daily samples, series by series and each in time order, as promtool
    wants it; each day's sample at its last second. `series`: label string -> (day, usd)."""
    yield f"# HELP {name} {escape(help_text)}\n"
    yield f"# TYPE {name} gauge\n"
    for labels, samples in sorted(series.items()):
        for day, usd in sorted(samples):
            yield f"{name}{{{labels}}} {format_value(usd)} {int(midnight_utc(day)) + 86399}\n"


def openmetrics_lines(days: dict[dt.date, dict[tuple[str, str], float]], names: AccountNames,
                      more: Iterable[str] = ()) -> Iterator[str]:
    """Cost Explorer's daily history (and the `more` families' lines), then the end marker."""
    series: dict[str, list[tuple[dt.date, float]]] = {}
    for day in sorted(days):
        for (account_id, service), usd in days[day].items():
            labels = label_string(SERVICE_LABELS, (account_id,) + names(account_id) + (service,))
            series.setdefault(labels, []).append((day, usd))
    yield from family_lines(NAME, DAILY_HELP, series)
    yield from more
    yield "# EOF\n"


def since_error(since: str, today: dt.date) -> str | None:
    """Why `--since` is unusable, or None: checked before anything is built or asked."""
    try:
        first = dt.date.fromisoformat(since)
    except ValueError:
        first = None
    if first is None or first >= today:
        return f"polo-exporter: backfill: --since must be a past date like 2025-06-21, got {since!r}"
    return None


History = Callable[[AwsAccess, dt.date, dt.datetime], "tuple[list[str], str] | None"]


def run_backfill(config: Config, since: str, out: str, now: dt.datetime | None = None,
                 billing_history: History | None = None) -> int:
    """Cost Explorer's days from `since` (when costs are on) and, given `billing_history` (the
    billing export's families, polo.billing.history), the export's, into one file."""
    now = now or dt.datetime.now(dt.timezone.utc)
    problem = since_error(since, now.date())
    if problem is not None:
        print(problem, file=sys.stderr)
        return EXIT_USAGE
    first = dt.date.fromisoformat(since)
    access = AwsAccess(config.aws, home_region=config.regions[0])
    more: list[str] = []
    if billing_history is not None:
        found = billing_history(access, first, now)
        if found is None:
            print("polo-exporter: backfill: the billing export could not be read whole; nothing written",
                  file=sys.stderr)
            return 1
        more, summary = found
        print(f"polo-exporter: backfill: billing export: {summary}", file=sys.stderr)
    if not config.costs.enabled:
        days: dict[dt.date, dict[tuple[str, str], float]] = {}
        source = None
    else:
        source = CostSource(config, access, now=lambda: now)
        if not source.refresh(first):
            print(f"polo-exporter: backfill: Cost Explorer failed ({source.last_error}); nothing written",
                  file=sys.stderr)
            return 1
        days = {day: costs for day, costs in source.store.daily_costs().items() if first <= day < now.date()}
    try:
        write_atomically(out, openmetrics_lines(days, AccountNames(config), more))
        # readable by promtool running as another user (the compose stack's backfill-blocks):
        # the atomic write's temporary file is created 0600
        os.chmod(out, 0o644)
    except OSError as exc:
        print(f"polo-exporter: backfill: cannot write {out}: {exc.strerror}", file=sys.stderr)
        return 1
    requests = sum(source.counter.snapshot().values()) if source is not None else 0
    print(f"polo-exporter: backfill: wrote {sum(map(len, days.values()))} samples for {len(days)} days "
          f"({first}..{now.date() - dt.timedelta(days=1)}) to {out}; Cost Explorer requests: {requests} "
          f"(${requests * REQUEST_COST_USD:.2f})", file=sys.stderr)
    return 0
