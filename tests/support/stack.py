"""Real processes on loopback for end-to-end tests: the demo exporter, its cost history as
TSDB blocks, and a Prometheus running the repository's own prometheus.yml.

The configuration is the file the compose stack mounts; only the targets (compose service
names) are rewritten to loopback ports, so a test proves the file itself.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import yaml

from support.common import free_port, require_binary

REPO = Path(__file__).resolve().parents[2]
GOLDEN_DATE = "2025-06-21"


class Service:
    """A started subprocess whose output goes to a log file (shown when a test fails)."""

    def __init__(self, name: str, args: list[str], workdir: Path, port: int, env: dict | None = None):
        self.name, self.port = name, port
        self.url = f"http://127.0.0.1:{port}"
        self.log = workdir / f"{name}.log"
        with open(self.log, "wb") as out:
            self.process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, cwd=workdir,
                                            env=env, stdin=subprocess.DEVNULL)

    def get(self, path: str, timeout: float = 5) -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(self.url + path, timeout=timeout) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as err:
            return err.code, err.read()

    def wait_until_ok(self, path: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if self.get(path, timeout=2)[0] == 200:
                    return
            except OSError:
                pass
            if self.process.poll() is not None:
                raise AssertionError(f"{self.name} exited with {self.process.returncode}:\n{self.tail()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name} not ready on {path} after {timeout:.0f}s:\n{self.tail()}")
            time.sleep(0.25)

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def polo_command(*args: str) -> list[str]:
    """The real CLI, run with this interpreter (the `polo-exporter` console script's code)."""
    return [sys.executable, "-m", "polo", *args]


def start_exporter(workdir: Path, *args: str, port: int | None = None, timeout: float = 240) -> Service:
    """`polo-exporter --demo` on loopback, returned once /healthz says a sweep succeeded."""
    port = port or free_port()
    exporter = Service("exporter", polo_command("--demo", "--web.listen-address", f"127.0.0.1:{port}", *args),
                       workdir, port)
    try:
        exporter.wait_until_ok("/healthz", timeout)
    except BaseException:
        exporter.stop()
        raise
    return exporter


def load_cost_history(workdir: Path, data_dir: Path) -> None:
    """The demo's daily costs since the golden date, as TSDB blocks in `data_dir`, the way the
    README tells operators to do it (`backfill` + `promtool tsdb create-blocks-from`)."""
    promtool = require_binary("promtool")
    history = workdir / "costs.om"
    subprocess.run(polo_command("--demo", "backfill", "--since", GOLDEN_DATE, "--out", str(history)),
                   check=True, capture_output=True, timeout=300, cwd=workdir)
    subprocess.run([promtool, "tsdb", "create-blocks-from", "openmetrics", "--max-block-duration=2400h",
                    str(history), str(data_dir)], check=True, capture_output=True, timeout=300)


def prometheus_config(workdir: Path, targets: dict[str, str], **global_overrides: str) -> Path:
    """The repository's prometheus.yml with compose targets mapped to loopback addresses.

    Targets not in `targets` point at a closed loopback port (their `up` is 0), rule file
    globs become absolute (the copy lives elsewhere), and `global_overrides` replace keys of
    `global:` (tests that need faster evaluation say so)."""
    config = yaml.safe_load((REPO / "prometheus.yml").read_text())
    closed = f"127.0.0.1:{free_port()}"

    def rewrite(static_configs):
        for static in static_configs:
            static["targets"] = [targets.get(t, closed) for t in static["targets"]]

    for job in config.get("scrape_configs", []):
        rewrite(job.get("static_configs", []))
    for manager in config.get("alerting", {}).get("alertmanagers", []):
        rewrite(manager.get("static_configs", []))
    config["rule_files"] = [str(REPO / pattern) for pattern in config.get("rule_files", [])]
    config.setdefault("global", {}).update(global_overrides)
    path = workdir / "prometheus.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


class Prometheus(Service):
    def api(self, path: str, **params: object) -> dict:
        """GET /api/v1/<path>; the JSON `data`, or an AssertionError carrying Prometheus' error."""
        query = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
        status, body = self.get(f"/api/v1/{path}?{query}", timeout=60)
        try:
            reply = json.loads(body)
        except ValueError:
            raise AssertionError(f"{path} {params}: HTTP {status}: {body[:300]!r}") from None
        if reply.get("status") != "success":
            raise AssertionError(f"{path} {params}: {reply.get('errorType')}: {reply.get('error')}")
        return reply["data"]

    def query(self, expr: str, time: float | None = None) -> list[dict]:
        return self.api("query", query=expr, time=time)["result"]

    def query_range(self, expr: str, start: float, end: float, step: float) -> list[dict]:
        return self.api("query_range", query=expr, start=start, end=end, step=step)["result"]

    def wait_for(self, expr: str, timeout: float = 180) -> list[dict]:
        """Poll until the instant query returns data."""
        deadline = time.monotonic() + timeout
        while True:
            result = self.query(expr)
            if result:
                return result
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"no data for {expr!r} after {timeout:.0f}s:\n{self.tail()}")
            time.sleep(1)


def start_prometheus(workdir: Path, config_path: Path, data_dir: Path | None = None,
                     *extra_flags: str) -> Prometheus:
    binary = require_binary("prometheus")
    port = free_port()
    data_dir = data_dir or workdir / "prometheus-data"
    prometheus = Prometheus("prometheus", [
        binary, f"--config.file={config_path}", f"--storage.tsdb.path={data_dir}",
        "--storage.tsdb.retention.time=10y", f"--web.listen-address=127.0.0.1:{port}", *extra_flags,
    ], workdir, port, env=dict(os.environ))
    try:
        prometheus.wait_until_ok("/-/ready", 60)
    except BaseException:
        prometheus.stop()
        raise
    return prometheus
