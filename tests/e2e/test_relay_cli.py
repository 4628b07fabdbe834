"""`polo-slack-relay` as the console script operators run: settings errors exit 2 with one line,
and a running relay keeps both tokens out of its DEBUG log."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time

import pytest

from support.common import free_port
from support.fake_slack import FakeSlack
from support.relay import RELAY_TOKEN, SLACK_TOKEN, alert, payload, post
from support.stack import Service

RELAY = shutil.which("polo-slack-relay") or "polo-slack-relay"
BOTH = {"POLO_RELAY_TOKEN": RELAY_TOKEN, "SLACK_BOT_TOKEN": SLACK_TOKEN}


def run(args, env, tmp_path):
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "POLO_RELAY"))}
    return subprocess.run([RELAY, "--state-dir", str(tmp_path / "state"), *args], env=clean | env,
                          capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.parametrize("env, args, message", [
    ({"SLACK_BOT_TOKEN": SLACK_TOKEN}, [], "POLO_RELAY_TOKEN: not set (set POLO_RELAY_TOKEN or POLO_RELAY_TOKEN_FILE)"),
    ({"POLO_RELAY_TOKEN": RELAY_TOKEN}, [], "SLACK_BOT_TOKEN: not set"),
    ({"POLO_RELAY_TOKEN": RELAY_TOKEN, "SLACK_BOT_TOKEN_FILE": "/nonexistent/token"}, [],
     "SLACK_BOT_TOKEN_FILE=/nonexistent/token: cannot read: No such file or directory"),
    (BOTH, ["--dedup-window", "soon"], "--dedup-window: bad duration"),
    (BOTH, ["--web.listen-address", "nowhere"], "--web.listen-address"),
    (BOTH, ["--slack-api-url", "slack.com"], "--slack-api-url"),
])
def test_bad_settings_exit_2_with_one_line_naming_the_setting(tmp_path, env, args, message):
    result = run(args, env, tmp_path)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and message in result.stderr
    assert RELAY_TOKEN not in result.stderr and SLACK_TOKEN not in result.stderr


def test_the_console_script_relays_with_tokens_from_files_and_never_logs_them(tmp_path):
    slack = FakeSlack(token=SLACK_TOKEN)
    (tmp_path / "relay-token").write_text(RELAY_TOKEN + "\n")
    (tmp_path / "slack-token").write_text(SLACK_TOKEN + "\n")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "POLO_RELAY"))}
    env |= {"POLO_RELAY_TOKEN_FILE": str(tmp_path / "relay-token"),
            "SLACK_BOT_TOKEN_FILE": str(tmp_path / "slack-token")}
    relay = Service("relay", [RELAY, "--web.listen-address", f"127.0.0.1:{port}",
                              "--state-dir", str(tmp_path / "state"),
                              "--slack-api-url", slack.url, "--log.level", "debug"], tmp_path, port, env=env)
    try:
        relay.wait_until_ok("/healthz", 120)
        assert post(f"{relay.url}/alerts/polo-dev", payload([alert("a1")]))[0] == 200
        assert post(f"{relay.url}/alerts/polo-dev", payload([alert("a1")]), token="guess")[0] == 401
        [message] = slack.wait_for(lambda: slack.top_level("polo-dev"))
        post(f"{relay.url}/alerts/polo-dev", payload([alert("a1", status="resolved")]))
        slack.wait_for(lambda: slack.replies(message))
    finally:
        relay.stop()
        slack.stop()
    log = relay.log.read_text()
    assert relay.process.returncode == 0  # SIGTERM is a clean stop
    assert "Sending a request" in log and "401" in log  # DEBUG was on, for slack-sdk too
    assert RELAY_TOKEN not in log and SLACK_TOKEN not in log


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_ends_the_relay_within_5_s_even_mid_slack_call(tmp_path, signum):
    """Slack accepts the connection and never answers: the delivery thread hangs in its read.
    The relay shares the exporter's shell (polo.web.signals): stop within the deadline, exit 0,
    the notification left in the queue for the next start."""
    silent = socket.create_server(("127.0.0.1", 0))
    port = free_port()
    relay = Service("relay", [RELAY, "--web.listen-address", f"127.0.0.1:{port}",
                              "--state-dir", str(tmp_path / "state"),
                              "--slack-api-url", f"http://127.0.0.1:{silent.getsockname()[1]}/api/"],
                    tmp_path, port, env={k: v for k, v in os.environ.items()} | BOTH)
    try:
        relay.wait_until_ok("/healthz", 120)
        assert post(f"{relay.url}/alerts/polo-dev", payload([alert("a1")]))[0] == 200
        caller, _address = silent.accept()  # the delivery thread is now waiting for Slack's answer
        started = time.monotonic()
        relay.process.send_signal(signum)
        relay.process.wait(timeout=15)
        assert time.monotonic() - started < 5
        assert relay.process.returncode == 0
        assert list((tmp_path / "state" / "queue").iterdir())  # kept for the next start
        caller.close()
    finally:
        relay.stop()
        silent.close()
    assert "Traceback" not in relay.log.read_text()
