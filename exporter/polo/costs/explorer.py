"""Cost Explorer at the edge: every request (each page is one) costs $0.01, so all of them go
through here, are counted, and replies are checked before anything is believed."""
from __future__ import annotations

import datetime as dt
import math
import threading
from collections import Counter

from polo.aws.access import AwsAccess
from polo.config import Account

CE_REGION = "us-east-1"  # Cost Explorer has a single endpoint
REQUEST_COST_USD = 0.01
OPERATIONS = ("GetCostAndUsage", "GetCostForecast")
FORECAST_METRICS = {"UnblendedCost": "UNBLENDED_COST", "AmortizedCost": "AMORTIZED_COST",
                    "NetUnblendedCost": "NET_UNBLENDED_COST"}
GROUP_BY = [{"Type": "DIMENSION", "Key": "LINKED_ACCOUNT"}, {"Type": "DIMENSION", "Key": "SERVICE"}]
MAX_PAGES = 2000  # a reply that never stops paging is a bug, not a bill to keep paying


class MalformedReply(Exception):
    """A reply that does not have the shape Cost Explorer documents."""


class RequestCounter:
    """Paid requests by operation, failed ones included: AWS bills the attempt."""

    def __init__(self):
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter(dict.fromkeys(OPERATIONS, 0))

    def add(self, operation: str) -> None:
        with self._lock:
            self._counts[operation] += 1

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)


def _usd(amount: dict) -> float:
    """{"Amount": "12.3", "Unit": "USD"} -> 12.3"""
    value = float(amount["Amount"])
    if not math.isfinite(value):
        raise ValueError(f"amount {value}")
    return value


class CostExplorer:
    def __init__(self, access: AwsAccess, account: Account, metric: str, counter: RequestCounter):
        self.access, self.account, self.metric, self.counter = access, account, metric, counter

    def _client(self):
        return self.access.client(self.account, "ce", CE_REGION)

    def daily_costs(self, start: dt.date, end: dt.date) -> dict[dt.date, dict[tuple[str, str], float]]:
        """Cost per day in [start, end) by (account_id, service), all pages. Raises on any
        error or malformed page, so a refresh is all-or-nothing."""
        params = {"TimePeriod": {"Start": start.isoformat(), "End": end.isoformat()},
                  "Granularity": "DAILY", "Metrics": [self.metric], "GroupBy": GROUP_BY}
        costs: dict[dt.date, dict[tuple[str, str], float]] = {}
        tokens: set[str] = set()
        client = self._client()
        for _ in range(MAX_PAGES):
            self.counter.add("GetCostAndUsage")
            reply = client.get_cost_and_usage(**params)
            self._parse_page(reply, start, end, costs)
            token = reply.get("NextPageToken")
            if not token:
                return costs
            if token in tokens:
                raise MalformedReply("NextPageToken repeats")
            tokens.add(token)
            params["NextPageToken"] = token
        raise MalformedReply(f"more than {MAX_PAGES} pages")

    def _parse_page(self, reply: dict, start: dt.date, end: dt.date,
                    costs: dict[dt.date, dict[tuple[str, str], float]]) -> None:
        # A day's groups may continue on the next page: merge, never overwrite a day.
        try:
            for result in reply["ResultsByTime"]:
                day = dt.date.fromisoformat(result["TimePeriod"]["Start"])
                if not start <= day < end:
                    raise ValueError(f"day {day} outside the requested period")
                groups = costs.setdefault(day, {})
                for group in result.get("Groups", []):
                    account, service = group["Keys"]
                    groups[(account, service)] = _usd(group["Metrics"][self.metric])
        except (KeyError, TypeError, ValueError) as exc:
            raise MalformedReply(f"GetCostAndUsage page: {exc!r}") from exc

    def forecast(self, start: dt.date, end: dt.date) -> float:
        """Cost Explorer's forecast for [start, end); start must be today or later."""
        client = self._client()
        self.counter.add("GetCostForecast")
        reply = client.get_cost_forecast(TimePeriod={"Start": start.isoformat(), "End": end.isoformat()},
                                         Metric=FORECAST_METRICS[self.metric], Granularity="MONTHLY")
        try:
            return _usd(reply["Total"])
        except (KeyError, TypeError, ValueError) as exc:
            raise MalformedReply(f"GetCostForecast reply: {exc!r}") from exc
