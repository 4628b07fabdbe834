"""The demo's simulated AWS: moto in-process, holding a deterministic estate for every
configured account. Only the CLI's --demo (and tests) enter it; collectors never know."""
from __future__ import annotations

import contextlib
import datetime as dt
import gc
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from unittest import mock

from polo.config import Config
from polo.demo.estate import AccountClients
from polo.model import Resource

log = logging.getLogger(__name__)

FAKE_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "demo",
    "AWS_SECRET_ACCESS_KEY": "demo",
    "AWS_SESSION_TOKEN": "demo",
    "MOTO_EC2_LOAD_DEFAULT_AMIS": "false",  # a realistic estate, not 1,165 public AMIs per region
}


def populate(config: Config, now: dt.datetime, endpoint_url: str | None = None,
             billing_later: bool = False) -> Simulation:
    """Fill a simulated AWS (in-process, or a moto server in this process at `endpoint_url`)
    with the demo estate, its cleanup cases, a cost model answering every period, a Price List
    API and (when the config reads it) the billing exports, unless `billing_later`: then only
    their empty bucket, and Simulation.deliver_billing_exports writes them."""
    from polo.demo.actions import build_action_cases
    from polo.demo.costs import install_cost_model
    from polo.demo.estate import build_estate
    from polo.demo.price_list import install_price_list

    started = time.monotonic()
    simulation = Simulation(config, now, AccountClients(endpoint_url))  # one set of clients for every builder
    simulation.undo.append(install_price_list())
    build_estate(config.accounts, config.regions, now, clients=simulation.clients)
    build_action_cases(config.accounts, config.regions, now, config.state_dir, clients=simulation.clients)
    simulation.undo.append(install_cost_model(config, now))
    simulation.clients.release()
    gc.collect()  # the builders' clients are cycles: free them before the exporter's sweep needs the memory
    if simulation.billing_export_read:
        if billing_later:
            simulation.billing.create_bucket()
        else:
            simulation.billing.deliver()
    log.info("simulated AWS ready: %d accounts x %d regions in %.1fs",
             len(config.accounts), len(config.regions), time.monotonic() - started)
    return simulation


class Simulation:
    """The populated simulated AWS: what undoes its patches, and the billing exports' delivery."""

    def __init__(self, config: Config, now: dt.datetime, clients: AccountClients):
        from polo.demo.billing_export import BUCKET, DemoExports

        self.config, self.now, self.clients = config, now, clients
        self.undo: list[Callable[[], None]] = []
        self.billing_export_read = config.billing_export is not None and config.billing_export.bucket == BUCKET
        self.billing = DemoExports(config, now, clients)
        self._delivery: threading.Thread | None = None

    def deliver_billing_exports(self, after: threading.Event, then: Callable[[], None],
                                swept: Callable[[], Iterable[Resource] | None] = lambda: None) -> None:
        """On a thread: once `after` is set, write the billing exports for the resources
        `swept()` gives (None: found afresh), then call `then`. Writing them takes about as
        long as building the estate and, in this process, would slow the first sweep: a
        newcomer's demo is healthy first and reads its bill moments later."""
        if not self.billing_export_read:
            return

        def deliver() -> None:
            while not after.wait(0.5):
                if self.billing.stopped.is_set():
                    return
            try:
                if self.billing.deliver(swept()):
                    then()
            except Exception:  # the demo goes on without its bill, as with a late AWS delivery
                log.exception("simulated billing exports: delivery failed")

        self._delivery = threading.Thread(target=deliver, name="polo-demo-billing", daemon=True)
        self._delivery.start()

    def close(self, timeout: float = 2.0) -> None:
        """Stop the deliveries (between two periods, never inside pyarrow at exit), then undo."""
        self.billing.stop()
        if self._delivery is not None:
            self._delivery.join(timeout)
        for undo in reversed(self.undo):
            undo()


@contextlib.contextmanager
def simulated_aws(config: Config, now: dt.datetime | None = None, billing_later: bool = False):
    """The simulated AWS for as long as the context lasts, changing a little between sweeps
    (polo.demo.churn) so that deletions and creations show. Yields the Simulation."""
    from moto import mock_aws

    from polo.demo.churn import Churn, start_churn

    now = now or dt.datetime.now(dt.UTC)
    environment = dict(FAKE_ENVIRONMENT, AWS_DEFAULT_REGION=config.regions[0])
    with mock.patch.dict(os.environ, environment), mock_aws():
        for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "MOTO_ACCOUNT_ID"):
            os.environ.pop(name, None)
        simulation = populate(config, now, billing_later=billing_later)
        stop_churn = start_churn(Churn(config.accounts, config.regions, simulation.clients),
                                 config.sweep.interval)
        try:
            yield simulation
        finally:
            stop_churn()
            simulation.close()
