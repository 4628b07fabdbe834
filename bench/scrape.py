"""/metrics latency and size at N synthetic resources, against prometheus_client's generate_latest
on the same families, in a fresh process:

    python -m bench.scrape --resources 100000 --scrapes 200 --generate-latest-runs 5 --clients 200

The inventory goes through the exporter's own path (Inventory.apply -> Exporter.publish, the
exporter built by polo.exporter.Exporter, so cost and action sources are in the payload too) and
is served by polo.web.exporter_http on 127.0.0.1. Scrapes are sequential, one connection each (as
Prometheus opens them against a server that closes after a reply), timed from connect to the
last byte read; with --clients, rounds of that many gzip scrapes at once follow, from another
process. The loopback floor is the median time the gzip body alone takes over a TCP connection
on this machine, without HTTP.

The comparison builds a prometheus_client CollectorRegistry with one custom collector yielding
the same families, label names, label values and values (parsed back from Polo's families once,
outside the timing) and times generate_latest(registry): what a prometheus_client exporter pays
on every scrape, before any HTTP. Its gzip (prometheus_client compresses each reply with
gzip.compress when the scraper accepts it) is timed separately.
"""
from __future__ import annotations

import argparse
import gzip
import http.client
import json
import logging
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
UNESCAPE = re.compile(r"\\(.)")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def prometheus_client_registry(families):
    """A registry whose single collector yields prometheus_client Metrics equal to `families`."""
    from prometheus_client.core import CollectorRegistry, Metric

    metrics = []
    for family in families:
        samples = list(family.iter_samples() if hasattr(family, "iter_samples") else family.samples)
        if not samples:
            continue
        metric = Metric(family.name, family.help, family.kind)
        for labels, value in samples:
            values = {name: UNESCAPE.sub(lambda m: "\n" if m.group(1) == "n" else m.group(1), raw)
                      for name, raw in LABEL.findall(labels)}
            metric.add_sample(family.name, values, float(value))
        metrics.append(metric)

    class SameFamilies:
        def collect(self):
            return iter(metrics)

        def describe(self):
            return []

    registry = CollectorRegistry(auto_describe=False)
    registry.register(SameFamilies())
    return registry, sum(len(m.samples) for m in metrics)


def scrape_times(port: int, scrapes: int, accept_gzip: bool) -> tuple[list[float], int]:
    headers = {"Accept-Encoding": "gzip"} if accept_gzip else {}
    times, size = [], 0
    for _ in range(scrapes):
        started = time.perf_counter()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        conn.request("GET", "/metrics", headers=headers)
        response = conn.getresponse()
        body = response.read()
        conn.close()
        times.append(time.perf_counter() - started)
        if response.status != 200:
            raise RuntimeError(f"/metrics answered {response.status}")
        size = len(body)
    return times, size


def loopback_floor_ms(body: bytes, runs: int = 20) -> float:
    """Median time to move `body` over a loopback TCP connection, no HTTP: what any reply of
    this size costs on this machine before a server does anything."""
    listener = socket.create_server(("127.0.0.1", 0))
    times = []
    try:
        for _ in range(runs):
            sender = threading.Thread(target=lambda: send_once(listener, body))
            sender.start()
            started = time.perf_counter()
            with socket.create_connection(listener.getsockname(), timeout=60) as conn:
                received = 0
                while received < len(body):
                    chunk = conn.recv(1 << 20)
                    if not chunk:
                        break
                    received += len(chunk)
            times.append(time.perf_counter() - started)
            sender.join()
    finally:
        listener.close()
    return round(statistics.median(times) * 1000, 2)


def send_once(listener: socket.socket, body: bytes) -> None:
    conn, _ = listener.accept()
    with conn:
        conn.sendall(body)


def concurrent_scrapes(port: int, clients: int, rounds: int) -> dict:
    """`clients` gzip scrapes at once, `rounds` times, from another process (as Prometheus
    servers are): each timed from connect to its last byte."""
    done = subprocess.run([sys.executable, "-m", "bench.scrape", "--load", str(port), "--clients", str(clients),
                           "--rounds", str(rounds)], stdout=subprocess.PIPE, text=True, check=True, timeout=600)
    times = json.loads(done.stdout)
    return {"concurrent_clients": clients, "concurrent_rounds": rounds,
            "concurrent_median_ms": round(statistics.median(times) * 1000, 1),
            "concurrent_p99_ms": round(percentile(times, 0.99) * 1000, 1)}


def load(port: int, clients: int, rounds: int) -> list[float]:
    """The scraper side of concurrent_scrapes: threads released together by a barrier."""
    times: list[float] = []
    failures: list[str] = []
    for _ in range(rounds):
        barrier = threading.Barrier(clients)

        def scrape(barrier: threading.Barrier = barrier) -> None:
            barrier.wait()
            try:
                times.extend(scrape_times(port, 1, True)[0])
            except Exception as exc:  # reported, never hidden
                failures.append(repr(exc))

        threads = [threading.Thread(target=scrape) for _ in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    if failures:
        raise RuntimeError(f"{len(failures)} concurrent scrapes failed: {failures[:3]}")
    return times


def run(resources: int, scrapes: int, generate_latest_runs: int, clients: int, rounds: int) -> dict:
    from prometheus_client import generate_latest

    from bench.synthetic import bench_config, publish_inventory
    from polo.exporter import Exporter
    from polo.web.exporter_http import serve

    config = bench_config(state_dir=tempfile.mkdtemp(prefix="polo-bench-scrape-"))
    exporter = Exporter(config)
    publish_seconds = publish_inventory(exporter, resources)
    server = serve(exporter, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        scrape_times(port, 3, True)  # warm-up
        gz_times, gz_bytes = scrape_times(port, scrapes, True)
        plain_times, plain_bytes = scrape_times(port, scrapes, False)
        concurrent = concurrent_scrapes(port, clients, rounds) if clients else {}
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)

    floor = loopback_floor_ms(exporter.payload.gzipped)
    registry, series = prometheus_client_registry(list(exporter._families(exporter.snapshot)))
    generate, compress, text = [], [], b""
    for _ in range(generate_latest_runs):
        started = time.perf_counter()
        text = generate_latest(registry)
        generate.append(time.perf_counter() - started)
        started = time.perf_counter()
        gzip.compress(text)
        compress.append(time.perf_counter() - started)
    return {
        "resources": resources,
        "series": exporter.payload.series,
        "publish_seconds": round(publish_seconds, 3),
        "scrapes": scrapes,
        "gzip_median_ms": round(statistics.median(gz_times) * 1000, 2),
        "gzip_p99_ms": round(percentile(gz_times, 0.99) * 1000, 2),
        "gzip_bytes": gz_bytes,
        "gzip_loopback_floor_ms": floor,
        **concurrent,
        "plain_median_ms": round(statistics.median(plain_times) * 1000, 2),
        "plain_p99_ms": round(percentile(plain_times, 0.99) * 1000, 2),
        "plain_bytes": plain_bytes,
        "prometheus_client_series": series,
        "prometheus_client_bytes": len(text),
        "generate_latest_runs": generate_latest_runs,
        "generate_latest_median_ms": round(statistics.median(generate) * 1000, 1),
        "generate_latest_p99_ms": round(percentile(generate, 0.99) * 1000, 1),
        "generate_latest_gzip_median_ms": round(statistics.median(compress) * 1000, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scrape")
    parser.add_argument("--resources", type=int)
    parser.add_argument("--scrapes", type=int, default=200)
    parser.add_argument("--generate-latest-runs", type=int, default=5)
    parser.add_argument("--clients", type=int, default=0, help="also this many gzip scrapes at once")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of --clients scrapes at once")
    parser.add_argument("--load", type=int, metavar="PORT", help=argparse.SUPPRESS)  # concurrent_scrapes' child
    args = parser.parse_args(argv)
    if args.load:
        print(json.dumps(load(args.load, args.clients, args.rounds)))
        return 0
    if args.resources is None:
        parser.error("--resources is required")
    logging.basicConfig(level=logging.ERROR, stream=sys.stderr)
    print(json.dumps(run(args.resources, args.scrapes, args.generate_latest_runs, args.clients, args.rounds)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
