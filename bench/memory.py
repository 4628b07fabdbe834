"""Peak RSS of the exporter holding N synthetic resources, in a fresh process:

    python -m bench.memory --resources 100000

Baseline: ru_maxrss of the interpreter with polo (and so boto3) imported. Then what a
long-running exporter does with that inventory: two sweeps' worth of results folded in (the
second one replaces every Resource object, as each real sweep does, while the first snapshot and
payload are still live), each published (rendered), and scrapes served over loopback: gzip ones,
as Prometheus asks, and one plain one, as curl does. Peak: VmHWM at the end (ru_maxrss too).
"""
from __future__ import annotations

import argparse
import json
import logging
import resource
import subprocess
import sys
import tempfile
import threading


def status_mb(field: str, pid: int | str = "self") -> float:
    """A memory field of /proc/PID/status in MB: VmHWM (peak RSS of the process image), VmRSS."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def max_rss_mb() -> float:
    """Peak RSS of this process image: VmHWM. (ru_maxrss is reported too, but Linux carries it
    over exec from the forked parent, so in a child it is at least the parent's RSS.)"""
    return status_mb("VmHWM")


def ru_maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


SCRAPER = """
import http.client, sys
conn = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=120)
conn.request("GET", "/metrics", headers={"Accept-Encoding": "gzip"} if sys.argv[2] == "gzip" else {})
response = conn.getresponse()
print(response.status, len(response.read()))
"""


def scrape(port: int, accept_gzip: bool) -> int:
    """One scrape from another process, as Prometheus or curl would: the scraper's buffers are
    not the exporter's memory."""
    done = subprocess.run([sys.executable, "-c", SCRAPER, str(port), "gzip" if accept_gzip else "identity"],
                          stdout=subprocess.PIPE, text=True, timeout=300, check=True)
    status, size = done.stdout.split()
    if status != "200":
        raise RuntimeError(f"/metrics answered {status}")
    return int(size)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.memory")
    parser.add_argument("--resources", type=int, required=True)
    parser.add_argument("--plain-scrapes", type=int, default=1)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR, stream=sys.stderr)

    import polo.web.exporter_http  # noqa: F401
    from polo.cli import tune_garbage_collector

    tune_garbage_collector()  # as polo-exporter's main does
    baseline = max_rss_mb()

    from bench.synthetic import bench_config, publish_inventory
    from polo.exporter import Exporter
    from polo.web.exporter_http import serve

    exporter = Exporter(bench_config(state_dir=tempfile.mkdtemp(prefix="polo-bench-memory-")))
    server = serve(exporter, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    port = server.server_address[1]
    phases = {}
    try:
        for sweep in (1, 2):
            publish_inventory(exporter, args.resources)  # same seed: same resources, new objects
            phases[f"after_sweep_{sweep}"] = round(max_rss_mb(), 1)
            for _ in range(3):
                gzip_bytes = scrape(port, True)
        for _ in range(args.plain_scrapes):
            plain_bytes = scrape(port, False)
        phases["after_plain_scrape"] = round(max_rss_mb(), 1)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
    print(json.dumps({
        "resources": args.resources,
        "series": exporter.payload.series,
        "baseline_rss_mb": round(baseline, 1),
        "peak_rss_mb": round(max_rss_mb(), 1),
        "ru_maxrss_mb": round(ru_maxrss_mb(), 1),
        "current_rss_mb": round(status_mb("VmRSS"), 1),
        "phases": phases,
        "gzip_bytes": gzip_bytes,
        "plain_bytes": plain_bytes if args.plain_scrapes else None,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
