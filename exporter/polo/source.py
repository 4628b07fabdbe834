"""The one way metric families reach the payload: every producer, the inventory and the
self-metrics included, is a Source, rendered in order after each sweep or refresh."""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Iterable

if TYPE_CHECKING:
    from polo.config import Config
    from polo.render.exposition import Family
    from polo.model import Snapshot


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

    def stop(self) -> None:
        """End the background work: a reload no longer wants this source."""

    def reconfigure(self, config: Config) -> None:
        """A reloaded config or a changed account list, from the next render on."""
