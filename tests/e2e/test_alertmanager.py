"""alerting/alertmanager.yml: amtool's checks, a routing test per route, and a real
Alertmanager 0.25 on loopback that routes posted alerts to a recording webhook, applies the
inhibition rules, and sends the relay's bearer token."""
import json
import subprocess
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest
import yaml
from support.common import free_port, require_binary
from support.stack import REPO, Service

CONFIG = REPO / "alerting" / "alertmanager.yml"
RELAY = "http://slack-relay:19882/alerts/"
TOKEN_FILE = "/run/secrets/polo_relay_token"
RECEIVERS = {"polo-prod", "polo-critical", "polo-dev", "polo-ops"}

# (labels of a real alert, receiver, the matchers of the routes it goes through)
ROUTES = [
    ({"alertname": "PoloExporterDown", "category": "polo", "severity": "critical"}, "polo-ops",
     ('category="polo"',)),
    ({"alertname": "PoloCollectorFailing", "category": "polo", "severity": "warning", "environment": "dev",
      "account": "staging"}, "polo-ops", ('category="polo"',)),
    ({"alertname": "PoloResourcesUnpriced", "category": "polo", "severity": "info"}, "polo-ops",
     ('category="polo"',)),
    ({"alertname": "PoloMonthToDateAbovePace", "category": "cost", "severity": "warning"}, "polo-prod", ()),
    ({"alertname": "PoloMonthToDateAbovePace", "category": "cost", "severity": "critical"}, "polo-critical",
     ('severity="critical"',)),
    ({"alertname": "PoloIdleResourceCostly", "category": "waste", "severity": "warning", "environment": "prod",
      "account": "prod"}, "polo-prod", ()),
    ({"alertname": "PoloDailyCostSpike", "category": "cost", "severity": "warning", "environment": "unknown",
      "account": "unknown"}, "polo-prod", ()),
    ({"alertname": "PoloSecurityGroupOpenToWorld", "category": "security", "severity": "critical",
      "environment": "prod", "account": "prod"}, "polo-critical", ('severity="critical"',)),
    ({"alertname": "PoloDevInstanceRunningLong", "category": "hygiene", "severity": "warning",
      "environment": "dev", "account": "staging"}, "polo-dev", ('environment="dev"',)),
    ({"alertname": "PoloSecurityGroupOpenToWorld", "category": "security", "severity": "critical",
      "environment": "dev", "account": "staging"}, "polo-dev", ('environment="dev"', 'severity="critical"')),
]


def route_paths(route, path=()):
    """The matchers path of every route in the tree, the root's being ()."""
    yield path
    for child in route.get("routes", []):
        yield from route_paths(child, path + tuple(child["matchers"]))


def all_keys(node):
    if isinstance(node, dict):
        for key, value in node.items():
            yield key
            yield from all_keys(value)
    elif isinstance(node, list):
        for item in node:
            yield from all_keys(item)


def amtool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([require_binary("amtool"), *args], check=False, capture_output=True, text=True, timeout=60)


def test_amtool_check_config_passes():
    result = amtool("check-config", str(CONFIG))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout and "6 inhibit rules" in result.stdout, result.stdout


@pytest.mark.parametrize("labels, receiver, route", ROUTES,
                         ids=[f"{labels['alertname']}-{labels['severity']}-{labels.get('environment', 'org')}"
                              for labels, _, _ in ROUTES])
def test_route(labels, receiver, route):
    pairs = [f"{key}={value}" for key, value in labels.items()]
    result = amtool("config", "routes", "test", f"--config.file={CONFIG}", f"--verify.receivers={receiver}", *pairs)
    assert result.returncode == 0 and result.stdout.strip() == receiver, result.stdout + result.stderr
    tree = amtool("config", "routes", "test", f"--config.file={CONFIG}", "--tree", *pairs).stdout
    matched = [line.split("── ", 1)[1].split("  receiver")[0] for line in tree.splitlines() if "── " in line]
    assert matched == ["default-route", *(f"{{{m}}}" for m in route)], tree
    assert f"}}  receiver: {receiver}\n" in tree or f"default-route  receiver: {receiver}\n" in tree, tree


def test_every_route_is_tested():
    config = yaml.safe_load(CONFIG.read_text())
    assert set(route_paths(config["route"])) == {route for _, _, route in ROUTES}


def test_receivers_post_to_the_relay_with_a_bearer_token_file():
    config = yaml.safe_load(CONFIG.read_text())
    assert {receiver["name"] for receiver in config["receivers"]} == RECEIVERS
    for receiver in config["receivers"]:
        (webhook,) = receiver["webhook_configs"]
        assert webhook["url"] == RELAY + receiver["name"]
        assert webhook["send_resolved"] is True
        assert 0 < webhook["max_alerts"] <= 100
        assert webhook["http_config"] == {"authorization": {"type": "Bearer", "credentials_file": TOKEN_FILE}}


def test_no_settings_newer_releases_removed():
    """`match`, `match_re`, `source_match(_re)` and `target_match(_re)` are deprecated in favour
    of the matchers syntax 0.22 introduced; the file uses only the latter."""
    config = yaml.safe_load(CONFIG.read_text())
    assert set(all_keys(config)) & {"match", "match_re", "source_match", "source_match_re", "target_match",
                                    "target_match_re"} == set()
    assert config["route"]["group_by"] == ["category", "account"]


class Recorder(BaseHTTPRequestHandler):
    """The relay's place: records each webhook delivery (path, Authorization, JSON body)."""
    deliveries: ClassVar[list[tuple[str, str, dict]]] = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.deliveries.append((self.path, self.headers.get("Authorization", ""), json.loads(body)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


def loopback_config(tmp_path, relay_url: str, token_file) -> str:
    """The repository's file with only the relay's address, the token file and group_wait
    changed (1s instead of 10s-2m, so deliveries show within the test)."""
    config = yaml.safe_load(CONFIG.read_text())
    for receiver in config["receivers"]:
        for webhook in receiver["webhook_configs"]:
            webhook["url"] = webhook["url"].replace("http://slack-relay:19882", relay_url)
            webhook["http_config"]["authorization"]["credentials_file"] = str(token_file)

    def fast(route):
        if "group_wait" in route:
            route["group_wait"] = "1s"
        for child in route.get("routes", []):
            fast(child)

    config["route"]["group_wait"] = "1s"
    fast(config["route"])
    path = tmp_path / "alertmanager.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return str(path)


def alert(alertname, severity, category, ends=None, **labels):
    body = {"labels": {"alertname": alertname, "severity": severity, "category": category, **labels},
            "annotations": {"summary": alertname}}
    if ends is not None:
        body["endsAt"] = ends
    return body


@pytest.fixture
def alertmanager(tmp_path):
    binary = require_binary("prometheus-alertmanager")
    Recorder.deliveries = []
    relay = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=relay.serve_forever, daemon=True).start()
    token = tmp_path / "polo_relay_token"
    token.write_text("s3cret-relay-token\n")
    config = loopback_config(tmp_path, f"http://127.0.0.1:{relay.server_address[1]}", token)
    port = free_port()
    service = Service("alertmanager", [binary, f"--config.file={config}", f"--storage.path={tmp_path / 'am'}",
                                       f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="],
                      tmp_path, port)
    try:
        service.wait_until_ok("/-/ready", 30)
        yield service
    finally:
        service.stop()
        relay.shutdown()
        relay.server_close()


def post(service, alerts):
    request = urllib.request.Request(service.url + "/api/v2/alerts", data=json.dumps(alerts).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


def states(service) -> dict[tuple[str, str, str], str]:
    """(alertname, severity, account_id) -> active | suppressed, with the inhibitors' reason checked."""
    status, body = service.get("/api/v2/alerts")
    assert status == 200
    found = {}
    for item in json.loads(body):
        labels = item["labels"]
        key = (labels["alertname"], labels["severity"], labels.get("account_id", ""))
        found[key] = item["status"]["state"]
        assert (item["status"]["state"] == "suppressed") == bool(item["status"]["inhibitedBy"]), item
    return found


def wait_for(check, timeout=20.0):
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.25)


def test_alertmanager_inhibits_and_routes_to_the_relay(alertmanager):
    ours = {"account_id": "111111111111", "account": "prod", "environment": "prod", "region": "us-east-1"}
    other = {"account_id": "222222222222", "account": "models", "environment": "prod", "region": "us-east-1"}
    post(alertmanager, [
        alert("PoloMonthToDateAbovePace", "critical", "cost"),
        alert("PoloMonthToDateAbovePace", "warning", "cost"),
        alert("PoloCollectorFailing", "warning", "polo", collector="ebs_volumes", **ours),
        alert("PoloIdleResourceCostly", "warning", "waste", resource_id="vol-1", **ours),
        alert("PoloIdleResourceCostly", "warning", "waste", resource_id="vol-2", **other),
        alert("PoloSecurityGroupOpenToWorld", "critical", "security", resource_id="sg-1", **ours),
        alert("PoloDailyCostSpike", "warning", "cost", **ours),
    ])
    expected = {
        ("PoloMonthToDateAbovePace", "critical", ""): "active",
        ("PoloMonthToDateAbovePace", "warning", ""): "suppressed",      # its critical twin fires
        ("PoloCollectorFailing", "warning", "111111111111"): "active",
        ("PoloIdleResourceCostly", "warning", "111111111111"): "suppressed",  # its collector fails
        ("PoloIdleResourceCostly", "warning", "222222222222"): "active",
        ("PoloSecurityGroupOpenToWorld", "critical", "111111111111"): "active",
        ("PoloDailyCostSpike", "warning", "111111111111"): "active",
    }

    def delivered():
        assert states(alertmanager) == expected
        received = {(path, alert["labels"]["alertname"], alert["labels"]["severity"],
                     alert["labels"].get("account_id", ""))
                    for path, _, body in Recorder.deliveries for alert in body["alerts"]}
        assert received == {
            ("/alerts/polo-critical", "PoloMonthToDateAbovePace", "critical", ""),
            ("/alerts/polo-ops", "PoloCollectorFailing", "warning", "111111111111"),
            ("/alerts/polo-prod", "PoloIdleResourceCostly", "warning", "222222222222"),
            ("/alerts/polo-critical", "PoloSecurityGroupOpenToWorld", "critical", "111111111111"),
            ("/alerts/polo-prod", "PoloDailyCostSpike", "warning", "111111111111"),
        }

    wait_for(delivered)
    for _path, authorization, body in Recorder.deliveries:
        assert authorization == "Bearer s3cret-relay-token"
        assert body["version"] == "4" and body["status"] == "firing"
        assert set(body["groupLabels"]) <= {"category", "account"}

    # Stale cost data mutes cost alerts, and the inventory's staleness waste, never security.
    post(alertmanager, [alert("PoloCostExplorerStale", "warning", "polo"),
                        alert("PoloInventoryStale", "critical", "polo")])
    wait_for(lambda: _assert_subset(states(alertmanager), {
        ("PoloDailyCostSpike", "warning", "111111111111"): "suppressed",
        ("PoloMonthToDateAbovePace", "critical", ""): "suppressed",
        ("PoloIdleResourceCostly", "warning", "222222222222"): "suppressed",
        ("PoloSecurityGroupOpenToWorld", "critical", "111111111111"): "active",
        ("PoloCollectorFailing", "warning", "111111111111"): "active",
    }))

    # Once Polo's data is fresh again, the cost alerts are back.
    past = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 60))
    post(alertmanager, [alert("PoloCostExplorerStale", "warning", "polo", ends=past)])
    wait_for(lambda: _assert_subset(states(alertmanager), {
        ("PoloDailyCostSpike", "warning", "111111111111"): "active",
        ("PoloMonthToDateAbovePace", "critical", ""): "active",
        ("PoloIdleResourceCostly", "warning", "222222222222"): "suppressed",
    }))


def _assert_subset(found: dict, expected: dict) -> None:
    assert {key: found.get(key) for key in expected} == expected
