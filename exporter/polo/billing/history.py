"""The billing export's daily history for `polo-exporter backfill`: every day the export's
periods hold from --since on (as far back as the bucket keeps them, not Cost Explorer's 13
months), as polo_billed_cost_usd and polo_effective_cost_usd samples continuing the live
series, through the same reading, state file and OpenMetrics path as the exporter."""
from __future__ import annotations

import datetime as dt
import time
from collections import defaultdict

from polo.aws.access import AwsAccess
from polo.billing.source import COST_LABELS, BillingSource
from polo.config import Config
from polo.costs.backfill import family_lines
from polo.render.exposition import label_string

FAMILIES = (("polo_billed_cost_usd", 0, "Billed cost of a day (UTC) by account, service, region and charge category."),
            ("polo_effective_cost_usd", 1, "Effective (amortized) cost of a day (UTC) by account, service, region "
                                           "and charge category."))


def backfill_lines(config: Config, access: AwsAccess, first: dt.date, now: dt.datetime
                   ) -> tuple[list[str], str] | None:
    """(the two families' lines, a summary), or None when the export could not be read whole."""
    source = BillingSource(config, access, now=lambda: now.timestamp())
    started = time.monotonic()
    if not source.refresh():
        return None
    series: list[dict[str, list[tuple[dt.date, float]]]] = [defaultdict(list), defaultdict(list)]
    days: set[str] = set()
    for period in source.store.periods.values():
        for (day, account, service, region, charge), pair in period.totals.daily.items():
            date = dt.date.fromisoformat(day)
            if not first <= date < now.date():
                continue
            days.add(day)
            labels = label_string(COST_LABELS, (account,) + source.names(account) + (service, region, charge))
            for index in (0, 1):
                series[index][labels].append((date, pair[index]))
    lines = [line for name, index, help_text in FAMILIES for line in family_lines(name, help_text, series[index])]
    summary = (f"{sum(len(s) for s in series[0].values())} samples a family for {len(days)} days "
               f"({min(days, default='-')}..{max(days, default='-')}) from {len(source.store.periods)} billing "
               f"periods, {source.counter.files} Parquet files read in {time.monotonic() - started:.1f}s")
    return lines, summary
