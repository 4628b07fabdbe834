"""docker-compose.yml: validated by a real Compose implementation, every mounted file present,
and the stack started natively from the file's own commands and mounted configs (there is no
container engine here): Prometheus scrapes the exporter, loads the rules, reaches Alertmanager,
and Alertmanager reaches the Slack relay, which posts to a fake Slack.

The native run maps each service name to a loopback port, each bind mount to the repository
path it mounts, each named volume to a directory shared by the services that mount it, and each
Compose secret to a file; then runs every command as written (the console scripts through this
interpreter, the images' binaries as the Debian ones of the same version)."""
from __future__ import annotations

import json
import os
import re
import secrets
import shlex
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from support.common import free_port, require_binary
from support.stack import REPO, Prometheus, Service, prometheus_config

COMPOSE = REPO / "docker-compose.yml"
REAL = REPO / "docker-compose.real.yml"
SERVICES = {"exporter", "backfill", "backfill-blocks", "prometheus", "alertmanager", "slack-relay", "grafana"}
LISTEN_PORTS = {"exporter": 19881, "prometheus": 9090, "alertmanager": 9093, "slack-relay": 19882}
CONSOLE_SCRIPTS = {"polo-exporter": "polo", "polo-slack-relay": "polo.slack.relay"}
# the images' entrypoints, as the Debian binaries of the same versions
ENTRYPOINTS = {"prom/prometheus": "prometheus", "prom/alertmanager": "prometheus-alertmanager"}
EXTERNAL = "http://polo.test"  # POLO_EXTERNAL_URL for the native run: every link must derive from it


def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def compose_config(*files: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    command = [require_binary("docker-compose")]
    for file in files:
        command += ["-f", str(file)]
    base = {k: v for k, v in os.environ.items() if k not in ("GRAFANA_ADMIN_PASSWORD", "POLO_SECRETS_DIR")}
    return subprocess.run(command + ["config"], capture_output=True, text=True, cwd=REPO, timeout=120,
                          env={**base, **(env or {})})


# -- static checks ---------------------------------------------------------------------------

def test_compose_validates_with_docker_compose():
    result = compose_config(COMPOSE, env={"GRAFANA_ADMIN_PASSWORD": "test-password"})
    assert result.returncode == 0, result.stderr
    resolved = yaml.safe_load(result.stdout)
    assert set(resolved["services"]) == SERVICES
    real = compose_config(COMPOSE, REAL, env={"GRAFANA_ADMIN_PASSWORD": "test-password"})
    assert real.returncode == 0, real.stderr
    exporter = yaml.safe_load(real.stdout)["services"]["exporter"]
    assert exporter["build"]["target"] == "production" and "--demo" not in exporter["command"]


def test_grafana_admin_password_is_required_and_anonymous_access_off():
    result = compose_config(COMPOSE)
    assert result.returncode != 0 and "GRAFANA_ADMIN_PASSWORD" in result.stderr
    environment = compose()["services"]["grafana"]["environment"]
    assert environment["GF_AUTH_ANONYMOUS_ENABLED"] == "false"
    assert environment["GF_SECURITY_ADMIN_PASSWORD"].startswith("${GRAFANA_ADMIN_PASSWORD:?")


def bind_mounts(service: dict) -> list[tuple[str, str]]:
    """(repository-relative source, container target) of each bind mount."""
    mounts = []
    for volume in service.get("volumes", []):
        source, target = volume.split(":")[:2]
        if source.startswith("./"):
            mounts.append((source, target))
    return mounts


def test_every_mounted_file_exists_in_the_repository():
    for name, service in compose()["services"].items():
        for source, _ in bind_mounts(service):
            assert (REPO / source).exists(), f"{name} mounts missing {source}"
    for name, secret in compose()["secrets"].items():
        path = secret["file"].replace("${POLO_SECRETS_DIR:-./deploy/demo-secrets}", "deploy/demo-secrets")
        assert (REPO / path).read_text().strip(), f"secret {name}: {path} missing or empty"


def test_images_are_pinned_to_the_versions_tested():
    services = compose()["services"]
    images = {name: s["image"] for name, s in services.items()}
    assert all(":" in image and not image.endswith(":latest") for image in images.values()), images
    version = subprocess.run([require_binary("prometheus"), "--version"], capture_output=True, text=True).stdout
    tested = re.search(r"version (\d+\.\d+)\.", version).group(1)
    assert images["prometheus"].startswith(f"prom/prometheus:v{tested}.")
    assert images["alertmanager"] == "prom/alertmanager:v0.25.0"
    assert images["grafana"].startswith("grafana/grafana:11.6.")
    assert services["exporter"]["build"]["dockerfile"] == "exporter/Dockerfile"


def test_state_lives_on_named_volumes_and_retention_exceeds_a_year():
    services = compose()["services"]
    named = set(compose()["volumes"])

    def volume_at(service, target):
        return next((v.split(":")[0] for v in services[service]["volumes"] if v.split(":")[1] == target), None)

    assert volume_at("prometheus", "/prometheus") in named
    assert volume_at("alertmanager", "/alertmanager") in named
    assert volume_at("grafana", "/var/lib/grafana") in named
    assert volume_at("exporter", "/var/lib/polo") in named
    relay_state = services["slack-relay"]["command"][services["slack-relay"]["command"].index("--state-dir") + 1]
    assert volume_at("slack-relay", relay_state) in named
    assert "--storage.path=/alertmanager" in services["alertmanager"]["command"]
    [retention] = [f for f in services["prometheus"]["command"] if f.startswith("--storage.tsdb.retention.time=")]
    assert int(retention.split("=")[1].removesuffix("d")) > 400


def test_mounts_agree_with_the_files_that_name_them():
    services = compose()["services"]
    prometheus = dict(bind_mounts(services["prometheus"]))
    config_dir = Path(prometheus["./prometheus.yml"]).parent
    rule_files = yaml.safe_load((REPO / "prometheus.yml").read_text())["rule_files"]
    assert [str(config_dir / p) for p in rule_files] == [prometheus["./alerting/rules"] + "/*.yml"]

    grafana = dict(bind_mounts(services["grafana"]))
    provider = yaml.safe_load((REPO / "grafana/provisioning/dashboards/polo.yml").read_text())["providers"][0]
    assert grafana["./grafana/dashboards"] == provider["options"]["path"]
    assert grafana["./grafana/provisioning"] == "/etc/grafana/provisioning"
    home = services["grafana"]["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert (REPO / "grafana/dashboards" / Path(home).relative_to(provider["options"]["path"])).exists()
    [datasource] = yaml.safe_load((REPO / "grafana/provisioning/datasources/polo.yml").read_text())["datasources"]
    assert datasource["url"] == f"http://prometheus:{LISTEN_PORTS['prometheus']}"

    alertmanager = (REPO / "alerting/alertmanager.yml").read_text()
    secret_paths = set(re.findall(r"credentials_file: (\S+)", alertmanager))
    assert secret_paths == {f"/run/secrets/{s}" for s in services["alertmanager"]["secrets"]}
    assert set(re.findall(r"http://([\w-]+):(\d+)/", alertmanager)) == {("slack-relay", "19882")}


# -- the stack, natively ---------------------------------------------------------------------

class Native:
    """Compose's view of paths, hosts and secrets, mapped onto this machine."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        # As Compose resolves it: .env and POLO_EXTERNAL_URL interpolated, paths absolute.
        resolved = compose_config(COMPOSE, env={"GRAFANA_ADMIN_PASSWORD": "native", "POLO_EXTERNAL_URL": EXTERNAL})
        assert resolved.returncode == 0, resolved.stderr
        self.file = yaml.safe_load(resolved.stdout)
        self.ports = {name: free_port() for name in LISTEN_PORTS}
        self.secrets_dir = workdir / "secrets"
        self.secrets_dir.mkdir()
        self.config_files: dict[str, Path] = {}  # container path -> rewritten copy

    def volume_dir(self, name: str) -> Path:
        path = self.workdir / "volumes" / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def paths(self, service: str) -> dict[str, str]:
        """container path -> host path; a rewritten config file wins over the mount it copies."""
        mapping = {target: str(path) for target, path in self.config_files.items()}
        for secret in self.file["services"][service].get("secrets", []):
            name = secret["source"] if isinstance(secret, dict) else secret
            mapping[f"/run/secrets/{name}"] = str(self.secrets_dir / name)
        for volume in self.file["services"][service].get("volumes", []):
            source, target = volume.split(":")[:2]
            mapping.setdefault(target, source if source.startswith("/") else str(self.volume_dir(source)))
        return mapping

    def translate(self, service: str, text: str) -> str:
        for name, port in self.ports.items():
            text = text.replace(f"0.0.0.0:{LISTEN_PORTS[name]}", f"127.0.0.1:{port}")
        paths = self.paths(service)
        pattern = "|".join(re.escape(p) for p in sorted(paths, key=len, reverse=True))
        return re.sub(rf"(?<![\w/.-])({pattern})(?=/|\s|;|$)", lambda m: paths[m.group(1)], text)

    def command(self, service: str) -> list[str]:
        spec = self.file["services"][service]
        args = [self.translate(service, arg) for arg in spec.get("entrypoint", []) + spec["command"]]
        if args[0] in CONSOLE_SCRIPTS:
            return [sys.executable, "-m", CONSOLE_SCRIPTS[args[0]], *args[1:]]
        if args[0].startswith("-"):  # flags for the image's own entrypoint
            return [require_binary(ENTRYPOINTS[spec["image"].split(":")[0]]), *args]
        return args

    def environment(self, service: str) -> dict[str, str]:
        env = dict(os.environ)
        for key, value in self.file["services"][service].get("environment", {}).items():
            env[key] = self.translate(service, str(value))
        return env


@pytest.fixture(scope="module")
def native_stack(tmp_path_factory):
    from support.fake_slack import FakeSlack

    for binary in ("prometheus", "promtool", "prometheus-alertmanager"):
        require_binary(binary)
    started = time.monotonic()
    workdir = tmp_path_factory.mktemp("compose")
    native = Native(workdir)
    slack = FakeSlack(token="xoxb-" + secrets.token_hex(8))
    relay_token = secrets.token_hex(16)
    (native.secrets_dir / "slack_bot_token").write_text(slack.token + "\n")
    (native.secrets_dir / "polo_relay_token").write_text(relay_token + "\n")
    services: list[Service] = []
    try:
        def start(name: str, extra: tuple[str, ...] = (), ready: str = "/healthz", timeout: float = 240,
                  kind=Service) -> Service:
            service = kind(name, native.command(name) + list(extra), workdir, native.ports[name],
                           env=native.environment(name))
            services.append(service)
            service.wait_until_ok(ready, timeout)
            return service

        exporter = start("exporter")
        for job in ("backfill", "backfill-blocks"):  # the one-shot services, in their depends_on order
            result = subprocess.run(native.command(job), capture_output=True, text=True, cwd=workdir,
                                    env=native.environment(job), timeout=600)
            assert result.returncode == 0, f"{job}: {result.stdout[-2000:]}{result.stderr[-2000:]}"
        history = native.volume_dir("backfill") / "costs.om"
        assert history.stat().st_mode & 0o777 == 0o644  # promtool runs as another user in compose

        # The mounted prometheus.yml, its compose host names mapped to loopback.
        targets = {f"{name}:{port}": f"127.0.0.1:{native.ports[name]}" for name, port in LISTEN_PORTS.items()}
        targets["localhost:9090"] = f"127.0.0.1:{native.ports['prometheus']}"
        native.config_files["/etc/prometheus/prometheus.yml"] = prometheus_config(
            workdir, targets, evaluation_interval="5s", scrape_interval="5s", scrape_timeout="4s")
        alertmanager_yml = workdir / "alertmanager.yml"
        alertmanager_yml.write_text((REPO / "alerting/alertmanager.yml").read_text()
                                    .replace("slack-relay:19882", targets["slack-relay:19882"])
                                    .replace("/run/secrets/", f"{native.secrets_dir}/"))
        native.config_files["/etc/alertmanager/alertmanager.yml"] = alertmanager_yml

        relay = start("slack-relay", ("--slack-api-url", slack.url))
        alertmanager = start("alertmanager", ready="/-/ready", timeout=60)
        prometheus = start("prometheus", ready="/-/ready", timeout=120, kind=Prometheus)
        yield {"native": native, "exporter": exporter, "relay": relay, "alertmanager": alertmanager,
               "prometheus": prometheus, "slack": slack, "started": started}
    finally:
        for service in reversed(services):
            service.stop()
        slack.stop()


def test_commands_were_taken_from_the_compose_file(native_stack):
    native = native_stack["native"]
    assert native.command("exporter")[-5:] == ["--demo", "--config", str(REPO / "polo.example.yml"),
                                               "--web.listen-address", f"127.0.0.1:{native.ports['exporter']}"]
    assert f"--web.external-url={EXTERNAL}:9090/" in native.command("prometheus")
    assert f"--web.external-url={EXTERNAL}:9093/" in native.command("alertmanager")
    assert f"--storage.tsdb.path={native.volume_dir('prometheus-data')}" in native.command("prometheus")
    assert native.command("backfill-blocks")[:2] == ["/bin/sh", "-c"]


def test_prometheus_scrapes_every_service_and_loads_the_rules(native_stack):
    prometheus = native_stack["prometheus"]
    for job in ("polo", "polo-slack-relay", "alertmanager", "prometheus"):
        prometheus.wait_for(f'up{{job="{job}"}} == 1', timeout=120)
    groups = prometheus.api("rules")["groups"]
    assert groups and sum(len(g["rules"]) for g in groups) > 10
    assert all(g["file"].startswith(str(REPO / "alerting" / "rules")) for g in groups)
    assert not [r for g in groups for r in g["rules"] if r.get("health") == "err"]


def test_backfilled_history_is_in_prometheus(native_stack):
    prometheus = native_stack["prometheus"]
    day = time.mktime(time.strptime("2025-07-01 23:59:59", "%Y-%m-%d %H:%M:%S")) - time.timezone
    assert prometheus.query("sum(polo_cost_daily_usd)", time=day)


def test_prometheus_reaches_alertmanager(native_stack):
    prometheus, native = native_stack["prometheus"], native_stack["native"]
    deadline = time.monotonic() + 60
    while not (active := prometheus.api("alertmanagers")["activeAlertmanagers"]):
        assert time.monotonic() < deadline, "no active Alertmanager"
        time.sleep(1)
    assert [a["url"] for a in active] == [f"http://127.0.0.1:{native.ports['alertmanager']}/api/v2/alerts"]


def test_alertmanager_reaches_the_relay_which_posts_to_slack(native_stack):
    alertmanager, slack = native_stack["alertmanager"], native_stack["slack"]
    alert = [{"labels": {"alertname": "PoloComposeStackCheck", "severity": "warning", "category": "polo"},
              "annotations": {"summary": "compose stack check", "description": "posted by tests/e2e/test_compose.py",
                              "dashboard": "/d/polo-exporter", "runbook_url": "docs/alerts.md#poloexporterdown"},
              "generatorURL": f"{EXTERNAL}:9090/graph?g0.expr=up"}]
    request = urllib.request.Request(alertmanager.url + "/api/v2/alerts", data=json.dumps(alert).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
    # category="polo" routes to polo-ops; the route waits group_wait (30 s) before sending
    [message] = slack.wait_for(lambda: [m for m in slack.top_level("polo-ops")
                                        if "compose stack check" in m.text + m.block_text()], timeout=120)
    status, body = native_stack["relay"].get("/metrics")
    assert status == 200 and b"polo_relay_notifications_received_total" in body

    # Every link in the message is absolute and under POLO_EXTERNAL_URL (.env), and the runbook
    # link's page is served by the relay.
    links = re.findall(r"<([^|>]+)\|", message.block_text())
    assert {link.split("/")[2].split(":")[0] for link in links} == {"polo.test"}, links
    assert f"{EXTERNAL}:3000/d/polo-exporter" in links and f"{EXTERNAL}:9093" in [url.rstrip("/") for url in links]
    runbook = f"{EXTERNAL}:19882/runbooks/docs/alerts.md#poloexporterdown"
    assert runbook in links
    status, page = native_stack["relay"].get(runbook.split(":19882", 1)[1].split("#")[0])
    assert status == 200 and b'id="poloexporterdown"' in page
    print(f"native stack up and proven in {time.monotonic() - native_stack['started']:.1f}s "
          f"(commands: {shlex.join(native_stack['native'].command('prometheus'))})")
