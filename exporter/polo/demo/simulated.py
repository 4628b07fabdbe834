"""The demo's simulated AWS: moto in-process, holding a deterministic estate for every
configured account. Only the CLI's --demo (and tests) enter it; collectors never know."""
from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import time
from collections.abc import Callable
from unittest import mock

from polo.config import Config

log = logging.getLogger(__name__)

FAKE_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "demo",
    "AWS_SECRET_ACCESS_KEY": "demo",
    "AWS_SESSION_TOKEN": "demo",
    "MOTO_EC2_LOAD_DEFAULT_AMIS": "false",  # a realistic estate, not 1,165 public AMIs per region
}


def populate(config: Config, now: dt.datetime, endpoint_url: str | None = None) -> Callable[[], None]:
    """Fill a simulated AWS (in-process, or a moto server in this process at `endpoint_url`)
    with the demo estate, its cleanup cases, a cost model answering every period, a Price List
    API and (when the config reads it) the billing exports. Returns the undo of the patches on
    moto and of the exports' rewrites."""
    from polo.demo.actions import build_action_cases
    from polo.demo.billing_export import BUCKET, write_demo_exports
    from polo.demo.costs import install_cost_model
    from polo.demo.estate import AccountClients, build_estate
    from polo.demo.price_list import install_price_list

    started = time.monotonic()
    undo_price_list = install_price_list()
    clients = AccountClients(endpoint_url)  # one set of clients for every builder
    build_estate(config.accounts, config.regions, now, clients=clients)
    build_action_cases(config.accounts, config.regions, now, config.state_dir, clients=clients)
    undo_cost_model = install_cost_model(config, now)
    stop_rewrites: Callable[[], None] | None = None
    if config.billing_export is not None and config.billing_export.bucket == BUCKET:
        stop_rewrites = write_demo_exports(config, now, clients=clients)
    log.info("simulated AWS ready: %d accounts x %d regions in %.1fs",
             len(config.accounts), len(config.regions), time.monotonic() - started)

    def undo() -> None:
        if stop_rewrites is not None:
            stop_rewrites()
        undo_cost_model()
        undo_price_list()

    return undo


@contextlib.contextmanager
def simulated_aws(config: Config, now: dt.datetime | None = None):
    """The simulated AWS for as long as the context lasts, changing a little between sweeps
    (polo.demo.churn) so that deletions and creations show."""
    from moto import mock_aws

    from polo.demo.churn import Churn, start_churn

    now = now or dt.datetime.now(dt.UTC)
    environment = dict(FAKE_ENVIRONMENT, AWS_DEFAULT_REGION=config.regions[0])
    with mock.patch.dict(os.environ, environment), mock_aws():
        for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "MOTO_ACCOUNT_ID"):
            os.environ.pop(name, None)
        undo_simulation = populate(config, now)
        stop_churn = start_churn(Churn(config.accounts, config.regions), config.sweep.interval)
        try:
            yield
        finally:
            stop_churn()
            undo_simulation()
