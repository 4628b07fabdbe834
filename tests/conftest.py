import gc
import logging

import pytest

from support.common import use_fake_aws


TIERS = ("unit", "sim", "e2e")  # the folders under tests/, each a marker of the same name


def pytest_collection_modifyitems(items):
    """Each test's tier is its folder: unit (pure: no simulated AWS, server, subprocess or
    binary), sim (simulated AWS and servers in this process), e2e (real binaries, the real CLI
    in a subprocess, servers on loopback)."""
    for item in items:
        folder = item.path.parent.name
        if folder in TIERS:
            item.add_marker(getattr(pytest.mark, folder))


@pytest.fixture(autouse=True)
def restore_polo_log_level():
    """The CLI's main, called in-process, sets the polo logger's level for the process: with
    --log.level error, a later test's caplog saw no WARNING (test order decided)."""
    polo_log = logging.getLogger("polo")
    level = polo_log.level
    yield
    polo_log.setLevel(level)


@pytest.fixture(autouse=True)
def restore_gc_thresholds():
    """polo.cli.main tunes the process's garbage collector; each test starts with CPython's."""
    default = gc.get_threshold()
    yield
    gc.set_threshold(*default)


@pytest.fixture
def aws_env(monkeypatch):
    use_fake_aws(monkeypatch)


@pytest.fixture
def moto(aws_env):
    from moto import mock_aws

    with mock_aws():
        yield


@pytest.fixture(scope="session")
def demo_prometheus(tmp_path_factory):
    """A real Prometheus running the repository's prometheus.yml against `polo-exporter --demo`,
    with the demo's cost history since the golden date loaded as blocks: what a newcomer's
    Grafana would query. Returned once the `polo` job has been scraped twice and the demo's
    billing export has been read."""
    from concurrent.futures import ThreadPoolExecutor
    from importlib import resources

    import yaml

    from support.stack import load_cost_history, prometheus_config, start_exporter, start_prometheus

    workdir = tmp_path_factory.mktemp("demo-stack")
    data_dir = workdir / "prometheus-data"
    # The bundled demo config, sweeping every minute instead of every 5 so that the demo's
    # churn (deletions, creations) reaches Prometheus within a test's patience.
    config = yaml.safe_load(resources.files("polo").joinpath("polo.example.yml").read_text())
    config["sweep"]["interval"] = "1m"
    demo_config = workdir / "polo-demo.yml"
    demo_config.write_text(yaml.safe_dump(config))
    with ThreadPoolExecutor(1) as pool:  # the backfill and the first sweep take about as long
        history = pool.submit(load_cost_history, workdir, data_dir)
        exporter = start_exporter(workdir, "--config", str(demo_config))
        history.result()
    prometheus = None
    try:
        config = prometheus_config(workdir, {"exporter:19881": f"127.0.0.1:{exporter.port}"})
        prometheus = start_prometheus(workdir, config, data_dir)
        prometheus.wait_for('count_over_time(up{job="polo"}[10m]) >= 2 and up{job="polo"} == 1', timeout=240)
        prometheus.wait_for("polo_billing_export_periods > 0", timeout=240)  # delivered after the first sweep
        yield prometheus
    finally:
        if prometheus is not None:
            prometheus.stop()
        exporter.stop()
