"""The HTTP edge: pre-rendered /metrics (gzip on request), /healthz and a landing page."""
import gzip
import http.client
import socket
import threading

import pytest

from support.common import ACCOUNT_A, make_config
from polo.aws.access import AwsAccess
from polo.config import split_listen_address
from polo.web.exporter_http import accepts_gzip, serve
from polo.exporter import Exporter


@pytest.fixture
def running(moto):
    config = make_config(accounts=(ACCOUNT_A,), collectors=["vpcs"],
                         aws={"external_id": "s3cr3t-external-id"})
    exporter = Exporter(config, AwsAccess(config.aws, home_region="us-east-1"), sources=())
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
    assert "(4 per account-region)" in page
    assert "s3cr3t" not in page and "arn:aws:iam" not in page
    assert get(port, "/nope")[0] == 404


def request(port, method, path, headers=None, host="127.0.0.1"):
    conn = http.client.HTTPConnection(host, port, timeout=10)
    conn.request(method, path, headers=headers or {})
    response = conn.getresponse()
    return response.status, dict(response.getheaders()), response.read()


def test_head_answers_like_get_without_a_body(running):
    exporter, port = running
    exporter.sweep_once()
    for path in ("/metrics", "/healthz", "/"):
        get_status, get_headers, get_body = request(port, "GET", path)
        status, headers, body = request(port, "HEAD", path)
        assert (status, body) == (get_status, b"")
        assert headers["Content-Length"] == str(len(get_body))


@pytest.mark.parametrize("accept, gzipped", [
    ("gzip", True), ("GZip", True), ("deflate, gzip;q=0.5", True), ("*", True), ("x-gzip", True),
    ("gzip;q=0", False), ("gzip; q=0.000", False), ("identity", False), ("x-gzipped", False),
    ("*, gzip;q=0", False), ("gzip;q=nope", False), ("", False),
])
def test_accept_encoding_tokens_and_q_values(accept, gzipped):
    assert accepts_gzip(accept) == gzipped


def test_metrics_vary_on_accept_encoding_and_honour_a_refusal(running):
    exporter, port = running
    exporter.sweep_once()
    for accept, encoding in (("gzip;q=0", None), ("deflate, gzip;q=0.5", "gzip")):
        status, headers, body = request(port, "GET", "/metrics", {"Accept-Encoding": accept})
        assert status == 200 and headers["Vary"] == "Accept-Encoding"
        assert headers.get("Content-Encoding") == encoding
        assert (gzip.decompress(body) if encoding else body) == exporter.payload.plain


def test_listen_backlog_takes_a_burst_of_connections(moto):
    """The standard library's backlog of 5 left most of 200 concurrent scrapes hanging in SYN
    retries; connect 100 sockets to a server that accepts nothing yet: all must get in."""
    config = make_config(accounts=(ACCOUNT_A,), collectors=["vpcs"])
    server = serve(Exporter(config, AwsAccess(config.aws, home_region="us-east-1"), sources=()), "127.0.0.1", 0)
    sockets = []
    try:
        for _ in range(100):
            sock = socket.socket()
            sockets.append(sock)
            sock.settimeout(2)
            sock.connect(server.server_address)  # times out once the accept queue is full
    finally:
        for sock in sockets:
            sock.close()
        server.server_close()


def test_ipv6_listen_address_binds(moto):
    config = make_config(accounts=(ACCOUNT_A,), collectors=["vpcs"], web={"listen_address": "[::1]:19881"})
    host, _ = split_listen_address(config.listen_address)
    server = serve(Exporter(config, AwsAccess(config.aws, home_region="us-east-1"), sources=()), host, 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        assert request(server.server_address[1], "GET", "/healthz", host="::1")[0] == 503
    finally:
        server.shutdown()
        server.server_close()
