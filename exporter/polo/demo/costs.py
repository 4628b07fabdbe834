"""Cost Explorer for the simulated AWS: a deterministic spend model behind moto's CE API.

moto 5.2 answers GetCostAndUsage from a queue of canned replies whatever period is asked, and
has no GetCostForecast. The demo needs the real behaviour, or the exporter's incremental
fetching, restatement window and paging would never run: `install_cost_model` answers every
period, granularity and GroupBy from `CostModel.daily_cost`, pages 500 groups at a time, and
forecasts from the same model.

Spend (by design, about the budget's scale): the daily target (monthly target * 12 / 365)
times 0.88 at the golden date, growing 0.03% a day, spread over the configured accounts (prod
about three times dev) and 15 services; weekends dip (dev 0.7, prod 0.92), every figure has
+-6% deterministic noise; the last configured account runs 2.5 times its share from 45 days
after the golden date on, and 100 days after it one account's data transfer spikes 12-fold.
Today is partial (the elapsed fraction of the day); the future costs nothing.

The answers hang on moto's backend *instances* of the configured accounts (a reset or the
end of `mock_aws` discards them) plus a `get_cost_forecast` handler on moto's response
class; the returned undo removes both. Backends are process-wide, so a ThreadedMotoServer in
the same process answers the same way. The payer (`costs.account`) sees every account, a
member account only itself.
"""
from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import time
from typing import Callable, Sequence

from polo.config import Config
from polo.costs.budget import daily_target, next_month_start

PAGE_SIZE = 500  # groups per GetCostAndUsage page
GROWTH_PER_DAY = 0.0003
SPIKE_AFTER_DAYS, SPIKE_FACTOR, SPIKE_SERVICE = 100, 12.0, "EC2 - Other"
OVERSHARE_AFTER_DAYS, OVERSHARE_FACTOR = 45, 2.5
RESTATED_DAYS = 3  # replies mark the last three days Estimated, as AWS does
SERVICES = {  # share of an account's spend
    "Amazon Elastic Compute Cloud - Compute": 0.32,
    "Amazon Relational Database Service": 0.12,
    "EC2 - Other": 0.10,
    "Amazon SageMaker": 0.08,
    "Amazon Simple Storage Service": 0.07,
    "Amazon Elastic Container Service for Kubernetes": 0.05,
    "Amazon OpenSearch Service": 0.05,
    "Amazon Elastic Load Balancing": 0.04,
    "Amazon Virtual Private Cloud": 0.04,
    "Amazon CloudWatch": 0.03,
    "Amazon DynamoDB": 0.03,
    "Amazon CloudFront": 0.03,
    "AWS Lambda": 0.02,
    "AWS Key Management Service": 0.01,
    "Amazon Route 53": 0.01,
}
DIMENSIONS = ("LINKED_ACCOUNT", "SERVICE")
ONE_DAY = dt.timedelta(days=1)


class ValidationError(Exception):
    """Raised as moto's JsonRESTError ValidationException by the installed handlers."""


def unit(*parts: object) -> float:
    """A deterministic number in [0, 1) from the parts."""
    digest = hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2 ** 64


class CostModel:
    def __init__(self, config: Config):
        self.accounts = {a.id: a for a in config.accounts}
        self.golden = config.budget.golden_date
        base = daily_target(config.budget.monthly_target_usd) * 0.88
        weights = {a.id: (3.0 if a.environment == "prod" else 1.0) * (0.6 + 0.8 * unit("weight", a.id))
                   for a in config.accounts}
        total = sum(weights.values())
        self.base = {account_id: base * weight / total for account_id, weight in weights.items()}
        ids = list(self.accounts)
        self.overshare_account = ids[-1]
        self.spike_account = ids[1 % len(ids)]

    def daily_cost(self, account_id: str, service: str, day: dt.date) -> float:
        """The full day's cost of one service in one account: a pure function of its arguments."""
        age = (day - self.golden).days
        usd = self.base[account_id] * SERVICES[service] * max(0.5, 1 + GROWTH_PER_DAY * age)
        if day.weekday() >= 5:
            usd *= 0.92 if self.accounts[account_id].environment == "prod" else 0.7
        if account_id == self.overshare_account and age >= OVERSHARE_AFTER_DAYS:
            usd *= OVERSHARE_FACTOR
        if account_id == self.spike_account and service == SPIKE_SERVICE and age == SPIKE_AFTER_DAYS:
            usd *= SPIKE_FACTOR
        return usd * (0.94 + 0.12 * unit(account_id, service, day))

    def cost_as_seen(self, account_id: str, service: str, day: dt.date, now: dt.datetime) -> float:
        """What Cost Explorer would show at `now`: today only so far, nothing for the future."""
        today = now.date()
        if day > today:
            return 0.0
        fraction = (now - dt.datetime.combine(today, dt.time(), now.tzinfo)) / ONE_DAY if day == today else 1.0
        return self.daily_cost(account_id, service, day) * fraction

    def cost_and_usage(self, request: dict, visible: Sequence[str], now: dt.datetime) -> dict:
        start, end = _period(request)
        granularity = request.get("Granularity")
        if granularity not in ("DAILY", "MONTHLY"):
            raise ValidationError(f"unsupported Granularity {granularity!r}")
        dimensions = [g.get("Key") for g in request.get("GroupBy", [])]
        if len(dimensions) > 2 or any(d not in DIMENSIONS for d in dimensions):
            raise ValidationError(f"unsupported GroupBy {dimensions}")
        metrics = request.get("Metrics") or []
        if not metrics:
            raise ValidationError("Metrics is required")
        periods = _periods(start, end, granularity)
        period, offset = _token(request.get("NextPageToken"), len(periods))
        results, room = [], PAGE_SIZE
        while period < len(periods) and room:
            first, last = periods[period]
            entry = {"TimePeriod": {"Start": first.isoformat(), "End": last.isoformat()},
                     "Estimated": (now.date() - first).days < RESTATED_DAYS}
            groups = self._groups(first, last, dimensions, visible, now)
            if dimensions:
                page = groups[offset:offset + room]
                entry.update(Total={}, Groups=[{"Keys": list(keys), "Metrics": _amounts(metrics, usd)}
                                               for keys, usd in page])
                room, offset = room - len(page), offset + len(page)
                if offset < len(groups):
                    results.append(entry)
                    break
            else:
                entry.update(Total=_amounts(metrics, sum(usd for _, usd in groups)), Groups=[])
                room -= 1
            results.append(entry)
            period, offset = period + 1, 0
        reply = {"ResultsByTime": results, "GroupDefinitions": request.get("GroupBy", []),
                 "DimensionValueAttributes": [
                     {"Value": a, "Attributes": {"description": self.accounts[a].name}}
                     for a in visible] if "LINKED_ACCOUNT" in dimensions else []}
        if period < len(periods):
            reply["NextPageToken"] = f"{period}:{offset}"
        return reply

    def _groups(self, first: dt.date, last: dt.date, dimensions: list[str], visible: Sequence[str],
                now: dt.datetime) -> list[tuple[tuple[str, ...], float]]:
        sums: dict[tuple[str, ...], float] = {}
        day = first
        while day < last:
            for account_id in visible:
                for service in SERVICES:
                    usd = self.cost_as_seen(account_id, service, day, now)
                    if usd:
                        key = tuple(account_id if d == "LINKED_ACCOUNT" else service for d in dimensions)
                        sums[key] = sums.get(key, 0.0) + usd
            day += ONE_DAY
        return sorted(sums.items())

    def forecast(self, request: dict, visible: Sequence[str], now: dt.datetime) -> dict:
        """The model's full-day costs from Start (today or later, as AWS insists) to End."""
        start, end = _period(request)
        if start < now.date():
            raise ValidationError("Start date must be today or in the future")
        by_month = []
        for first, last in _periods(start, end, "MONTHLY"):
            mean = sum(self.daily_cost(a, s, first + ONE_DAY * n) for n in range((last - first).days)
                       for a in visible for s in SERVICES)
            by_month.append({"TimePeriod": {"Start": first.isoformat(), "End": last.isoformat()},
                             "MeanValue": f"{mean:.10f}",
                             "PredictionIntervalLowerBound": f"{mean * 0.92:.10f}",
                             "PredictionIntervalUpperBound": f"{mean * 1.08:.10f}"})
        total = sum(float(str(p["MeanValue"])) for p in by_month)
        return {"Total": {"Amount": f"{total:.10f}", "Unit": "USD"}, "ForecastResultsByTime": by_month}


def _period(request: dict) -> tuple[dt.date, dt.date]:
    try:
        start = dt.date.fromisoformat(request["TimePeriod"]["Start"])
        end = dt.date.fromisoformat(request["TimePeriod"]["End"])
    except (KeyError, TypeError, ValueError):
        raise ValidationError("TimePeriod needs Start and End dates (YYYY-MM-DD)") from None
    if start >= end:
        raise ValidationError("Start must be before End")
    return start, end


def _periods(start: dt.date, end: dt.date, granularity: str) -> list[tuple[dt.date, dt.date]]:
    """[start, end) cut into days or calendar months, as Cost Explorer cuts it."""
    periods, first = [], start
    while first < end:
        last = min(end, first + ONE_DAY if granularity == "DAILY" else next_month_start(first))
        periods.append((first, last))
        first = last
    return periods


def _token(token: str | None, periods: int) -> tuple[int, int]:
    if token is None:
        return 0, 0
    try:
        period, offset = map(int, token.split(":"))
    except ValueError:
        raise ValidationError("Invalid NextPageToken") from None
    if not 0 <= period < periods or offset < 0:
        raise ValidationError("Invalid NextPageToken")
    return period, offset


def _amounts(metrics: list[str], usd: float) -> dict:
    return {metric: {"Amount": f"{usd:.10f}", "Unit": "USD"} for metric in metrics}


def _handler(method: Callable, visible: tuple[str, ...], clock: Callable[[], dt.datetime], body: str) -> dict:
    from moto.core.exceptions import JsonRESTError

    try:
        return method(json.loads(body), visible, clock())
    except ValidationError as exc:
        raise JsonRESTError("ValidationException", str(exc)) from None


def _get_cost_forecast(response) -> str:
    """GetCostForecast on moto's CostExplorerResponse: the model's answer where installed,
    moto's usual NotImplementedError elsewhere."""
    answer = getattr(response.ce_backend, "get_cost_forecast", None)
    if answer is None:
        raise NotImplementedError("The get_cost_forecast action has not been implemented")
    return json.dumps(answer(response.body))


def install_cost_model(config: Config, now: dt.datetime,
                       clock: Callable[[], dt.datetime] | None = None) -> Callable[[], None]:
    """Answer Cost Explorer in the configured accounts from the model; returns the undo.
    `clock` is the model's current time (default: `now`, advancing with the wall clock)."""
    from moto.ce.models import ce_backends
    from moto.ce.responses import CostExplorerResponse

    model = CostModel(config)
    if clock is None:
        started = time.monotonic()

        def clock() -> dt.datetime:
            return now + dt.timedelta(seconds=time.monotonic() - started)
    everyone = tuple(model.accounts)
    backends = []
    for account in config.accounts:
        visible = everyone if account.id == config.costs.account else (account.id,)
        backend = ce_backends[account.id]["global"]
        # moto's backend answers from these: replaced per instance, undone below
        backend.get_cost_and_usage = functools.partial(  # type: ignore[method-assign]
            _handler, model.cost_and_usage, visible, clock)
        backend.get_cost_forecast = functools.partial(  # type: ignore[attr-defined]
            _handler, model.forecast, visible, clock)
        backends.append(backend)
    original = CostExplorerResponse.__dict__.get("get_cost_forecast")
    CostExplorerResponse.get_cost_forecast = _get_cost_forecast  # type: ignore[attr-defined]

    def undo() -> None:
        for backend in backends:
            backend.__dict__.pop("get_cost_and_usage", None)
            backend.__dict__.pop("get_cost_forecast", None)
        if original is not None:
            CostExplorerResponse.get_cost_forecast = original  # type: ignore[attr-defined]
        elif "get_cost_forecast" in CostExplorerResponse.__dict__:
            del CostExplorerResponse.get_cost_forecast  # type: ignore[attr-defined]

    return undo
