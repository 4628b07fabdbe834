"""The HTTP edge: pre-rendered /metrics (gzip on request), /healthz and a landing page."""
import gzip
import http.client
import threading

import pytest

from conftest import ACCOUNT_A, make_config
from polo.aws import AwsAccess
from polo.server import serve
from polo.service import Exporter


@pytest.fixture
def running(moto):
    config = make_config(accounts=(ACCOUNT_A,), collectors=["vpcs"],
                         aws={"external_id": "s3cr3t-external-id"})
    exporter = Exporter(config, AwsAccess(config.aws, home_region="us-east-1"))
    server = serve(exporter, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield exporter, server.server_address[1]
    server.shutdown()
    server.server_close()


def get(port, path, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", path, headers=headers or {})
    response = conn.getresponse()
    return response.status, dict(response.getheaders()), response.read()


def test_healthz_is_503_until_a_sweep_completes(running):
    exporter, port = running
    status, _, body = get(port, "/healthz")
    assert status == 503 and b"no sweep has completed" in body
    exporter.sweep_once()
    status, _, body = get(port, "/healthz")
    assert status == 200 and body.startswith(b"ok")


def test_healthz_reports_a_stale_sweep(running):
    exporter, _ = running
    exporter.sweep_once()
    healthy, reason = exporter.health(now=exporter.snapshot.last_success + 3 * 300 + 1)
    assert not healthy and "last successful sweep was 901s ago" in reason


def test_metrics_plain_and_gzip(running):
    exporter, port = running
    exporter.sweep_once()
    status, headers, plain = get(port, "/metrics")
    assert status == 200 and headers["Content-Type"].startswith("text/plain; version=0.0.4")
    assert b'polo_resource_info{account_id="111111111111"' in plain
    status, headers, zipped = get(port, "/metrics", {"Accept-Encoding": "gzip, deflate"})
    assert headers["Content-Encoding"] == "gzip" and gzip.decompress(zipped) == plain


def test_scrape_never_calls_aws(running):
    exporter, port = running
    exporter.sweep_once()
    before = exporter.access.stats.snapshot()
    for _ in range(5):
        get(port, "/metrics")
        get(port, "/")
    assert exporter.access.stats.snapshot() == before


def test_landing_page_summarises_config_without_secrets(running):
    _, port = running
    status, _, body = get(port, "/")
    page = body.decode()
    assert status == 200 and 'href="metrics"' in page and ACCOUNT_A in page
    assert "s3cr3t" not in page and "arn:aws:iam" not in page
    assert get(port, "/nope")[0] == 404
