"""The one way metric families reach the payload: every producer, the inventory and the
self-metrics included, is a Source, rendered in order after each sweep or refresh."""
from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Callable, Iterable

if TYPE_CHECKING:
    from polo.config import Config
    from polo.render.exposition import Family
    from polo.model import Resource, Snapshot

log = logging.getLogger(__name__)


class Source:
    """Families from the latest snapshot (None before the first sweep). Only sources with work
    of their own override `start`, `run_once` and `stop`; the defaults do nothing. A source
    that calls AWS gets its AwsAccess when built (polo.exporter.assemble): rendering and
    reconfiguring never need it."""

    # A required source that raises fails the render, so /healthz says /metrics is stale;
    # any other only loses its own families (logged), never the inventory.
    required = False

    def families(self, snapshot: Snapshot | None) -> Iterable[Family]:
        raise NotImplementedError

    def start(self, publish: Callable[[], None]) -> None:
        """Begin background work (Cost Explorer refreshes), calling publish() on new data."""

    def run_once(self) -> None:
        """Do that work once, synchronously, for --once."""

    def found(self, resources: tuple[Resource, ...]) -> None:
        """One sweep task's resources, as the task ends and before the sweep is published: a
        source with work to do for them (prices to fetch) can start it now. Runs on a sweep
        thread: hand the work to the source's own."""

    def stop(self, timeout: float = 0.0) -> bool:
        """End the background work (a reload no longer wants this source, or the program is
        stopping); True when none is left running after waiting up to `timeout` seconds."""
        return True

    def reconfigure(self, config: Config) -> None:
        """A reloaded config or a changed account list, from the next render on."""


def refresh_forever(name: str, refresh: Callable[[], object], publish: Callable[[], None],
                    interval: Callable[[], float], stopped: threading.Event) -> threading.Thread:
    """A daemon thread `name`: refresh, publish, wait `interval()` seconds (read each time, so a
    reload's new interval applies), until `stopped` is set. A refresh that raises is a bug: it is
    logged and the refreshes go on."""
    def loop() -> None:
        while not stopped.is_set():
            try:
                refresh()
                publish()
            except Exception:
                log.exception("%s: refresh crashed", name)
            stopped.wait(interval())

    thread = threading.Thread(target=loop, name=name, daemon=True)
    thread.start()
    return thread


def ended(thread: threading.Thread | None, timeout: float) -> bool:
    """Whether a source's thread (None: never started) has ended, waiting up to `timeout`."""
    if thread is not None:
        thread.join(max(timeout, 0.0))
    return thread is None or not thread.is_alive()
