"""Prices from the AWS Price List Query API, fetched in the background and cached in state_dir.

Every render records the price keys the inventory needs (PriceTable.asked); this source asks
GetProducts (every page) for those not cached or older than `pricing.refresh_interval`, one
query per key, a few at a time, on its own thread: a sweep or a scrape never waits for it.
Answers are kept in `price_list.json` with the time they were fetched, so a restart, or a Price
List API that throttles or denies, keeps the last prices; the shipped table answers what was
never fetched.
A key AWS has no on-demand price for is cached as unpriced, asked again a refresh later.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import math
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Iterable

from polo.atomic import write_atomically
from polo.aws.access import AwsAccess
from polo.config import Account, Config
from polo.errors import error_code
from polo.render.exposition import Family
from polo.model import Resource, Snapshot
from polo.prices.price_list import parse_items, price_from, query_for
from polo.prices.pricing import PriceKey, PriceTable
from polo.source import Source, ended

log = logging.getLogger(__name__)

FILE_NAME = "price_list.json"
VERSION = 1
PAGE_SIZE = 100  # GetProducts' maximum
MAX_PAGES = 50  # a query paging past this is too broad to be one of ours
# A cold cache asks dozens of keys (one query each); side by side they take a few round trips.
QUERIES_AT_ONCE = 4
RETRY_AFTER_FAILURE = 3600.0  # throttled or denied: try again in an hour, not every sweep
RESULTS = ("ok", "throttled", "denied", "error")
THROTTLED = {"ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded"}
DENIED = {"AccessDeniedException", "AccessDenied", "UnauthorizedOperation", "UnrecognizedClientException",
          "AssumeRoleError"}


@dataclass(frozen=True)
class CachedPrice:
    price: float | list | None  # None: AWS lists no on-demand price for the key
    fetched: float  # Unix time


def _is_rate(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value >= 0


def _valid_price(price: Any) -> bool:
    """A rate, a non-empty list of [ceiling or None, rate] tiers, or None (unpriced)."""
    if isinstance(price, list):
        return bool(price) and all(isinstance(t, list) and len(t) == 2 and _is_rate(t[1])
                                   and (t[0] is None or _is_rate(t[0])) for t in price)
    return price is None or _is_rate(price)


def load_cache(path: Path, errors: Counter[str]) -> dict[PriceKey, CachedPrice]:
    """The saved answers; empty when the file is missing or corrupt (logged and counted: the
    prices are fetched again, the table answers meanwhile)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("version") != VERSION:
            raise ValueError("unknown version")
        cache = {}
        for entry in data["entries"]:
            key, price, fetched = tuple(entry["key"]), entry["usd"], float(entry["fetched"])
            if len(key) < 2 or not all(isinstance(k, str) for k in key) or not _valid_price(price) \
                    or not math.isfinite(fetched):
                raise ValueError("a malformed entry")
            cache[key] = CachedPrice(price, fetched)
        return cache
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:
        log.warning("ignoring unreadable price cache %s (%s); fetching prices afresh", path, type(exc).__name__)
        errors["corrupt"] += 1
        return {}


def save_cache(path: Path, cache: dict[PriceKey, CachedPrice], errors: Counter[str]) -> None:
    entries = [{"key": list(key), "usd": c.price, "fetched": c.fetched,
                "fetched_date": dt.datetime.fromtimestamp(c.fetched, dt.timezone.utc).date().isoformat()}
               for key, c in sorted(cache.items())]
    try:
        write_atomically(path, [json.dumps({"version": VERSION, "entries": entries}, indent=1)])
    except OSError as exc:
        log.warning("cannot save the price cache to %s: %s", path, exc)
        errors["write"] += 1


class PriceListUnavailable(Exception):
    """The Price List API refused or failed; the round stops, what it fetched is kept."""

    def __init__(self, result: str, code: str):
        super().__init__(code)
        self.result, self.code = result, code


def pricing_account(config: Config) -> Account | None:
    """Whose credentials ask the Price List API (any account may): pricing.account, else the
    Cost Explorer payer, else the first account; None until discovery has found one."""
    for account_id in (config.pricing.account, config.costs.account):
        account = config.account(account_id or "")
        if account is not None:
            return account
    return config.accounts[0] if config.accounts else None


class PriceListSource(Source):
    """Keeps `table.price_list` current, in place, and reports how: requests, failures, cache
    age. Stopped (a reload turned the Price List off), it empties it: the shipped table answers."""

    def __init__(self, config: Config, access: AwsAccess, table: PriceTable,
                 now: Callable[[], float] = time.time):
        self._now = now
        self.table = table
        self._prices = table.price_list
        self.requests: Counter[str] = Counter(dict.fromkeys(RESULTS, 0))
        self.errors: Counter[str] = Counter({"corrupt": 0, "write": 0})
        self.page_size = PAGE_SIZE
        self.last_failure: str | None = None
        self.last_success: float | None = None
        self._lock = threading.Lock()  # cache, wanted and the counters
        self._wanted: set[PriceKey] = set()
        self._rendered_a_sweep = False
        self._retry_at = 0.0
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self.access = access
        self._stopped = threading.Event()
        self.path = Path(config.state_dir) / FILE_NAME
        self.cache = self._load()
        self.reconfigure(config)

    def _load(self) -> dict[PriceKey, CachedPrice]:
        cache = load_cache(self.path, self.errors)
        self._prices.update({k: c.price for k, c in cache.items() if c.price is not None})
        return cache

    def reconfigure(self, config: Config) -> None:
        with self._lock:
            self.settings = config.pricing
            self.account = pricing_account(config)
            path = Path(config.state_dir) / FILE_NAME
            if path != self.path:  # a new state_dir: its own cache
                self.path = path
                self.cache = self._load()

    # --- what the inventory needs -----------------------------------------------------------

    def due(self) -> list[PriceKey]:
        """Wanted keys with no answer, or an answer older than the refresh interval."""
        stale_before = self._now() - self.settings.refresh_interval
        with self._lock:
            return sorted(k for k in self._wanted
                          if k not in self.cache or self.cache[k].fetched < stale_before)

    def found(self, resources: tuple[Resource, ...]) -> None:
        """The keys a sweep task's resources are priced by, wanted as the task ends: a cold
        cache fills while the rest of the sweep runs, not only after it is published. Only
        until a sweep is rendered: from then on each render learns every key, and pricing
        every task's resources twice a sweep would be for the rare new one."""
        if self._stopped.is_set() or self._rendered_a_sweep:
            return
        pricing = replace(self.table, asked=set())  # the same prices; its own record of keys
        for resource in resources:
            pricing.monthly_cost(resource)
        with self._lock:
            self._wanted |= pricing.asked
        if self.due():
            self._wake.set()

    def families(self, snapshot: Snapshot | None) -> Iterable[Family]:
        """Runs after the sources that price resources: takes the keys they asked for and
        wakes the fetcher if any is due. Never calls AWS itself."""
        asked = self.table.asked
        assert asked is not None
        if snapshot is not None:
            with self._lock:
                self._wanted = set(asked)
                self._rendered_a_sweep = True
            asked.clear()
            if self.due():
                self._wake.set()
        return self._self_metrics()

    def _self_metrics(self) -> list[Family]:
        with self._lock:
            requests = Family.by_label(
                "polo_price_list_requests_total", "counter",
                "AWS Price List GetProducts requests (pages) by result: ok, throttled, denied, error.",
                "result", self.requests)
            up = Family("polo_price_list_up", "gauge",
                        "0 if the last round of Price List requests failed (throttled, denied, unreachable): "
                        "cached prices, then the shipped table, answer meanwhile.")
            up.add("", 0 if self.last_failure else 1)
            states = Counter(dict.fromkeys(("priced", "unpriced"), 0))
            states.update("priced" if c.price is not None else "unpriced" for c in self.cache.values())
            cached = Family.by_label("polo_price_list_cached_prices", "gauge",
                                     "Price List answers cached in state_dir, by state: priced, or unpriced "
                                     "(no on-demand price).", "state", states)
            oldest = Family("polo_price_list_oldest_price_timestamp_seconds", "gauge",
                            "When the oldest cached price the inventory uses was fetched: "
                            "time() minus this is the cache's age.")
            in_use = [self.cache[k].fetched for k in self._wanted if k in self.cache]
            if in_use:
                oldest.add("", min(in_use))
            success = Family("polo_price_list_last_success_timestamp_seconds", "gauge",
                             "When a round of Price List requests last completed without error.")
            if self.last_success is not None:
                success.add("", self.last_success)
            errors = Family.by_label(
                "polo_price_list_state_errors_total", "counter",
                "Price cache file problems by reason: corrupt (ignored, refetched) or write (not saved).",
                "reason", self.errors)
            return [requests, up, cached, oldest, success, errors]

    # --- fetching ---------------------------------------------------------------------------

    def fetch_due(self) -> int:
        """Ask the Price List API for every due key, saving the cache after the round. Returns
        how many keys were answered. Stops at the first throttle, denial or outage. Nothing
        once stopped (a reload turned `pricing.price_list` off)."""
        if self._stopped.is_set() or self.account is None or self._now() < self._retry_at:
            return 0
        keys = self.due()
        answered = 0
        pool = ThreadPoolExecutor(QUERIES_AT_ONCE, thread_name_prefix="polo-price-query")
        try:
            queries = {pool.submit(self._fetch, key): key for key in keys}
            for query in as_completed(queries):
                key, price = queries[query], query.result()
                with self._lock:
                    self.cache[key] = CachedPrice(price, self._now())
                    if price is None or self._stopped.is_set():
                        self._prices.pop(key, None)
                    else:
                        self._prices[key] = price
                answered += 1
            with self._lock:
                self.last_failure, self.last_success = None, self._now()
        except PriceListUnavailable as failure:
            with self._lock:
                self.last_failure = failure.code
            self._retry_at = self._now() + RETRY_AFTER_FAILURE
            log.warning("Price List API %s (%s) after %d of %d prices: cached prices and the shipped table "
                        "answer meanwhile; retrying in %.0f minutes", failure.result, failure.code, answered,
                        len(keys), RETRY_AFTER_FAILURE / 60)
        finally:
            pool.shutdown(cancel_futures=True)  # after a failure no further query starts
        if answered:
            with self._lock:
                save_cache(self.path, self.cache, self.errors)
        return answered

    def _fetch(self, key: PriceKey) -> float | list | None:
        query = query_for(key)
        if query is None or self.account is None:
            return None
        try:
            client = self.access.client(self.account, "pricing", self.settings.region)
        except Exception as exc:  # the role cannot be assumed: the whole round is off
            raise PriceListUnavailable("denied", error_code(exc)) from exc
        products: list = []
        params = dict(query.request(), MaxResults=self.page_size)
        for _page in range(MAX_PAGES):
            try:
                reply = client.get_products(**params)
            except Exception as exc:
                code = error_code(exc)
                result = "throttled" if code in THROTTLED else "denied" if code in DENIED else "error"
                self._count(result)
                raise PriceListUnavailable(result, code) from exc
            self._count("ok")
            products += parse_items(reply.get("PriceList") or ())
            token = reply.get("NextToken")
            if not token:
                break
            params["NextToken"] = token
        else:
            log.warning("Price List query for %s paged past %d pages; ignored", "/".join(key), MAX_PAGES)
            return None
        price = price_from(query, products)
        if price is None:
            log.info("the Price List has no single on-demand price for %s (%d products)", "/".join(key),
                     len(products))
        return price

    def _count(self, result: str) -> None:
        with self._lock:
            self.requests[result] += 1

    # --- the thread -------------------------------------------------------------------------

    def start(self, publish: Callable[[], None]) -> None:
        def loop() -> None:
            while not self._stopped.is_set():
                self._wake.wait(timeout=RETRY_AFTER_FAILURE)
                self._wake.clear()
                if self._stopped.is_set():
                    return
                try:
                    if self.fetch_due():
                        publish()  # re-priced: a render, which may want more keys
                except Exception:
                    log.exception("fetching Price List prices failed")

        self._thread = threading.Thread(target=loop, name="polo-price-list", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 0.0) -> bool:
        self._stopped.set()
        self._wake.set()
        with self._lock:
            self._prices.clear()
        return ended(self._thread, timeout)
