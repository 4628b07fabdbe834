"""Fault and abuse drills (issue 12): what an operator and an attacker did to the exporter, kept
as tests so none of it comes back. Real parts only: the real CLI in a subprocess, moto's
server mode over HTTP, real sockets and signals.
"""
import http.client
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

from support.stack import REPO
from support.common import ACCOUNT_A, assumed_client, free_port, make_config
from polo.aws.access import AwsAccess
from polo.render.exposition import Family
from polo.web.exporter_http import serve
from polo.exporter import Exporter
from polo.source import Source

SECRET_EXTERNAL_ID = "drill-external-id-7f3a9c"


def get(port, path, timeout=30.0):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


class SlowSource(Source):
    """A metric source that takes a while to render, as a large estate does: it widens the
    window between a sweep's end and its payload being served."""

    def families(self, snapshot):
        time.sleep(0.3)
        return [Family("polo_drill_slow_source", "gauge", "Drill only.", [("", 1)])]


@pytest.fixture
def serving(moto):
    servers = []

    def start(exporter):
        server = serve(exporter, "127.0.0.1", 0)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server.server_address[1]

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_health_never_runs_ahead_of_metrics(serving):
    """Poll /healthz and /metrics while the exporter starts and sweeps: whenever health says 200,
    the metrics it vouches for must already be served."""
    config = make_config(accounts=(ACCOUNT_A,), collectors=["vpcs"], sweep={"interval": "1s"})
    exporter = Exporter(config, AwsAccess(config.aws, home_region="us-east-1"), [SlowSource()])
    port = serving(exporter)
    exporter.start()
    try:
        healthy_polls, deadline = 0, time.monotonic() + 4
        while time.monotonic() < deadline:
            status, _ = get(port, "/healthz")
            if status == 200:
                healthy_polls += 1
                _, body = get(port, "/metrics")
                assert b"polo_resource_info" in body or b"polo_collector_up" in body
                assert b"polo_sweep_last_success_timestamp_seconds" in body
            time.sleep(0.01)
        assert healthy_polls > 0
    finally:
        exporter.stop()


def scrape_burst(port, clients=200, timeout=30.0):
    """`clients` scrapes at once; returns (latencies of the ones that worked, errors)."""
    barrier, lock = threading.Barrier(clients), threading.Lock()
    latencies, errors = [], []

    def one():
        barrier.wait()
        started = time.monotonic()
        try:
            status, _ = get(port, "/metrics", timeout=timeout)
            assert status == 200
            with lock:
                latencies.append(time.monotonic() - started)
        except Exception as exc:  # every failure kind is a drill finding
            with lock:
                errors.append(f"{type(exc).__name__} after {time.monotonic() - started:.1f}s")

    threads = [threading.Thread(target=one) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(latencies), errors


def test_200_concurrent_scrapes_all_succeed(serving):
    config = make_config(accounts=(ACCOUNT_A,), collectors=["vpcs", "subnets", "security_groups"])
    exporter = Exporter(config, AwsAccess(config.aws, home_region="us-east-1"), sources=())
    exporter.sweep_once()
    port = serving(exporter)
    latencies, errors = scrape_burst(port)
    assert errors == [] and len(latencies) == 200


def test_hostile_tag_values_reach_metrics(serving):
    """Tag values AWS accepts but UTF-8 cannot carry (a lone surrogate, via Lambda), quotes,
    newlines and backslashes: the sweep renders, every other resource is there, health is 200."""
    import io
    import zipfile

    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("handler.py", "def handler(event, context):\n    return 1\n")
    role = assumed_client("iam", ACCOUNT_A).create_role(RoleName="fn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    lam = assumed_client("lambda", ACCOUNT_A)
    for name, team in (("lone-surrogate", "media\ud800"), ("quotes", 'a "b"\nc\\'), ("plain", "web")):
        lam.create_function(FunctionName=name, Runtime="python3.12", Role=role, Handler="handler.handler",
                            Code={"ZipFile": code.getvalue()}, Tags={"team": team})
    config = make_config(accounts=(ACCOUNT_A,), collectors=["lambda_functions"], tags={"labels": ["team"]})
    exporter = Exporter(config, AwsAccess(config.aws, home_region="us-east-1"), sources=())
    exporter.sweep_once()
    port = serving(exporter)
    status, body = get(port, "/metrics")
    text = body.decode("utf-8")  # strict: the payload is valid UTF-8
    for name in ("lone-surrogate", "quotes", "plain"):
        assert f'resource_id="{name}"' in text
    assert 'tag_team="media?"' in text and r'tag_team="a \"b\"\nc\\"' in text
    assert get(port, "/healthz")[0] == 200


@pytest.fixture(scope="module")
def moto_server():
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def cli_env():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MOTO_"))}
    env.update({"AWS_ACCESS_KEY_ID": "drill", "AWS_SECRET_ACCESS_KEY": "drill-base-secret",
                "AWS_DEFAULT_REGION": "us-east-1", "PYTHONUNBUFFERED": "1"})
    return env


def test_no_secret_reaches_the_log_at_debug(moto_server, tmp_path):
    config = tmp_path / "polo.yml"
    config.write_text(yaml.safe_dump({
        "accounts": [{"id": ACCOUNT_A, "name": "a", "environment": "prod"}],
        "collectors": ["vpcs"],
        "aws": {"endpoint_url": moto_server, "external_id": SECRET_EXTERNAL_ID},
        "costs": {"enabled": True},
        "state_dir": str(tmp_path / "state"),
    }))
    result = subprocess.run([sys.executable, "-m", "polo", "--once", "--log.level", "debug",
                             "--config", str(config)], capture_output=True, env=cli_env(), timeout=300)
    log = result.stderr.decode()
    for secret in (SECRET_EXTERNAL_ID, "SecretAccessKey", "SessionToken", "drill-base-secret",
                   "aws_secret_access_key", "arn:aws:iam::", "FQoGZXIvYXdzE"):
        assert secret not in log, f"{secret} in the log"
    assert "AccessKeyId" not in log and "ASIA" not in log
    assert " DEBUG polo" in log  # debug logging was on


class HungEndpoint:
    """An 'AWS endpoint' that accepts connections and never answers."""

    def __init__(self):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.connected = threading.Event()
        self._held = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self._held.append(conn)
            self.connected.set()

    def close(self):
        self.sock.close()
        for conn in self._held:
            conn.close()


def as_pid_1(command):
    """The command as PID 1 of a new PID namespace when this machine allows it (as in a
    container, where the default action of SIGTERM is to ignore it), else as it is."""
    probe = subprocess.run(["unshare", "--pid", "--fork", "--kill-child", "true"], capture_output=True) \
        if Path("/usr/bin/unshare").exists() else None
    if probe is not None and probe.returncode == 0:
        return ["unshare", "--pid", "--fork", "--kill-child"] + command, True
    return command, False


def inner_pid(process, namespaced):
    if not namespaced:
        return process.pid
    children = Path(f"/proc/{process.pid}/task/{process.pid}/children")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        pids = children.read_text().split()
        if pids:
            return int(pids[0])
        time.sleep(0.05)
    raise AssertionError("the namespaced exporter did not start")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_the_exporter_within_seconds_even_mid_call(tmp_path, signum):
    hung = HungEndpoint()
    state = tmp_path / "state"
    config = tmp_path / "polo.yml"
    config.write_text(yaml.safe_dump({
        "accounts": [{"id": ACCOUNT_A, "name": "a", "environment": "prod"}],
        "collectors": ["vpcs"],
        "costs": {"enabled": False},
        "aws": {"endpoint_url": f"http://127.0.0.1:{hung.port}", "max_attempts": 1, "read_timeout": "60s"},
        "web": {"listen_address": f"127.0.0.1:{free_port()}"},
        "state_dir": str(state),
    }))
    command, namespaced = as_pid_1([sys.executable, "-m", "polo", "--config", str(config)])
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=cli_env())
    try:
        pid = inner_pid(process, namespaced)
        assert hung.connected.wait(30), "the sweep never reached the endpoint"
        started = time.monotonic()
        os.kill(pid, signum)
        _, err = process.communicate(timeout=20)
        took = time.monotonic() - started
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
        hung.close()
    log = err.decode()
    assert process.returncode == 0, log
    assert took < 10, f"took {took:.1f}s"
    assert "Traceback" not in log and "cannot schedule new futures" not in log
    assert not list(state.glob(".*.tmp"))  # no state file left half-written


# --- Issue 17: signals, reloads and hostile configs against the real CLI --------------------


def call(port, path, method="GET", timeout=15.0):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def start_cli(tmp_path, config: dict, *args: str):
    """The real CLI on a free loopback port with `config`; returns (process, port, config path)."""
    port = free_port()
    path = tmp_path / "polo.yml"
    path.write_text(yaml.safe_dump({"state_dir": str(tmp_path / "state"), **config,
                                    "web": {"listen_address": f"127.0.0.1:{port}"}}))
    process = subprocess.Popen([sys.executable, "-m", "polo", "--config", str(path), *args],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=cli_env())
    return process, port, path


def wait_healthy(process, port, timeout=120.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[1].decode()
        try:
            if call(port, "/healthz", timeout=5)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError("the exporter never became healthy")


def wait_listening(process, port, timeout=30.0):
    """Until the CLI answers HTTP at all (/healthz says 503 while the demo builds its estate)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[1].decode()
        try:
            call(port, "/healthz", timeout=5)
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("the exporter never answered")


def stop_within(process, seconds):
    """SIGTERM, then the exit code and log; fails unless the process is gone within `seconds`."""
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    try:
        _, err = process.communicate(timeout=seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        _, err = process.communicate()
        raise AssertionError(f"still running {seconds}s after SIGTERM:\n{err.decode()[-3000:]}") from None
    return process.returncode, err.decode(), time.monotonic() - started


def small_estate(moto_server):
    return {"accounts": [{"id": ACCOUNT_A, "name": "a", "environment": "prod"}], "collectors": ["vpcs"],
            "costs": {"enabled": False}, "pricing": {"price_list": False},
            "aws": {"endpoint_url": moto_server}}


def test_a_burst_of_sighups_is_one_reload_and_sigterm_still_wins(moto_server, tmp_path):
    """100 SIGHUPs 10 ms apart once deadlocked the exporter (the reload ran inside the handler
    and took a lock the next handler waited on, on the same thread)."""
    process, port, _ = start_cli(tmp_path, small_estate(moto_server))
    try:
        wait_healthy(process, port)
        for _ in range(100):
            process.send_signal(signal.SIGHUP)
            time.sleep(0.01)
        status, body = call(port, "/-/reload", "POST", timeout=15)
        assert (status, body) == (200, b"config reloaded\n")
        assert call(port, "/healthz")[0] == 200
    finally:
        code, log, took = stop_within(process, 5)
    assert code == 0 and took < 5, log
    assert "Traceback" not in log and " ERROR " not in log


DEEP = "accounts: " + "[" * 5000 + "]" * 5000 + "\n"


def test_a_deeply_nested_config_is_a_config_error_at_start(tmp_path):
    path = tmp_path / "deep.yml"
    path.write_text(DEEP)
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "polo", "--config", str(path)], capture_output=True,
                            text=True, timeout=60, env=cli_env())
    assert result.returncode == 2 and time.monotonic() - started < 20
    assert result.stderr.count("\n") == 1 and "nested deeper than 32 levels" in result.stderr
    assert result.stderr.startswith(f"polo-exporter: config error: {path}: accounts[0]")
    for program in (["polo", "--demo"], ["polo.slack.relay", "--state-dir", str(tmp_path / "relay")]):
        result = subprocess.run([sys.executable, "-m", *program, "--web.config.file", str(path)],
                                capture_output=True, text=True, timeout=60,
                                env=cli_env() | {"POLO_RELAY_TOKEN": "t" * 20, "SLACK_BOT_TOKEN": "xoxb-t"})
        assert result.returncode == 2, result.stderr
        assert "nested deeper than 32 levels" in result.stderr and "Traceback" not in result.stderr


def test_a_deeply_nested_config_is_refused_at_reload_and_the_old_one_runs_on(moto_server, tmp_path):
    process, port, path = start_cli(tmp_path, small_estate(moto_server))
    try:
        wait_healthy(process, port)
        good = path.read_text()
        path.write_text(DEEP)
        status, body = call(port, "/-/reload", "POST", timeout=15)
        assert status == 500 and b"nested deeper than 32 levels" in body
        assert b"polo_config_last_reload_successful 0" in call(port, "/metrics")[1]
        process.send_signal(signal.SIGHUP)
        time.sleep(1)
        assert process.poll() is None and call(port, "/healthz")[0] == 200
        path.write_text(good)
        assert call(port, "/-/reload", "POST")[0] == 200
        assert b"polo_config_last_reload_successful 1" in call(port, "/metrics")[1]
    finally:
        code, log, _ = stop_within(process, 5)
    assert code == 0 and "Traceback" not in log


def test_sigterm_at_20_random_moments_stops_the_demo_within_5s(tmp_path):
    """While the demo builds its estate, mid-sweep, mid-render, mid-reload, during a Price List
    round or a cost refresh: SIGTERM ends the process within 5 s, and logs no ERROR."""
    rng = __import__("random").Random(17)
    demo = {"accounts": [{"id": ACCOUNT_A, "name": "a", "environment": "prod"},
                         {"id": "222222222222", "name": "b", "environment": "dev"}],
            "regions": ["us-east-1"], "sweep": {"interval": "2s"}, "costs": {"account": ACCOUNT_A}}
    moments = []
    for run in range(20):
        workdir = tmp_path / f"run{run}"
        workdir.mkdir()
        process, port, _ = start_cli(workdir, demo, "--demo")
        # from the moment it listens: before its main runs, no Python program can hold a signal
        wait_listening(process, port)
        delay = rng.uniform(0.0, 10.0)
        time.sleep(delay)
        if run % 3 == 0:  # a reload in flight as well
            process.send_signal(signal.SIGHUP)
            time.sleep(rng.uniform(0, 0.05))
        code, log, took = stop_within(process, 5)
        moments.append(round(delay, 1))
        assert code == 0, log
        assert " ERROR " not in log and "Traceback" not in log, log
    assert max(moments) > 8  # some signals landed after the first sweep


def test_aws_unreachable_is_one_warning_per_error_kind_not_thousands_of_lines(tmp_path):
    """One 60 s sweep with AWS unreachable once wrote 8,068 lines: a WARNING per task and a
    botocore traceback per failed credential refresh."""
    closed = free_port()
    example = yaml.safe_load((REPO / "polo.example.yml").read_text())
    config = tmp_path / "polo.yml"
    config.write_text(yaml.safe_dump({
        "accounts": example["accounts"], "regions": ["us-east-1", "eu-west-1"],
        "aws": {"endpoint_url": f"http://127.0.0.1:{closed}", "max_attempts": 2, "connect_timeout": "1s"},
        "pricing": {"price_list": False}, "state_dir": str(tmp_path / "state")}))
    result = subprocess.run([sys.executable, "-m", "polo", "--once", "--config", str(config)],
                            capture_output=True, text=True, env=cli_env(), timeout=300)
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) <= 6 and "Traceback" not in result.stderr, result.stderr[:3000]
    [summary] = [line for line in lines if "collector tasks failed" in line]
    assert " WARNING " in summary and "720 collector tasks failed with EndpointConnectionError: 16 accounts" in summary
    assert f"endpoint http://127.0.0.1:{closed}" in summary
    assert "polo_collector_error_info{" in result.stdout  # each task's failure is still visible


def test_the_demo_removes_its_temporary_state_and_uses_a_configured_state_dir(tmp_path):
    """--demo once left a 5 MB folder in /tmp on every run and ignored state_dir."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    process = subprocess.Popen([sys.executable, "-m", "polo", "--demo", "--web.listen-address",
                                f"127.0.0.1:{free_port()}"], env=cli_env() | {"TMPDIR": str(scratch)},
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while not list(scratch.glob("polo-demo-*")) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert list(scratch.glob("polo-demo-*")), "no temporary state folder was made"
    code, log, _ = stop_within(process, 5)
    assert code == 0 and not list(scratch.glob("polo-demo-*")), log

    demo = {"accounts": [{"id": ACCOUNT_A, "name": "a", "environment": "prod"}], "regions": ["us-east-1"],
            "collectors": ["vpcs"], "costs": {"account": ACCOUNT_A}, "pricing": {"price_list": False}}
    process, port, _ = start_cli(tmp_path, demo, "--demo")
    try:
        deadline = time.monotonic() + 120
        while not list((tmp_path / "state").glob("cost-explorer-*.json")):  # the config's state_dir
            assert time.monotonic() < deadline and process.poll() is None, "no cost state written"
            time.sleep(0.2)
    finally:
        stop_within(process, 5)


def test_the_demo_answers_at_once_and_says_what_it_is_building(tmp_path):
    """The port stayed closed for 41 to 116 s while the simulated estate was built, and the log
    said nothing."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "polo", "--demo", "--web.listen-address", f"127.0.0.1:{port}"],
                               env=cli_env() | {"TMPDIR": str(tmp_path)}, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    try:
        deadline, answer = time.monotonic() + 10, None
        while answer is None and time.monotonic() < deadline:
            try:
                answer = call(port, "/healthz", timeout=2)
            except OSError:
                time.sleep(0.05)
        assert answer is not None, "the port never opened"
        status, body = answer
        assert status == 503 and body.startswith(b"starting: building the simulated AWS estate (16 accounts")
        assert b"building the simulated AWS estate" in call(port, "/")[1]
        assert call(port, "/metrics")[0] == 200
        time.sleep(4)
    finally:
        _, log, _ = stop_within(process, 5)
    assert "listening on http://127.0.0.1" in log and "simulated estate: account" in log


def test_slowloris_and_a_connection_flood_leave_the_real_exporter_serving(moto_server, tmp_path):
    """One byte every few seconds once held a thread and a descriptor per connection forever
    (506 held in a 70 s drill), with no cap on connections."""
    process, port, _ = start_cli(tmp_path, small_estate(moto_server))
    held = []
    try:
        wait_healthy(process, port)
        for _ in range(300):  # more than the cap of 256, each sending a header line and stalling
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
            sock.sendall(b"GET /metrics HTTP/1.1\r\nX-Slow: ")
            held.append(sock)
        refused = 0
        for sock in held[-40:]:
            sock.settimeout(5)
            try:
                refused += sock.recv(100).startswith(b"HTTP/1.1 503")
            except OSError:
                pass
        assert refused >= 40 - 1  # beyond the cap: answered 503 at once
        time.sleep(11)  # the header deadline (10 s) ends the stalled ones
        assert call(port, "/healthz")[0] == 200
        metrics = call(port, "/metrics")[1]
        assert b'polo_http_connection_errors_total{reason="too_many_connections"}' in metrics
    finally:
        for sock in held:
            sock.close()
        code, log, _ = stop_within(process, 5)
    assert code == 0 and "Traceback" not in log


def test_hostile_bodies_get_a_400_from_the_real_relay(tmp_path):
    """A body nested 100k deep or `Content-Length: ²` once got no answer and a traceback."""
    port = free_port()
    env = cli_env() | {"POLO_RELAY_TOKEN": "drill-relay-token", "SLACK_BOT_TOKEN": "xoxb-drill"}
    relay = subprocess.Popen([sys.executable, "-m", "polo.slack.relay", "--state-dir", str(tmp_path / "relay"),
                              "--web.listen-address", f"127.0.0.1:{port}", "--slack-api-url",
                              f"http://127.0.0.1:{free_port()}/api/"], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if call(port, "/healthz", timeout=2)[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        head = b"POST /alerts/polo-ops HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer drill-relay-token\r\n"
        deep = b"[" * 100_000 + b"]" * 100_000
        for request in (head + b"Content-Length: \xb2\r\n\r\n",
                        head + f"Content-Length: {len(deep)}\r\n\r\n".encode() + deep):
            with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
                sock.sendall(request)
                assert sock.recv(100).startswith(b"HTTP/1.0 400")
        metrics = call(port, "/metrics")[1]
        assert b'polo_relay_requests_rejected_total{reason="malformed"} 2' in metrics
    finally:
        code, log, _ = stop_within(relay, 5)
    assert "Traceback" not in log
