"""The HTTP shell both programs share (polo.web.server): slowloris, connection caps, clients that
go away, and binding. Real sockets on loopback; the deadlines are shortened for the tests."""
from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time

import pytest

import polo.web.server as web_server
from support.common import free_port
from polo.web.server import Handler, Server, listen

BIG = b"x" * (16 << 20)


class Echo(Handler):
    def do_GET(self):
        body = BIG if self.path == "/big" else b"ok\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        for start in range(0, len(body), 1 << 16):
            self.wfile.write(body[start:start + (1 << 16)])


@pytest.fixture
def short_deadlines(monkeypatch):
    monkeypatch.setattr(web_server, "HEADER_TIMEOUT", 1.0)
    monkeypatch.setattr(web_server, "IDLE_TIMEOUT", 2.0)


@pytest.fixture
def serving():
    servers = []

    def start(server_class=Server):
        server = listen(Echo, "127.0.0.1", 0, server_class=server_class)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def get_ok(server) -> bytes:
    with socket.create_connection(server.server_address, timeout=10) as sock:
        sock.sendall(b"GET / HTTP/1.0\r\n\r\n")
        return sock.recv(100)


def test_slowloris_headers_are_cut_off_at_the_deadline(serving, monkeypatch):
    """One byte every 0.3 s passes any per-read timeout; the headers' deadline still ends it."""
    monkeypatch.setattr(web_server, "HEADER_TIMEOUT", 1.0)  # the idle timeout stays 30 s
    server = serving()
    started = time.monotonic()
    with socket.create_connection(server.server_address, timeout=10) as sock:
        closed = False
        for byte in b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100:
            try:
                sock.sendall(bytes([byte]))
                time.sleep(0.3)
            except OSError:
                closed = True
                break
            if time.monotonic() - started > 6:
                break
        if not closed:
            sock.settimeout(5)
            closed = sock.recv(100) == b""
    assert closed and time.monotonic() - started < 5
    assert server.connection_errors.value("header_timeout") == 1


def test_a_kept_alive_connection_is_closed_after_the_idle_timeout(serving, short_deadlines):
    server = serving()
    with socket.create_connection(server.server_address, timeout=10) as idle:
        started = time.monotonic()
        assert idle.recv(100) == b""  # closed by the server, not by our 10 s timeout
        assert time.monotonic() - started < 5
    assert server.connection_errors.value("header_timeout") == 0  # idle is not an attack


def test_connections_beyond_the_cap_get_503_and_the_rest_are_served(serving):
    server = serving(type("Capped", (Server,), {"max_connections": 4}))
    held = [socket.create_connection(server.server_address, timeout=10) for _ in range(4)]
    try:
        time.sleep(0.3)  # all four accepted and holding their slots
        with socket.create_connection(server.server_address, timeout=10) as extra:
            reply = extra.recv(200)
        assert reply.startswith(b"HTTP/1.1 503") and b"too many connections" in reply
        assert server.connection_errors.value("too_many_connections") == 1
    finally:
        for sock in held:
            sock.close()
    deadline = time.monotonic() + 5
    while (reply := get_ok(server)).startswith(b"HTTP/1.1 503") and time.monotonic() < deadline:
        time.sleep(0.1)  # the slots free as the held connections' threads notice the close
    assert reply.startswith(b"HTTP/1.0 200")


def test_a_client_that_leaves_mid_response_is_counted_not_logged_as_a_traceback(serving, capsys, caplog):
    server = serving()
    for _ in range(3):
        sock = socket.create_connection(server.server_address, timeout=10)
        sock.sendall(b"GET /big HTTP/1.0\r\n\r\n")
        sock.recv(1000)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        sock.close()  # a reset, mid-body
    deadline = time.monotonic() + 10
    while server.connection_errors.value("client_disconnected") < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.connection_errors.value("client_disconnected") == 3
    assert "Traceback" not in capsys.readouterr().err
    assert not [r for r in caplog.records if r.levelname in ("WARNING", "ERROR")]


def test_both_programs_exit_2_naming_the_flag_when_the_port_is_taken(tmp_path):
    taken = socket.create_server(("127.0.0.1", 0))
    port = taken.getsockname()[1]
    env = {"POLO_RELAY_TOKEN": "t" * 20, "SLACK_BOT_TOKEN": "xoxb-test", "PATH": "/usr/bin:/bin"}
    try:
        relay = subprocess.run([sys.executable, "-m", "polo.slack.relay", "--state-dir", str(tmp_path / "r"),
                                "--web.listen-address", f"127.0.0.1:{port}"],
                               capture_output=True, text=True, timeout=60, env=env)
        exporter = subprocess.run([sys.executable, "-m", "polo", "--config", str(write_config(tmp_path)),
                                   "--web.listen-address", f"127.0.0.1:{port}"],
                                  capture_output=True, text=True, timeout=60, env=env)
    finally:
        taken.close()
    for result in (relay, exporter):
        assert result.returncode == 2, result.stderr
        assert f"(command line): --web.listen-address: cannot listen on 127.0.0.1:{port}" in result.stderr
        assert result.stderr.count("\n") == 1


def test_the_relay_listens_on_ipv6_like_the_exporter(tmp_path):
    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    port = free_port()
    env = {"POLO_RELAY_TOKEN": "t" * 20, "SLACK_BOT_TOKEN": "xoxb-test", "PATH": "/usr/bin:/bin"}
    relay = subprocess.Popen([sys.executable, "-m", "polo.slack.relay", "--state-dir", str(tmp_path / "r"),
                              "--web.listen-address", f"[::1]:{port}"], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline, reply = time.monotonic() + 30, b""
        while time.monotonic() < deadline and not reply:
            try:
                with socket.create_connection(("::1", port), timeout=5) as sock:
                    sock.sendall(b"GET /healthz HTTP/1.0\r\n\r\n")
                    reply = sock.recv(100)
            except OSError:
                assert relay.poll() is None, relay.communicate()[1]
                time.sleep(0.2)
        assert reply.startswith(b"HTTP/1.0 200"), reply
    finally:
        relay.terminate()
        relay.communicate(timeout=30)


def write_config(tmp_path):
    path = tmp_path / "polo.yml"
    path.write_text('accounts: [{id: "111111111111", name: a, environment: prod}]\n'
                    f"state_dir: {tmp_path / 'state'}\n")
    return path


def test_a_slow_but_complete_request_gets_its_whole_response(serving, monkeypatch):
    """The deadline's remainder once stayed on the socket: headers finished late within the
    deadline left a timeout of a few ms for writing the response to a client reading slowly."""
    monkeypatch.setattr(web_server, "HEADER_TIMEOUT", 3.0)
    server = serving()
    with socket.create_connection(server.server_address, timeout=10) as sock:
        sock.sendall(b"GET /big HTTP/1.0\r\n")
        time.sleep(2.0)  # the headers end inside their deadline, a second before it
        sock.sendall(b"\r\n")
        time.sleep(3.5)  # then the client is slow to read: the server's writes must wait
        received = 0
        while chunk := sock.recv(1 << 20):
            received += len(chunk)
    assert received > len(BIG)  # the headers and the whole 16 MiB body
