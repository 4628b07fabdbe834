"""The cost and budget metrics: a Source refreshing from Cost Explorer in the background.

A refresh buys only what is not final yet (yesterday and today, the restatement window once a
day, plus any days the state file lacks) and is all-or-nothing: on any error the last good figures stay and
polo_cost_explorer_up drops to 0. The forecast is bought at most once a day.
"""
from __future__ import annotations

import datetime as dt
import logging
import threading
from typing import Callable, Iterable

from polo.aws.access import AwsAccess
from polo.errors import error_code
from polo.config import Account, Config
from polo.costs import budget
from polo.costs.explorer import REQUEST_COST_USD, CostExplorer, RequestCounter
from polo.costs.store import CostStore
from polo.render.exposition import Family, label_string
from polo.render.labels import ACCOUNT_LABELS, AccountNames
from polo.source import Source, ended, refresh_forever

log = logging.getLogger(__name__)
SERVICE_LABELS = ACCOUNT_LABELS + ("service",)
DAILY_HELP = "Cost of the last complete day (UTC) by account and service."


def payer_of(config: Config) -> Account:
    """The account whose Cost Explorer is read (costs.account, which the config check and
    sharding guarantee is one of ours when costs are on)."""
    payer = config.account(config.costs.account or "")
    if payer is None:
        raise ValueError(f"costs.account {config.costs.account!r} is not a configured account")
    return payer


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class CostSource(Source):
    """The Source: figures from the state file at once, fresh ones after each refresh."""

    def __init__(self, config: Config, access: AwsAccess, now: Callable[[], dt.datetime] = utc_now):
        self.config, self._now = config, now
        payer = payer_of(config)
        self.counter = RequestCounter()
        self.explorer = CostExplorer(access, payer, config.costs.metric, self.counter)
        self.store = CostStore(config.state_dir, payer.id, config.costs.metric)
        self.store.load()
        self.names = AccountNames(config)
        self.up: bool | None = None  # None until the first refresh in this process
        self.last_success: float | None = None
        self.last_error = ""
        self._refresh_lock = threading.Lock()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        self._view = self._summarise(now().date()) if self.store.days else None

    def reconfigure(self, config: Config) -> None:
        """New accounts or settings; the state file and the figures stay. A new payer, cost
        metric or state_dir needs the state file of that combination: it is loaded then."""
        with self._refresh_lock:
            old, self.config = self.config, config
            self.names = AccountNames(config)
            payer = payer_of(config)
            if payer != self.explorer.account or old.costs.metric != config.costs.metric:
                self.explorer = CostExplorer(self.explorer.access, payer, config.costs.metric, self.counter)
            if (old.costs.account, old.costs.metric, old.state_dir) != (
                    config.costs.account, config.costs.metric, config.state_dir):
                self.store = CostStore(config.state_dir, payer.id, config.costs.metric)
                self.store.load()
            self._view = self._summarise(self._now().date()) if self.store.days else None

    def refresh(self, first: dt.date | None = None) -> bool:
        """Fetch every unsettled day from `first` (default: the earliest day a metric needs)
        to today, then the forecast. Returns False, keeping the old figures, on any error."""
        with self._refresh_lock:
            today = self._now().date()
            golden = self.config.budget.golden_date
            # whole months: Cost Explorer wants a month's first day for starts over 14 months back
            needed = budget.month_start(min(first or golden, golden, budget.previous_month_start(today)))
            try:
                fetched = self._fetch_within_history(needed, today)
            except Exception as exc:  # AccessDenied, throttling, malformed page: all keep the old figures
                self.up, self.last_error = False, error_code(exc)
                # the code only: AWS's messages name the assumed role's ARN
                log.warning("Cost Explorer refresh failed, keeping the last figures: %s", error_code(exc))
                return False
            for start, end, costs in fetched:
                self.store.update(start, end, costs, fetched=today)
            self._refresh_forecast(today)
            self.store.save()
            self.up, self.last_error, self.last_success = True, "", self._now().timestamp()
            self._view = self._summarise(today)
            log.info("cost refresh of %s done; %d Cost Explorer requests since start",
                     ", ".join(f"{start}..{end - dt.timedelta(days=1)}" for start, end, _ in fetched),
                     sum(self.counter.snapshot().values()))
            return True

    def _fetch(self, first: dt.date, today: dt.date) -> list[tuple[dt.date, dt.date, dict]]:
        ranges = self.store.unsettled(first, today, self.config.costs.restatement_window_days)
        return [(start, end, self.explorer.daily_costs(start, end)) for start, end in ranges]

    def _fetch_within_history(self, first: dt.date, today: dt.date) -> list[tuple[dt.date, dt.date, dict]]:
        """Cost Explorer serves daily data for 13 months plus the current month (more with its
        multi-year data opted in). When it refuses an older start, remember that horizon, so
        no later refresh asks again, and fetch from it: older days then come from the state
        file or not at all."""
        try:
            return self._fetch(first, today)
        except Exception as exc:
            horizon = budget.history_horizon(today)
            if error_code(exc) != "ValidationException" or self.store.horizon or first >= horizon:
                raise
            log.warning("Cost Explorer refused days before %s (%s): costs from %s on only",
                        horizon, error_code(exc), horizon)
            self.store.horizon = horizon
            return self._fetch(first, today)

    def _refresh_forecast(self, today: dt.date) -> None:
        """Cost Explorer's forecast for the rest of the month, once a day; on any error (moto
        does not implement it, new accounts get DataUnavailableException) the metric falls
        back to a linear projection."""
        if self.store.forecast and self.store.forecast[0] == today:
            return
        try:
            rest = self.explorer.forecast(today, budget.next_month_start(today))
        except Exception as exc:
            log.info("no Cost Explorer forecast (%s): projecting month-to-date linearly", error_code(exc))
            return
        self.store.forecast = (today, rest)

    def _summarise(self, today: dt.date) -> tuple[budget.CostSummary, str, float]:
        summary = budget.summarise(self.store.daily_costs(), today, self.config.budget.golden_date,
                                   (a.id for a in self.config.accounts))
        if self.store.forecast and self.store.forecast[0] == today:
            return summary, "cost_explorer", summary.month_to_date_total + self.store.forecast[1]
        return summary, "linear", budget.linear_month_forecast(summary, today)

    def golden_day_costs(self) -> dict[str, float] | None:
        """Cost per account on the golden date, None while it is unknown."""
        view = self._view
        return dict(view[0].golden_date) if view is not None and view[0].golden_date else None

    def run_once(self) -> None:
        self.refresh()

    def start(self, publish: Callable[[], None]) -> None:
        self._thread = refresh_forever("polo-costs", self.refresh, publish, lambda: self.config.costs.refresh_interval,
                                       self._stopped)

    def stop(self, timeout: float = 0.0) -> bool:
        self._stopped.set()
        return ended(self._thread, timeout)

    def _account(self, account_id: str) -> str:
        return label_string(ACCOUNT_LABELS, (account_id,) + self.names(account_id))

    def _service(self, key: tuple[str, str]) -> str:
        account_id, service = key
        return label_string(SERVICE_LABELS, (account_id,) + self.names(account_id) + (service,))

    def families(self, snapshot=None) -> Iterable[Family]:
        settings = self.config.budget
        monthly = Family("polo_budget_monthly_target_usd", "gauge", "Monthly cost target of the organisation.")
        monthly.add("", settings.monthly_target_usd)
        daily_target = Family("polo_budget_daily_target_usd", "gauge",
                              "Daily cost target: monthly target * 12 / 365.")
        daily_target.add("", budget.daily_target(settings.monthly_target_usd))
        golden_ts = Family("polo_budget_golden_date_timestamp_seconds", "gauge",
                           "The golden date, the cost baseline day (00:00 UTC).")
        golden_ts.add("", budget.midnight_utc(settings.golden_date))
        families = [monthly, daily_target, golden_ts]

        view = self._view
        if view is not None:
            summary, method, forecast_usd = view
            families += self._cost_families(summary, method, forecast_usd)
        return families + self._self_families()

    def _cost_families(self, summary: budget.CostSummary, method: str, forecast_usd: float) -> list[Family]:
        daily = Family("polo_cost_daily_usd", "gauge", DAILY_HELP)
        last_day = Family("polo_cost_last_complete_day_timestamp_seconds", "gauge",
                          "Which day polo_cost_daily_usd covers: its 00:00 UTC.")
        mtd = Family("polo_cost_month_to_date_usd", "gauge",
                     "Cost from the 1st of this month (UTC) to yesterday, by account and service.")
        previous = Family("polo_cost_previous_month_usd", "gauge", "Cost of the previous calendar month by account.")
        golden = Family("polo_cost_golden_date_usd", "gauge", "Cost on the golden date (the baseline day) by account.")
        since = Family("polo_cost_since_golden_date_usd", "gauge",
                       "Cost from the golden date to yesterday (UTC) by account.")
        forecast = Family("polo_cost_month_forecast_usd", "gauge",
                          "Month-end cost forecast of the organisation; method says Cost Explorer's or linear.")
        for key, usd in sorted(summary.daily.items()):
            daily.add(self._service(key), usd)
        if summary.last_complete_day is not None:
            last_day.add("", budget.midnight_utc(summary.last_complete_day))
        for key, usd in sorted(summary.month_to_date.items()):
            mtd.add(self._service(key), usd)
        for family, figures in ((previous, summary.previous_month), (golden, summary.golden_date),
                                (since, summary.since_golden_date)):
            for account_id, usd in sorted(figures.items()):
                family.add(self._account(account_id), usd)
        forecast.add(label_string(("method",), (method,)), forecast_usd)
        return [daily, last_day, mtd, previous, golden, since, forecast]

    def _self_families(self) -> list[Family]:
        requests = self.counter.snapshot()
        count = Family.by_label("polo_cost_explorer_requests_total", "counter",
                                "Cost Explorer requests (each page is one), by operation.", "operation", requests)
        spent = Family("polo_cost_explorer_request_cost_usd_total", "counter",
                       "Estimated Cost Explorer API charges: $0.01 per request.")
        spent.add("", round(sum(requests.values()) * REQUEST_COST_USD, 2))
        up = Family("polo_cost_explorer_up", "gauge", "1 if the last Cost Explorer refresh succeeded, else 0.")
        if self.up is not None:
            up.add("", 1 if self.up else 0)
        last = Family("polo_cost_explorer_last_success_timestamp_seconds", "gauge",
                      "When the last successful Cost Explorer refresh finished.")
        if self.last_success is not None:
            last.add("", self.last_success)
        errors = Family.by_label("polo_cost_state_errors_total", "counter",
                                 "Cost state file problems by reason: missing, corrupt (rebuilt) or write (not saved).",
                                 "reason", self.store.errors)
        return [count, spent, up, last, errors]
