"""Shared by the relay tests: Alertmanager-shaped payloads and an in-process relay."""
from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from polo.slack.messages import Links
from polo.slack.relay import Relay, Settings, make_server
from polo.web.server import Server

RELAY_TOKEN = "relay-secret-3f9a"
SLACK_TOKEN = "xoxb-slack-secret-77c1"
FIRING_END = "0001-01-01T00:00:00Z"


def alert(fingerprint: str, status: str = "firing", name: str = "PoloIdleResourceCost", account: str = "prod",
          resource_id: str = "vol-0abc", dollars: str = "$412.50", starts_at: str = "2026-12-01T02:00:00Z",
          ends_at: str = FIRING_END, description: str | None = None) -> dict:
    return {
        "status": status, "fingerprint": fingerprint, "startsAt": starts_at,
        "endsAt": ends_at if status == "firing" else "2026-12-01T03:00:00Z",
        "generatorURL": "http://prometheus:9090/graph?g0.expr=x",
        "labels": {"alertname": name, "severity": "warning", "category": "waste", "account": account,
                   "account_id": "111111111111", "environment": "prod", "region": "us-east-1",
                   "resource_type": "ebs_volume", "resource_id": resource_id},
        "annotations": {"summary": f"{resource_id} costs {dollars} a month",
                        "description": description or f"Volume {resource_id} in {account} costs {dollars} a month.",
                        "dashboard": f"/d/polo-actions?var-account={account}",
                        "runbook_url": f"docs/alerts.md#{name.lower()}"},
    }


def payload(alerts: list[dict], group_key: str = '{}:{alertname="PoloIdleResourceCost", account="prod"}',
            status: str | None = None, version: str = "4") -> dict:
    if status is None:
        status = "firing" if any(a["status"] == "firing" for a in alerts) else "resolved"
    return {"version": version, "groupKey": group_key, "truncatedAlerts": 0, "status": status,
            "receiver": "slack-prod", "groupLabels": {"alertname": alerts[0]["labels"]["alertname"], "account": "prod"},
            "commonLabels": {"alertname": alerts[0]["labels"]["alertname"]}, "commonAnnotations": {},
            "externalURL": "http://alertmanager:9093", "alerts": alerts}


def post(url: str, body: bytes | dict, token: str | None = RELAY_TOKEN,
         headers: dict | None = None) -> tuple[int, dict]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method="POST", headers=dict(headers or {}))
    request.add_header("Content-Type", "application/json")
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


@dataclass
class RunningRelay:
    relay: Relay
    server: Server
    thread: threading.Thread

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.relay.delivery.stop()


def start_relay(state_dir: Path, slack_url: str, dedup_window: float = 600.0,
                runbook_base_url: str | None = "https://github.com/example/polo/blob/main") -> RunningRelay:
    settings = Settings(listen_address="127.0.0.1:0", state_dir=state_dir, slack_api_url=slack_url,
                        links=Links("https://grafana.example.com", runbook_base_url), dedup_window=dedup_window,
                        relay_token=RELAY_TOKEN, slack_token=SLACK_TOKEN)
    relay = Relay(settings)
    server = make_server(relay, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    relay.delivery.start()
    return RunningRelay(relay, server, thread)
