import gc
import os
import shutil
import socket

import pytest

from polo.config import parse_config

ACCOUNT_A = "111111111111"
ACCOUNT_B = "222222222222"
ACCOUNT_C = "333333333333"


def use_fake_aws(patch: pytest.MonkeyPatch, region: str = "us-east-1") -> None:
    """Fake credentials for moto; never a real profile, never MOTO_ACCOUNT_ID."""
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": region,
                        "MOTO_EC2_LOAD_DEFAULT_AMIS": "false"}.items():
        patch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "MOTO_ACCOUNT_ID"):
        patch.delenv(name, raising=False)


def pytest_configure(config):
    config.addinivalue_line("markers", "fast: pure tests (no simulated AWS, server, subprocess or binary); "
                                       "the fast tier is python -m pytest -m fast")


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


def make_config(accounts=(ACCOUNT_A, ACCOUNT_B), regions=("us-east-1",), **extra):
    data = {"accounts": [{"id": a, "name": f"acct{n}", "environment": "prod" if n == 0 else "dev"}
                         for n, a in enumerate(accounts)],
            "regions": list(regions)}
    data.update(extra)
    return parse_config(data, "test.yml")


def assumed_client(service, account_id, region="us-east-1"):
    """A boto3 client acting inside `account_id` of the simulated AWS."""
    import boto3

    creds = boto3.client("sts", region_name=region).assume_role(
        RoleArn=f"arn:aws:iam::{account_id}:role/PoloReadOnly", RoleSessionName="test-setup")["Credentials"]
    return boto3.client(service, region_name=region, aws_access_key_id=creds["AccessKeyId"],
                        aws_secret_access_key=creds["SecretAccessKey"],
                        aws_session_token=creds["SessionToken"])


def require_binary(name: str) -> str:
    """Path of a real binary (promtool, prometheus); skipped locally if absent, a failure in CI."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} not installed (Debian package prometheus)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


def free_port() -> int:
    """A loopback port nothing listens on (right now)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def demo_prometheus(tmp_path_factory):
    """A real Prometheus running the repository's prometheus.yml against `polo-exporter --demo`,
    with the demo's cost history since the golden date loaded as blocks: what a newcomer's
    Grafana would query. Returned once the `polo` job has been scraped twice."""
    from concurrent.futures import ThreadPoolExecutor
    from importlib import resources

    import yaml

    from stack import load_cost_history, prometheus_config, start_exporter, start_prometheus

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
        yield prometheus
    finally:
        if prometheus is not None:
            prometheus.stop()
        exporter.stop()
