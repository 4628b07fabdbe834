"""The running exporter: background sweeps, metric sources, and the rendered payload.

A scrape reads `payload`, a reference swapped atomically after each sweep (or cost refresh);
nothing on the scrape path can reach AWS. `Exporter` is assembled from a config in one place,
at start and at every reload: `assemble` decides which sources a config asks for.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import replace
from typing import Callable, Iterable, Sequence, TypeVar

from polo.actions.source import ActionSource
from polo.aws.access import AwsAccess
from polo.config import Config, ConfigError, load_config
from polo.costs.baseline import GoldenBaselineSource, Provider
from polo.costs.source import CostSource
from polo.prices.price_list_source import PriceListSource
from polo.prices.pricing import PriceTable
from polo.prices.resource_costs import ResourceCostSource
from polo.render.exposition import Family, Payload, render
from polo.render.inventory import InventorySource, SelfSource
from polo.model import Inventory, Resource, Snapshot
from polo.accounts.roster import Roster
from polo.source import Source
from polo.sweep import GLOBAL, SweepCancelled, Sweeper, failure_summary
from polo.web.server import ConnectionErrors

log = logging.getLogger(__name__)


class ConfigState(Source):
    """The exporter's own configuration: discovered accounts and the last (re)load."""

    required = True

    def __init__(self, exporter: Exporter):
        self.exporter = exporter

    def families(self, snapshot: Snapshot | None) -> Iterable[Family]:
        exporter = self.exporter
        yield from exporter.roster.families(exporter.config)
        reload_ok = Family("polo_config_last_reload_successful", "gauge",
                           "1 if the last config (re)load succeeded, 0 if the running config is older.")
        reload_ok.add("", 1 if exporter.reload_ok else 0)
        reload_time = Family("polo_config_last_reload_success_timestamp_seconds", "gauge",
                             "When the config was last loaded successfully (start or reload).")
        reload_time.add("", exporter.reload_success_time)
        yield reload_ok
        yield reload_time


class HttpState(Source):
    """The HTTP edge's troubles, rendered with everything else (so as fresh as the last sweep)."""

    required = True

    def __init__(self, errors: ConnectionErrors):
        self.errors = errors

    def families(self, snapshot: Snapshot | None) -> Iterable[Family]:
        yield self.errors.family()


class Starting:
    """What the HTTP edge serves until the Exporter runs: the port answers at once, /healthz
    says 503 and why, while the demo builds its simulated estate (a minute or two)."""

    def __init__(self, config: Config, task: str):
        self.config, self.task, self.since = config, task, time.monotonic()
        self.payload = render(())
        self.reload_requested = False

    def health(self) -> tuple[bool, str]:
        return False, f"starting: {self.task} ({time.monotonic() - self.since:.0f}s so far)"

    def reload(self) -> tuple[bool, str]:
        self.request_reload()
        return False, "still starting: the config is re-read once the exporter runs"

    def request_reload(self) -> None:
        self.reload_requested = True


S = TypeVar("S", bound=Source)


def assemble(config: Config, access: AwsAccess, prices: PriceTable, running: Sequence[Source] = ()) -> list[Source]:
    """The optional sources `config` asks for, in render order, keeping those already `running`
    (their state, threads and counters) and building the rest: the billing export when
    configured (every shard prices its own resources; shard 0 alone shows the totals); Cost
    Explorer on shard 0 only (the payer's view covers every account) when costs are on; the
    golden-date baseline from the first of those (or the config) that reaches it; resource
    prices and cleanup actions, both priced from `prices`; the Price List source last, when on, since it takes the
    price keys the others asked for in the same render and fills `prices` in place."""
    have = {type(source): source for source in running}

    def kept(kind: type[S], build: Callable[[], S]) -> S:
        running_one = have.get(kind)
        return running_one if isinstance(running_one, kind) else build()

    sources: list[Source] = []
    baseline: list[Provider] = []
    if config.billing_export is not None:
        from polo.billing.source import BillingSource  # pyarrow only for those who read an export

        billing = kept(BillingSource, lambda: BillingSource(config, access))
        sources.append(billing)
        baseline.append(("billing_export", billing.golden_day_costs))
    if config.costs.enabled and config.shard.index == 0:
        costs = kept(CostSource, lambda: CostSource(config, access))
        sources.append(costs)
        baseline.append(("cost_explorer", costs.golden_day_costs))
    if config.shard.index == 0 and (baseline or config.budget.golden_baseline or config.budget.golden_history):
        sources.append(GoldenBaselineSource(config, baseline))
    sources.append(kept(ResourceCostSource, lambda: ResourceCostSource(config, prices)))
    sources.append(kept(ActionSource, lambda: ActionSource(config, prices)))
    if config.pricing.price_list:
        sources.append(kept(PriceListSource, lambda: PriceListSource(config, access, prices)))
    return sources


def pool_size(config: Config) -> int:
    """HTTP connections per client: one per sweep worker that may share it."""
    return max(10, config.sweep.workers)


class Exporter:
    def __init__(self, config: Config, access: AwsAccess | None = None, sources: Iterable[Source] | None = None,
                 http_errors: ConnectionErrors | None = None, loader: Callable[[], Config] | None = None):
        """`sources` None: assembled from the config now and at every reload (`assemble`);
        given (tests), they are kept as they are and only reconfigured. `loader` re-reads the
        config at a reload (default: the file it came from)."""
        self.config = config
        self.access = access or AwsAccess(config.aws, home_region=config.regions[0],
                                          max_pool_connections=pool_size(config))
        self.prices = PriceTable.load()
        self._assembled = sources is None
        # costs, prices, actions: between the inventory and Polo's own
        self.sources = assemble(config, self.access, self.prices) if sources is None else list(sources)
        self.http_errors = http_errors or ConnectionErrors()
        self._own_sources: list[Source] = [ConfigState(self), HttpState(self.http_errors),
                                           SelfSource(config, self.access.stats)]
        self._inventory_source = InventorySource(config)
        self.roster = Roster(config, self.access)
        self.reload_ok, self.reload_success_time = True, time.time()  # the config given at start
        self.sweeper = Sweeper(config, self.access, found=self._found)
        self.inventory = Inventory(config.sweep.prune_window)
        self.snapshot: Snapshot | None = None  # the latest sweep, published or not
        # What /metrics serves and the sweep it was rendered from, swapped together so
        # /healthz describes exactly what a scrape gets.
        self._published: tuple[Snapshot | None, Payload] = (None, render(self._families(None)))
        self._render_error = ""
        self._publish_lock = threading.Lock()
        self.swept = threading.Event()  # set once a sweep is published
        self._stop = threading.Event()
        self._lifecycle = threading.Lock()  # start and stop never interleave
        self._thread: threading.Thread | None = None
        # Live reload: a validated config waits here for the start of the next sweep, which a
        # reload starts at once (_wake), so a sweep never changes config half-way.
        self._loader = loader or (lambda: load_config(self.config.path))
        self._running = False
        self._pending: Config | None = None
        self._wake = threading.Event()
        self._reload_lock = threading.Lock()
        self._reload_requested = threading.Event()

    def request_reload(self) -> None:
        """What a SIGHUP asks for: the reload runs on the reloader thread, and a burst of them
        while one runs becomes one more reload, never a caller waiting on itself."""
        self._reload_requested.set()

    def reload(self) -> tuple[bool, str]:
        """Re-read the config (SIGHUP, POST /-/reload). A bad one is refused, logged and shown in
        polo_config_last_reload_successful; the running config, inventory and cost state stay."""
        with self._reload_lock:
            try:
                config = self._loader()
            except Exception as err:  # ConfigError, or anything else a bad file provokes
                problem = str(err) if isinstance(err, ConfigError) else f"{self.config.path}: {type(err).__name__}"
                self.reload_ok = False
                log.error("config reload refused, keeping the running config: %s", problem)
                self.publish()
                return False, problem
            self._pending = config
            self.reload_ok, self.reload_success_time = True, time.time()
        log.info("config %s reloaded; applied at the start of the next sweep, starting now", config.path)
        self._wake.set()
        return True, "config reloaded"

    def _apply_pending(self) -> None:
        with self._reload_lock:
            config, self._pending = self._pending, None
        if config is None:
            return
        if config.listen_address != self.config.listen_address:
            log.warning("web.listen_address changed to %s: it takes effect on restart", config.listen_address)
            config = replace(config, listen_address=self.config.listen_address)
        self.access.reconfigure(config.aws, config.regions[0], pool_size(config))
        self.roster.rebase(config)

    def _found(self, resources: tuple[Resource, ...]) -> None:
        for source in self.sources:
            source.found(resources)

    def sweep_once(self) -> Snapshot:
        self._apply_pending()
        self.settle_accounts(time.time())
        outcome = self.sweeper.run()
        self.snapshot = self.inventory.apply(outcome.results, time.time(), outcome.duration,
                                             outcome.accounts_up)
        failed = sum(1 for r in outcome.results if not r.ok)
        log.info("sweep done in %.2fs: %d tasks, %d failed, %d resources, %d tombstones",
                 outcome.duration, len(outcome.results), failed, len(self.snapshot.resources),
                 len(self.snapshot.tombstones))
        for line in failure_summary(outcome.results, self.config.aws.endpoint_url):
            log.warning("%s", line)
        self.publish()
        self.swept.set()
        return self.snapshot

    def settle_accounts(self, now: float) -> None:
        """Refresh discovery if due; forget accounts no longer ours (tombstoning the resources
        of those that left) and hand a changed account list to the sweeper and the sources."""
        config, departed = self.roster.update(now)
        own = {a.id: a for a in config.own_accounts}
        self.inventory.retain(own.keys(), now, departed)
        for account in self.config.own_accounts:
            if account.id not in own:
                self.access.forget(account)
                self.access.stats.drop(account.id)
        if config != self.config:
            self._use(config)

    def _use(self, config: Config) -> None:
        self.config = config
        self.sweeper = Sweeper(config, self.access, found=self._found)
        self.inventory.prune_window = config.sweep.prune_window
        # collectors or regions dropped by a reload: their series end (nothing was deleted)
        self.inventory.retain_tasks(lambda task: task.collector in config.collectors and (
            task.region in config.regions or task.region == GLOBAL))
        if self._assembled:
            wanted = assemble(config, self.access, self.prices, self.sources)
            for source in self.sources:
                if source not in wanted:
                    source.stop()
            for source in wanted:
                if source not in self.sources and self._running:
                    source.start(self.publish)
            self.sources = wanted
        for source in self._all_sources:
            source.reconfigure(config)

    @property
    def _all_sources(self) -> list[Source]:
        return [self._inventory_source, *self.sources, *self._own_sources]

    @property
    def payload(self) -> Payload:
        return self._published[1]

    def publish(self) -> None:
        """Re-render every family from the latest snapshot and swap the payload in; called after
        sweeps and refreshes. A render that raises keeps the last payload and fails health."""
        with self._publish_lock:
            snapshot = self.snapshot
            try:
                payload = render(self._families(snapshot))
            except Exception as exc:
                self._render_error = type(exc).__name__  # not the message: it may hold AWS data
                log.exception("rendering the metrics failed; serving the previous payload")
                return
            self._published, self._render_error = (snapshot, payload), ""

    def _families(self, snapshot: Snapshot | None) -> Iterable[Family]:
        for source in self._all_sources:
            if source.required:
                yield from source.families(snapshot)
                continue
            try:
                yield from source.families(snapshot)
            except Exception:  # a broken source must not blank the inventory
                log.exception("metric source %s failed", type(source).__name__)

    def failed_tasks(self) -> int:
        return 0 if self.snapshot is None else sum(1 for s in self.snapshot.tasks.values() if not s.ok)

    def health(self, now: float | None = None) -> tuple[bool, str]:
        now = time.time() if now is None else now
        if self._thread is not None and not self._thread.is_alive() and not self._stop.is_set():
            return False, "the sweeper thread has stopped"
        if self._render_error:
            return False, f"the last render failed ({self._render_error}); /metrics is stale"
        snapshot = self._published[0]
        if snapshot is None:
            return False, "no sweep has completed yet"
        if snapshot.last_success is None:
            return False, "no sweep has succeeded yet"
        if not snapshot.sweep_ok:
            return False, "every collector failed in the last sweep"
        age = now - snapshot.last_success
        limit = 3 * self.config.sweep.interval
        if age > limit:
            return False, f"last successful sweep was {age:.0f}s ago (limit {limit:.0f}s)"
        failed = sum(1 for status in snapshot.tasks.values() if not status.ok)
        return True, f"ok: last successful sweep {age:.0f}s ago, {failed} failed collector tasks"

    def run_sources_once(self) -> None:
        for source in self.sources:
            source.run_once()

    def refresh_now(self, kind: type[Source]) -> None:
        """Refresh the sources of `kind` now rather than at their next interval, then publish:
        the demo calls it once its billing exports are delivered."""
        for source in self.sources:
            if isinstance(source, kind):
                source.run_once()
        self.publish()

    def start(self) -> None:
        """Start the sweeper and the sources' threads, unless stop() came first (a SIGTERM
        while the demo was still building its estate)."""
        with self._lifecycle:
            if self._stop.is_set():
                return
            self._running = True
            for source in self.sources:
                source.start(self.publish)
            self._thread = threading.Thread(target=self._loop, name="polo-sweeper", daemon=True)
            self._thread.start()
            threading.Thread(target=self._reloader, name="polo-reloader", daemon=True).start()

    def _reloader(self) -> None:
        while True:
            self._reload_requested.wait()
            if self._stop.is_set():
                return
            self._reload_requested.clear()
            self.reload()

    def stop(self, timeout: float = 5.0) -> bool:
        """Stop sweeping and refreshing: a running sweep is cancelled (its in-flight calls
        abandoned, nothing half-published). True if the sweeper and every source's thread ended
        within `timeout` seconds and left no call running: the thread pool's exit hook would wait
        for one, and a thread still inside pyarrow when the interpreter exits aborts it."""
        deadline = time.monotonic() + timeout
        with self._lifecycle:  # a start() under way finishes first: none of its threads escapes
            self._stop.set()
            self._wake.set()
            self._reload_requested.set()
            self.sweeper.cancel()
            for source in self.sources:
                source.stop()
        finished = True
        if self._thread is not None:
            self._thread.join(timeout)
            finished = not self._thread.is_alive() and not self.sweeper.abandoned
        for source in self.sources:
            finished = source.stop(deadline - time.monotonic()) and finished
        return finished

    def _loop(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                self.sweep_once()
            except SweepCancelled:
                return
            except Exception:
                log.exception("sweep crashed")
            self._wake.wait(max(0.0, self.config.sweep.interval - (time.monotonic() - started)))
            self._wake.clear()
