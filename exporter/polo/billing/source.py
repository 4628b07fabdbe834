"""The billing metrics: a Source reading the billing export on its own thread.

A refresh lists the export's manifests (one ListObjectsV2 walk) and reads again only the
periods whose manifest changed since their totals were stored, each period whole or not at
all. On any failure the stored totals stay exported, polo_billing_export_up drops to 0 and
the problem is logged once (until it changes). Scrapes only render what the last refresh left.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import threading
import time
from collections import ChainMap, defaultdict
from dataclasses import replace
from typing import Callable, Iterable

from polo.aws.access import AwsAccess
from polo.billing import budgets
from polo.billing.export import BillingExport, ExportProblem, ReadCounter, ReadStopped, export_root
from polo.billing.store import BillingStore, Period
from polo.billing.totals import coverage_and_utilization
from polo.config import Account, Config
from polo.errors import error_code
from polo.model import Resource, Snapshot
from polo.render.exposition import Family, label_string
from polo.render.labels import ACCOUNT_LABELS, AccountNames, identity_labels
from polo.source import Source, ended, refresh_forever

log = logging.getLogger(__name__)
COST_LABELS = ACCOUNT_LABELS + ("service", "region", "charge_category")
ALLOCATION_LABELS = ("kind", "tag_key", "tag_value")
COMMITMENT_LABELS = ACCOUNT_LABELS + ("commitment_type",)
ERROR_REASONS = ("access_denied", "listing", "manifest", "missing_file", "corrupt_file", "schema", "other")


def reader_of(config: Config) -> Account:
    """The account (and role) that reads the bucket."""
    settings = config.billing_export
    assert settings is not None
    account = config.account(settings.account or "")
    if account is None:
        raise ValueError(f"billing_export.account {settings.account!r} is not a configured account")
    return replace(account, role_arn=settings.role_arn or account.role_arn)


def arn_tail(resource_id: str) -> str:
    """What follows the last '/' or ':' of an ARN ('arn:aws:rds:...:db:orders' -> 'orders')."""
    if not resource_id.startswith("arn:"):
        return resource_id
    return resource_id.replace(":", "/").rsplit("/", 1)[-1]


def month_of(day: dt.date) -> str:
    return day.strftime("%Y-%m")


def last_complete_day(periods: dict[str, Period], today: dt.date) -> str | None:
    """The latest day before today that the export holds, from the newest period holding one."""
    yesterday = (today - dt.timedelta(days=1)).isoformat()
    for name in sorted(periods, reverse=True):
        days = [key[0] for key in periods[name].totals.daily if key[0] <= yesterday]
        if days:
            return max(days)
    return None


class BillingSource(Source):
    def __init__(self, config: Config, access: AwsAccess, now: Callable[[], float] = time.time):
        self.access, self._now = access, now
        self.counter = ReadCounter()
        self.errors = dict.fromkeys(ERROR_REASONS, 0)
        self.up: bool | None = None
        self.last_success: float | None = None
        self._logged = ""  # the last problem logged, so a persistent one is logged once
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        self._store_key: tuple | None = None
        self._apply(config)

    def _apply(self, config: Config) -> None:
        settings = config.billing_export
        assert settings is not None
        self.config, self.settings = config, settings
        self.names = AccountNames(config)
        keys = tuple(f"tag:{k}" for k in config.tag_labels) + tuple(
            f"cost_category:{c}" for c in settings.cost_categories)
        # another state file (state_dir, export, format) or other aggregated keys: load afresh
        wanted = (config.state_dir, settings.name, settings.format, keys)
        if self._store_key != wanted:
            self.store, self._store_key = BillingStore(*wanted), wanted
            self.store.load()

    def reconfigure(self, config: Config) -> None:
        with self._lock:
            self._apply(config)

    def _export(self) -> BillingExport:
        client = self.access.client(reader_of(self.config), "s3", self.settings.region)
        return BillingExport(client, self.settings.bucket, self.settings.prefix, self.settings.name,
                             self.settings.format, os.path.join(self.config.state_dir, "scratch"), self.counter,
                             self._stopped)

    def refresh(self) -> bool:
        """Read every period whose manifest changed; True when nothing failed."""
        with self._lock:
            problems: list[tuple[str, str]] = []
            try:
                export = self._export()
                manifests = export.manifests()
            except Exception as exc:
                code = error_code(exc)
                problems.append(("access_denied" if "AccessDenied" in code else "listing",
                                 f"cannot list s3://{self.settings.bucket}/"
                                 f"{export_root(self.settings.prefix, self.settings.name)}: {code}"))
                manifests = None
            changed = False
            for period, manifest in sorted((manifests or {}).items()):
                held = self.store.periods.get(period)
                if held is not None and held.fingerprint == manifest.fingerprint:
                    continue
                if self._stopped.is_set():
                    break
                try:
                    totals = export.read_period(manifest, tuple(self.config.tag_labels),
                                                tuple(self.settings.cost_categories))
                except ReadStopped:  # the periods read so far are kept, the rest read at next start
                    break
                except ExportProblem as exc:
                    problems.append((exc.code, f"billing period {period}: {exc}"))
                    continue
                except Exception as exc:
                    code = error_code(exc)
                    problems.append(("access_denied" if "AccessDenied" in code else "other",
                                     f"billing period {period}: {code}"))
                    continue
                self.store.periods[period] = Period(manifest.fingerprint, manifest.delivered, totals)
                changed = True
                log.info("billing export %s: period %s read (%d line items)", self.settings.name, period, totals.rows)
            if changed:
                self.store.save()
            if self._stopped.is_set():
                return False  # stopping: no verdict on a refresh cut short
            for reason, _ in problems:
                self.errors[reason] += 1
            message = "; ".join(text for _, text in problems)
            if message and message != self._logged:
                log.warning("billing export %s, keeping the last figures: %s", self.settings.name, message)
            self._logged = message
            self.up = not problems
            if not problems:
                self.last_success = self._now()
            return not problems

    def run_once(self) -> None:
        self.refresh()

    def start(self, publish: Callable[[], None]) -> None:
        self._thread = refresh_forever("polo-billing", self.refresh, publish, lambda: self.settings.refresh_interval,
                                       self._stopped)

    def stop(self, timeout: float = 0.0) -> bool:
        self._stopped.set()
        return ended(self._thread, timeout)

    # --- rendering ----------------------------------------------------------------------------

    def families(self, snapshot: Snapshot | None) -> Iterable[Family]:
        today = dt.datetime.fromtimestamp(self._now(), dt.timezone.utc).date()
        periods = dict(self.store.periods)
        current = periods.get(month_of(today))
        families = self._resource_families(current, snapshot)  # each shard: its own resources
        if self.config.shard.index == 0:  # the organisation's totals: once
            last_day = last_complete_day(periods, today)
            last = periods.get(last_day[:7]) if last_day else None
            families += self._cost_families(current, last, last_day, today)
            families += self._budget_families([p for p in (current, last) if p is not None], today, last_day)
            families += self._commitment_families(current)
        return families + self._health_families(periods)

    def _cost_families(self, current: Period | None, last: Period | None, last_day: str | None,
                       today: dt.date) -> list[Family]:
        """The last complete day (from the period holding it) and this month (the current one)."""
        daily = {kind: Family(f"polo_{kind}_cost_usd", "gauge",
                              f"{kind.capitalize()} cost of the export's last complete day (UTC) by account, "
                              "service, region and charge category.") for kind in ("billed", "effective")}
        mtd = {kind: Family(f"polo_{kind}_cost_month_to_date_usd", "gauge",
                            f"{kind.capitalize()} cost from the 1st of this month (UTC) to yesterday, from the "
                            "billing export.") for kind in ("billed", "effective")}
        last_day_family = Family("polo_billed_cost_last_day_timestamp_seconds", "gauge",
                                 "Which day polo_billed_cost_usd covers: its 00:00 UTC.")
        allocation = Family("polo_cost_allocation_usd", "gauge",
                            "Billed cost from the 1st of this month to yesterday by allow-listed tag (kind tag) or "
                            "cost category (kind cost_category); tag_value empty: untagged.")
        allocation_daily = Family("polo_cost_allocation_daily_usd", "gauge",
                                  "Billed cost of the export's last complete day by tag or cost category.")
        yesterday = (today - dt.timedelta(days=1)).isoformat()
        month_sums: dict[tuple, list[float]] = defaultdict(lambda: [0.0, 0.0])
        day_sums: dict[tuple, list[float]] = defaultdict(lambda: [0.0, 0.0])
        if last is not None:
            for (day, account, service, region, charge), pair in last.totals.daily.items():
                if day == last_day:
                    _add(day_sums[(account, service, region, charge)], pair)
        if current is not None:
            for (day, account, service, region, charge), pair in current.totals.daily.items():
                if day <= yesterday:
                    _add(month_sums[(account, service, region, charge)], pair)
        for sums, families in ((day_sums, daily), (month_sums, mtd)):
            for (account, service, region, charge), (billed, effective) in sorted(sums.items()):
                labels = label_string(COST_LABELS, (account,) + self.names(account) + (service, region, charge))
                families["billed"].add(labels, round(billed, 6))
                families["effective"].add(labels, round(effective, 6))
        if last_day is not None:
            last_day_family.add("", dt.datetime.fromisoformat(last_day).replace(tzinfo=dt.timezone.utc).timestamp())
        alloc_month: dict[tuple[str, str, str], float] = defaultdict(float)
        alloc_day: dict[tuple[str, str, str], float] = defaultdict(float)
        for period in {id(p): p for p in (current, last) if p is not None}.values():
            for (day, _account, kind, tag_key, value), (billed, _effective) in period.totals.allocation.items():
                if day == last_day:
                    alloc_day[(kind, tag_key, value)] += billed
                if period is current and day <= yesterday:
                    alloc_month[(kind, tag_key, value)] += billed
        for alloc, family in ((alloc_month, allocation), (alloc_day, allocation_daily)):
            for labels_of, usd in sorted(alloc.items()):
                family.add(label_string(ALLOCATION_LABELS, labels_of), round(usd, 6))
        return [daily["billed"], daily["effective"], mtd["billed"], mtd["effective"], last_day_family,
                allocation, allocation_daily]

    def _budget_families(self, periods: list[Period], today: dt.date, last_day: str | None) -> list[Family]:
        daily = ChainMap(*(p.totals.daily for p in periods))
        allocation = ChainMap(*(p.totals.allocation for p in periods))
        target = Family("polo_budget_target_usd", "gauge",
                        "Monthly target of each budget (organisation: budget.monthly_target_usd).")
        to_date = Family("polo_budget_spend_month_to_date_usd", "gauge",
                         "Billed cost a budget selects, from the 1st of this month (UTC) to yesterday.")
        last = Family("polo_budget_spend_daily_usd", "gauge",
                      "Billed cost a budget selects on the export's last complete day.")
        forecast = Family("polo_budget_forecast_usd", "gauge",
                          "A budget's month-end forecast: month to date at its daily rate over the whole month.")
        for budget in budgets.figures(self.config, daily, allocation, today, last_day):
            labels = label_string(("budget",), (budget.name,))
            target.add(labels, budget.target_usd)
            to_date.add(labels, round(budget.month_to_date_usd, 6))
            last.add(labels, round(budget.last_day_usd, 6))
            forecast.add(labels, round(budget.forecast_usd, 6))
        return [target, to_date, last, forecast]

    def golden_day_costs(self) -> dict[str, float] | None:
        """Billed cost per account on the golden date, None when no period held reaches it."""
        golden = self.config.budget.golden_date.isoformat()
        period = self.store.periods.get(golden[:7])
        costs: dict[str, float] = defaultdict(float)
        for (day, account, *_), (billed, _effective) in period.totals.daily.items() if period else ():
            if day == golden:
                costs[account] += billed
        return dict(costs) or None

    def _resource_families(self, current: Period | None, snapshot: Snapshot | None) -> list[Family]:
        billed = Family("polo_resource_billed_cost_usd", "gauge",
                        "Billed cost of a resource this month so far, from the billing export, with the "
                        "inventory's identity labels.")
        unmatched = Family("polo_billing_export_unmatched_resources", "gauge",
                           "Resource ids billed this month that match no resource of the inventory, by account.")
        unmatched_usd = Family("polo_billing_export_unmatched_cost_usd", "gauge",
                               "Billed cost this month of resource ids that match no resource of the inventory, "
                               "by account.")
        if current is None or snapshot is None:
            return [billed, unmatched, unmatched_usd]
        index: dict[tuple[str, str], Resource] = {}
        for resource in snapshot.resources:
            index.setdefault((resource.account_id, resource.resource_id), resource)
            index.setdefault((resource.account_id, arn_tail(resource.resource_id)), resource)
        costs: dict[int, float] = defaultdict(float)  # by id(): a Resource's tags are not hashable
        own = {a.id for a in self.config.own_accounts}
        for account, ids in sorted(current.totals.resources.items()):
            if account not in own:  # another shard's (or an unconfigured account's) resources
                continue
            missed, missed_usd = 0, 0.0
            for resource_id, usd in ids.items():
                found = index.get((account, resource_id)) or index.get((account, arn_tail(resource_id)))
                if found is None:
                    missed, missed_usd = missed + 1, missed_usd + usd
                else:
                    costs[id(found)] += usd
            unmatched.add(self.names.prefix(account), missed)
            unmatched_usd.add(self.names.prefix(account), round(missed_usd, 6))
        for resource in snapshot.resources:
            if id(resource) in costs:
                billed.add(identity_labels(resource, self.names), round(costs.pop(id(resource)), 6))
        return [billed, unmatched, unmatched_usd]

    def _commitment_families(self, current: Period | None) -> list[Family]:
        coverage = Family("polo_commitment_coverage_ratio", "gauge",
                          "Share of the usage a commitment could cover that it did cover this month, by account "
                          "and commitment type (savings_plan, reserved_instance).")
        utilization = Family("polo_commitment_utilization_ratio", "gauge",
                             "Share of the commitment this month that usage used, by account and commitment type.")
        eligible = Family("polo_commitment_eligible_on_demand_usd", "gauge",
                          "On-demand spend this month that a commitment of this type could have covered.")
        if current is not None:
            for (account, kind), (covered, used, on_demand) in coverage_and_utilization(
                    current.totals.commitments).items():
                labels = label_string(COMMITMENT_LABELS, (account,) + self.names(account) + (kind,))
                if covered is not None:
                    coverage.add(labels, covered)
                if used is not None:
                    utilization.add(labels, used)
                eligible.add(labels, round(on_demand, 6))
        return [coverage, utilization, eligible]

    def _health_families(self, periods: dict[str, Period]) -> list[Family]:
        up = Family("polo_billing_export_up", "gauge", "1 if the last billing export refresh read everything it "
                                                       "needed, else 0 (the last good figures stay).")
        if self.up is not None:
            up.add("", 1 if self.up else 0)
        last = Family("polo_billing_export_last_success_timestamp_seconds", "gauge",
                      "When the last fully successful billing export refresh finished.")
        if self.last_success is not None:
            last.add("", self.last_success)
        delivered = Family("polo_billing_export_delivered_timestamp_seconds", "gauge",
                           "When AWS last delivered the export (the newest manifest held); time() minus it is "
                           "the lag behind AWS.")
        if periods:
            delivered.add("", max(p.delivered for p in periods.values()))
        held = Family("polo_billing_export_periods", "gauge", "Billing periods held (read once, kept in state_dir).")
        held.add("", len(periods))
        rows = Family("polo_billing_export_rows", "gauge", "Line items in the billing periods held.")
        rows.add("", sum(p.totals.rows for p in periods.values()))
        counter = self.counter
        files = Family("polo_billing_export_files_read_total", "counter", "Parquet data files read from S3.")
        files.add("", counter.files)
        size = Family("polo_billing_export_read_bytes_total", "counter", "Bytes of Parquet data files read from S3.")
        size.add("", counter.bytes)
        lines = Family("polo_billing_export_rows_read_total", "counter", "Line items read from Parquet data files.")
        lines.add("", counter.rows)
        errors = Family.by_label("polo_billing_export_errors_total", "counter",
                                 "Billing export refresh problems by reason (a period keeps its last totals).",
                                 "reason", self.errors)
        state = Family.by_label("polo_billing_export_state_errors_total", "counter",
                                "Billing state file problems by reason: missing, corrupt (re-read) or write.",
                                "reason", self.store.errors)
        return [up, last, delivered, held, rows, files, size, lines, errors, state]


def _add(pair: list[float], more: list[float]) -> None:
    pair[0] += more[0]
    pair[1] += more[1]
