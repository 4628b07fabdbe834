"""How the demo starts, as a newcomer meets it: `polo-exporter --demo` and `backfill --demo`,
each a fresh process on a free port with its own TMPDIR.

    python -m bench.startup --settle 30

Reported for the demo: seconds from the process start to its first HTTP answer (any status:
/healthz says 503 while the simulated estate is built) and to /healthz 200, and its peak RSS
(VmHWM) over start-up and `--settle` seconds of running after it (sweeps, the billing export's
first read, the churn). For backfill: wall time and peak RSS. The peak is sampled every 50 ms
from /proc; VmHWM only grows, so the last sample before the end is the peak.
"""
from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

from bench.memory import status_mb

SAMPLE_SECONDS = 0.05


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def healthz(port: int) -> int | None:
    """/healthz's status, None while nothing answers."""
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
        conn.request("GET", "/healthz")
        status = conn.getresponse().status
        conn.close()
        return status
    except OSError:
        return None


def peak_mb(pid: int, last: float) -> float:
    """VmHWM now, or `last` once the process has ended (a zombie's status has no VmHWM)."""
    try:
        return max(last, status_mb("VmHWM", pid))
    except OSError:
        return last


def polo(args: list[str], tmp: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "polo", *args], cwd=tmp, env=dict(os.environ, TMPDIR=tmp),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def demo(settle: float, limit: float, config: list[str]) -> dict:
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="polo-bench-startup-") as tmp:
        started = time.monotonic()
        process = polo([*config, "--demo", "--web.listen-address", f"127.0.0.1:{port}"], tmp)
        answered = healthy = None
        peak = 0.0
        try:
            while time.monotonic() - started < limit and process.poll() is None:
                peak = peak_mb(process.pid, peak)
                status = healthz(port)
                now = time.monotonic() - started
                if status is not None and answered is None:
                    answered = now
                if status == 200 and healthy is None:
                    healthy = now
                    limit = now + settle
                time.sleep(SAMPLE_SECONDS)
            peak = peak_mb(process.pid, peak)
        finally:
            process.send_signal(signal.SIGTERM)
            _, stderr = process.communicate(timeout=30)
        if healthy is None:
            raise RuntimeError(f"the demo was not healthy within {limit:.0f}s:\n{stderr[-3000:]}")
        return {"first_answer_seconds": round(answered or 0.0, 2), "healthy_seconds": round(healthy, 1),
                "settle_seconds": settle, "peak_rss_mb": round(peak, 1), "exit_code": process.returncode}


def backfill(days: int, config: list[str]) -> dict:
    since = (dt.date.today() - dt.timedelta(days=days)).isoformat()
    with tempfile.TemporaryDirectory(prefix="polo-bench-backfill-") as tmp:
        started = time.monotonic()
        out = os.path.join(tmp, "backfill.om")
        process = polo([*config, "--demo", "backfill", "--since", since, "--out", out], tmp)
        peak = 0.0
        while process.poll() is None:
            peak = peak_mb(process.pid, peak)
            time.sleep(SAMPLE_SECONDS)
        seconds = time.monotonic() - started
        stderr = process.stderr.read() if process.stderr else ""
        if process.returncode:
            raise RuntimeError(f"backfill --demo failed ({process.returncode}):\n{stderr[-3000:]}")
        size = os.path.getsize(out)
        return {"since": since, "seconds": round(seconds, 1), "peak_rss_mb": round(peak, 1),
                "openmetrics_mb": round(size / 1e6, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.startup", description=__doc__.split("\n")[0])
    parser.add_argument("--settle", type=float, default=30.0, help="seconds run after healthy (default 30)")
    parser.add_argument("--limit", type=float, default=300.0, help="give up unless healthy by then")
    parser.add_argument("--backfill-days", type=int, default=400)
    parser.add_argument("--config", help="a smaller demo estate than the bundled example's (the smoke test)")
    args = parser.parse_args()
    config = ["--config", os.path.abspath(args.config)] if args.config else []
    print(json.dumps({"demo": demo(args.settle, args.limit, config), "backfill": backfill(args.backfill_days, config),
                      "config": args.config or "the bundled example"}))


if __name__ == "__main__":
    main()
