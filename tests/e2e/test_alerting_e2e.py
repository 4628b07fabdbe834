"""Alerting end to end: real alerts from the repository's rules reach the fake Slack as one
message per group that updates itself.

Real parts: `polo-exporter --demo`, Debian's Prometheus running the repository's prometheus.yml
and alert rules, Debian's Alertmanager running alerting/alertmanager.yml, the relay as its
console script `polo-slack-relay`, and the fake Slack Web API (tests/support/fake_slack.py) that
slack-sdk talks to over loopback.

Changed for speed only, in temporary copies: scrape every 4s (timeout 4s), evaluation every 2s
and Prometheus' alert resend delay 2s; every rule's `for:` shortened to 2s; Alertmanager's
group_wait 1s and group_interval 2s; the relay URL points at loopback and the bearer token is a
temporary file. The alert toggled is PoloExporterDown (stopping and restarting the exporter).
"""
from __future__ import annotations

import os
import re
import shutil
import threading
import time
from pathlib import Path

import yaml

from support.common import free_port, require_binary
from support.fake_slack import FakeSlack
from support.stack import REPO, Service, prometheus_config, start_exporter, start_prometheus
from test_alertmanager import loopback_config


RELAY_TOKEN = "e2e-relay-token-91b"
SLACK_TOKEN = "xoxb-e2e-slack-token-4d0"
RELAY = shutil.which("polo-slack-relay") or "polo-slack-relay"


def fast_rules(directory: Path) -> str:
    """Copies of alerting/rules/*.yml with every `for:` at 2s; the glob for rule_files."""
    directory.mkdir()
    for source in sorted((REPO / "alerting" / "rules").glob("*.yml")):
        rules = yaml.safe_load(source.read_text())
        for group in rules["groups"]:
            for rule in group["rules"]:
                if "for" in rule:
                    rule["for"] = "2s"
        (directory / source.name).write_text(yaml.safe_dump(rules, sort_keys=False))
    return str(directory / "*.yml")


def fast_alertmanager(tmp_path: Path, relay_url: str) -> str:
    path = Path(loopback_config(tmp_path, relay_url, tmp_path / "polo_relay_token"))
    config = yaml.safe_load(path.read_text())

    def faster(route):
        route["group_interval"] = "2s"
        for child in route.get("routes", []):
            faster(child)

    faster(config["route"])
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return str(path)


def start_relay(tmp_path: Path, port: int, slack: FakeSlack) -> Service:
    relay = Service("relay", [RELAY, "--web.listen-address", f"127.0.0.1:{port}", "--state-dir",
                              str(tmp_path / "relay-state"), "--slack-api-url", slack.url,
                              "--grafana-url", "http://grafana.test:3000",
                              "--runbook-base-url", "https://git.example.com/polo/blob/main"],
                    tmp_path, port, env=environment(tmp_path))
    relay.wait_until_ok("/healthz", 120)
    return relay


def environment(tmp_path: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "POLO_RELAY"))}
    return clean | {"POLO_RELAY_TOKEN_FILE": str(tmp_path / "polo_relay_token"), "SLACK_BOT_TOKEN": SLACK_TOKEN}


def relay_metric(relay: Service, name: str, labels: str = "") -> float:
    """Sum of the relay's samples of `name` whose label string contains `labels`."""
    total = 0.0
    for line in relay.get("/metrics")[1].decode().splitlines():
        series, _, value = line.rpartition(" ")
        if series.split("{", 1)[0] == name and labels in series:
            total += float(value)
    return total


def exporter_down_messages(slack: FakeSlack, port: int):
    """Messages about the stopped exporter (not about the absent() alert Prometheus may raise
    in its first seconds, before the first scrape, which has no instance)."""
    return [m for m in slack.top_level("polo-ops") if f"Polo exporter 127.0.0.1:{port} is down" in m.block_text()]


def test_real_alerts_reach_slack_as_messages_that_update_themselves(tmp_path):
    alertmanager_binary = require_binary("prometheus-alertmanager")
    require_binary("prometheus")
    (tmp_path / "polo_relay_token").write_text(RELAY_TOKEN + "\n")
    slack = FakeSlack(token=SLACK_TOKEN)
    relay_port, am_port = free_port(), free_port()
    started: dict = {}
    booting = threading.Thread(target=lambda: started.setdefault("exporter", start_exporter(tmp_path)))
    booting.start()
    services: list[Service] = []
    try:
        relay = start_relay(tmp_path, relay_port, slack)
        services.append(relay)
        config = fast_alertmanager(tmp_path, f"http://127.0.0.1:{relay_port}")
        alertmanager = Service("alertmanager", [alertmanager_binary, f"--config.file={config}",
                                                f"--storage.path={tmp_path / 'am'}",
                                                f"--web.listen-address=127.0.0.1:{am_port}",
                                                "--cluster.listen-address="], tmp_path, am_port)
        services.append(alertmanager)
        alertmanager.wait_until_ok("/-/ready", 30)
        booting.join()
        exporter = started["exporter"]
        services.append(exporter)
        prometheus_yml = prometheus_config(tmp_path, {
            "exporter:19881": f"127.0.0.1:{exporter.port}", "alertmanager:9093": f"127.0.0.1:{am_port}",
            "slack-relay:19882": f"127.0.0.1:{relay_port}"},
            scrape_interval="4s", scrape_timeout="4s", evaluation_interval="2s")
        prometheus_config_data = yaml.safe_load(prometheus_yml.read_text())
        prometheus_config_data["rule_files"] = [fast_rules(tmp_path / "rules")]
        prometheus_yml.write_text(yaml.safe_dump(prometheus_config_data, sort_keys=False))
        prometheus = start_prometheus(tmp_path, prometheus_yml, None, "--rules.alert.resend-delay=2s")
        services.append(prometheus)
        prometheus.wait_for('up{job="polo"} == 1 and on () up{job="polo-slack-relay"} == 1', timeout=120)

        # 1. The exporter goes down: PoloExporterDown fires, its message appears in #polo-ops.
        #    The first Slack call after that is answered 429, Retry-After 2.
        slack.wait_for(lambda: relay_metric(relay, "polo_relay_queue_depth") == 0, timeout=120)
        slack.rate_limit(calls=1, retry_after=2)
        exporter.stop()
        [message] = slack.wait_for(lambda: exporter_down_messages(slack, exporter.port), timeout=120)
        text = message.block_text()
        assert "FIRING" in text
        assert "http://grafana.test:3000/d/polo-exporter" in text
        assert "https://git.example.com/polo/blob/main/docs/alerts.md#poloexporterdown" in text
        limited = next(n for n, c in enumerate(slack.calls) if c.status == 429)
        assert slack.calls[limited + 1].at - slack.calls[limited].at >= 2.0
        assert relay_metric(relay, "polo_relay_slack_retries_total") >= 1

        # 2. Slack goes down; the exporter comes back (same port) and the alert resolves. The
        #    relay takes the resolved notification while Slack is unreachable, and is restarted
        #    before Slack returns: the queued notification survives and edits the same message.
        slack.down()
        restarted = start_exporter(tmp_path, port=exporter.port)
        services.append(restarted)
        queued = re.compile(r'queued resolved notification for #polo-ops: group \S*:\{category="polo"\},')
        deadline = time.monotonic() + 120
        while not queued.search(relay.log.read_text()):
            assert time.monotonic() < deadline, relay.tail()
            time.sleep(0.5)
        assert relay_metric(relay, "polo_relay_delivery_failures_total") >= 1  # Slack really was down
        relay.stop()
        relay = start_relay(tmp_path, relay_port, slack)
        services.append(relay)
        time.sleep(3)
        slack.up()
        slack.wait_for(lambda: "RESOLVED" in message.block_text(), timeout=120)
        # (the group may also hold the absent() alert of Prometheus' first seconds, already resolved)
        down = f"resolved: *PoloExporterDown* — Polo exporter 127.0.0.1:{exporter.port} is down"
        slack.wait_for(lambda: any(down in r.block_text() for r in slack.replies(message)), timeout=90)
        assert "0 firing*" in message.block_text()
        assert len(exporter_down_messages(slack, exporter.port)) == 1
        slack.wait_for(lambda: relay_metric(relay, "polo_relay_queue_depth") == 0, timeout=120)
        assert relay_metric(relay, "polo_relay_delivery_failures_total", 'outcome="dropped"') == 0

        # 3. The demo's own findings, fired since its start, reach each channel as one message
        #    per category and account (not one per rule: 25 messages in 3 minutes once).
        slack.wait_for(lambda: [m for m in slack.top_level("polo-prod") if "FIRING" in m.block_text()], timeout=180)
        slack.wait_for(lambda: relay_metric(relay, "polo_relay_queue_depth") == 0, timeout=120)
        # (group labels, alert names) of each firing message: a channel can hold two groups with
        # the same labels from two routes (dev's critical sub-route and dev's own), never twice one
        groups: dict[str, list[tuple[str, frozenset[str]]]] = {}
        for channel in ("polo-prod", "polo-critical", "polo-dev", "polo-ops"):
            for message in slack.top_level(channel):
                if "FIRING" in message.block_text():
                    [labels] = re.findall(r"group: ([^·]*?) ·", message.block_text())
                    names = frozenset(re.findall(r"\*(Polo\w+)\*", message.block_text()))
                    groups.setdefault(channel, []).append((labels, names))
        for channel, found in groups.items():
            assert len(found) == len(set(found)), (channel, found)
            assert all(set(re.findall(r"(\w+)=", labels)) <= {"category", "account"} for labels, _ in found), found
        print(f"firing messages per channel: { {c: len(g) for c, g in groups.items()} }")
    finally:
        booting.join()
        if "exporter" in started and started["exporter"] not in services:  # a failure before it was listed
            services.append(started["exporter"])
        for service in reversed(services):
            service.stop()
        slack.stop()
