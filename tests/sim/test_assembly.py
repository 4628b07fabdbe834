"""The exporter is assembled from a config in one place, at start and at every reload: every
setting applies on reload, Cost Explorer and the Price List included, and the AWS access the
sources were built with follows the new AWS settings in place."""
import threading
import time
from dataclasses import replace

import yaml

from support.common import ACCOUNT_A, ACCOUNT_B
from polo.config import load_config
from polo.costs.source import CostSource
from polo.exporter import Exporter
from polo.prices.price_list_source import PriceListSource
from polo.source import Source, ended

KEY = ("us-east-1", "nat_gateway_hourly")


def write(path, state_dir, **extra):
    data = {"accounts": [{"id": ACCOUNT_A, "name": "a", "environment": "prod"},
                         {"id": ACCOUNT_B, "name": "b", "environment": "dev"}],
            "regions": ["us-east-1"], "collectors": ["vpcs"], "state_dir": str(state_dir), **extra}
    path.write_text(yaml.safe_dump(data))


def next_sweep(exporter):
    """What a sweep does before it lists anything: apply the reloaded config."""
    exporter._apply_pending()
    exporter.settle_accounts(0)


def kinds(exporter):
    return [type(source).__name__ for source in exporter.sources]


def test_reloads_build_start_and_stop_the_optional_sources(tmp_path, monkeypatch):
    path = tmp_path / "polo.yml"
    write(path, tmp_path, costs={"enabled": False}, pricing={"price_list": False})
    exporter = Exporter(load_config(path))
    assert kinds(exporter) == ["ResourceCostSource", "ActionSource"]
    started = []
    monkeypatch.setattr(CostSource, "start", lambda self, publish: started.append("costs"))
    monkeypatch.setattr(PriceListSource, "start", lambda self, publish: started.append("price_list"))
    exporter._running = True  # as after start(), without the sweeper thread

    write(path, tmp_path, costs={"account": ACCOUNT_A}, pricing={"price_list": True})
    assert exporter.reload()[0]
    next_sweep(exporter)
    assert kinds(exporter) == ["CostSource", "GoldenBaselineSource", "ResourceCostSource", "ActionSource",
                               "PriceListSource"]
    assert started == ["costs", "price_list"]
    actions, price_list = exporter.sources[3], exporter.sources[4]
    assert price_list.table is exporter.prices is actions.prices  # one table, filled in place

    exporter.prices.price_list[KEY] = 0.5  # as if fetched
    assert exporter.prices.lookup(*KEY) == 0.5
    write(path, tmp_path, costs={"enabled": False}, pricing={"price_list": False})
    assert exporter.reload()[0]
    next_sweep(exporter)
    assert kinds(exporter) == ["ResourceCostSource", "ActionSource"]
    assert exporter.sources[1] is actions  # kept, with its first-seen memory
    assert price_list.fetch_due() == 0 and exporter.prices.lookup(*KEY) != 0.5  # the shipped table answers
    assert "polo_cost_" not in exporter.payload.plain.decode()


def test_new_aws_settings_reach_the_access_every_source_holds(tmp_path):
    path = tmp_path / "polo.yml"
    write(path, tmp_path, costs={"account": ACCOUNT_A})
    exporter = Exporter(load_config(path))
    access = exporter.access
    [costs] = [s for s in exporter.sources if isinstance(s, CostSource)]
    write(path, tmp_path, costs={"account": ACCOUNT_A}, regions=["eu-west-1"],
          aws={"endpoint_url": "http://127.0.0.1:1", "read_timeout": "7s"})
    assert exporter.reload()[0]
    next_sweep(exporter)
    assert exporter.access is access and costs.explorer.access is access
    assert (access.home_region, access.settings.endpoint_url, access.client_config.read_timeout) == (
        "eu-west-1", "http://127.0.0.1:1", 7)
    assert replace(exporter.config.aws) == access.settings


class Busy(Source):
    """A source whose background refresh is still running (as inside a long fold)."""

    def __init__(self):
        self.release = threading.Event()
        self.thread = threading.Thread(target=self.release.wait, daemon=True)

    def families(self, snapshot):
        return ()

    def start(self, publish):
        self.thread.start()

    def stop(self, timeout=0.0):
        return ended(self.thread, timeout)


def test_stop_is_finished_only_when_every_sources_thread_has_ended(tmp_path):
    """The CLI exits at once (os._exit) unless stop() says all is finished; a source's thread
    left inside pyarrow at interpreter exit aborted the process in a drill."""
    path = tmp_path / "polo.yml"
    write(path, tmp_path, costs={"enabled": False}, pricing={"price_list": False})
    exporter = Exporter(load_config(path))
    busy = Busy()
    exporter.sources.append(busy)
    busy.start(exporter.publish)
    assert exporter.stop(timeout=0.2) is False
    busy.release.set()
    assert exporter.stop(timeout=5) is True


def test_a_stop_during_start_waits_for_it_and_leaves_no_thread_running(moto, tmp_path):
    """A SIGTERM while the demo started the exporter: stop() ran between start()'s sources and
    its sweeper thread, and joined a thread not yet started (RuntimeError, exit 1)."""
    path = tmp_path / "polo.yml"
    write(path, tmp_path, costs={"enabled": False}, pricing={"price_list": False})
    exporter = Exporter(load_config(path))
    stopped: list[bool] = []

    class StopsTheExporter(Busy):
        def start(self, publish):
            super().start(publish)
            stopper = threading.Thread(target=lambda: stopped.append(exporter.stop(timeout=5)))
            stopper.start()
            stopper.join(0.5)  # stop() must wait for start() to finish, not run inside it
            self.release.set()

    later = Busy()
    later.release.set()
    exporter.sources += [StopsTheExporter(), later]
    exporter.start()
    deadline = time.monotonic() + 10
    while not stopped and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(stopped) == 1  # stop() returned (it raised before); True unless a call was abandoned
    exporter._thread.join(5)
    assert not exporter._thread.is_alive() and not later.thread.is_alive()

    never = Exporter(load_config(path))
    never.stop(timeout=1)
    never.start()  # after a stop: nothing starts
    assert never._thread is None
