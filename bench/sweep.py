"""Real Polo sweeps against the simulated AWS: run in its own process by bench.run, so that its
peak RSS is the exporter's own (botocore clients for every account and region included).

    python -m bench.sweep --port PROXY_PORT --accounts 16 --regions 4 --latency-ms 50 \
        --stress-bucket 2/1 --pids 123,124 --out sweep.json

Every measured sweep starts with the proxy's buckets full (as after a 5-minute sweep interval)
and its counters at zero. Scenarios: Polo's default pool (cold: first sweep, roles assumed and
clients created; warm: the next ones, as every later sweep), the same exporter with every bucket
shrunk to --stress-bucket so that throttling really happens, and a pool of one worker.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import replace

from bench.awsproxy import ProxyClient
from bench.memory import status_mb
from bench.estate import use_fake_credentials

THROTTLE_CODES = {"RequestLimitExceeded", "Throttling", "ThrottlingException", "TooManyRequestsException",
                  "SlowDown", "RequestThrottled", "ThrottledException"}


def peak_rss_mb(field: str = "VmHWM") -> float:
    """VmHWM: this process image's peak RSS (ru_maxrss would include the forking parent's);
    VmRSS: its RSS now."""
    return round(status_mb(field), 1)


def cpu_seconds(pid: int) -> float:
    """user + system CPU of another process (ours: time.process_time)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def make_task_stats():
    """polo.aws.access.ApiStats that also counts, per sweep task, the attempts it made and how many of
    them were throttled (the task is known from the thread that runs it)."""
    from polo.aws.access import ApiStats
    from polo.errors import error_code

    class TaskStats(ApiStats):
        def __init__(self):
            super().__init__()
            self.local = threading.local()
            self.per_task: dict = defaultdict(Counter)

        def _make_handler(self, account_id: str):
            inner = super()._make_handler(account_id)

            def handler(operation=None, response=None, caught_exception=None, **kwargs):
                inner(operation=operation, response=response, caught_exception=caught_exception, **kwargs)
                if operation is None:
                    return None
                code = ""
                if caught_exception is not None:
                    code = error_code(caught_exception)
                elif response is not None and response[0].status_code >= 300:
                    code = (response[1] or {}).get("Error", {}).get("Code") or ""
                task = getattr(self.local, "task", None)
                with self._lock:
                    counts = self.per_task[task]
                    counts["attempts"] += 1
                    if code in THROTTLE_CODES:
                        counts["throttled"] += 1
                    elif caught_exception is not None:
                        counts["transport_errors"] += 1
                    if operation.name == "AssumeRole":
                        counts["assume_role"] += 1
                return None
            return handler

        def take_tasks(self) -> dict:
            with self._lock:
                tasks, self.per_task = self.per_task, defaultdict(Counter)
            return tasks

    return TaskStats()


def make_exporter(config):
    """The exporter exactly as polo-exporter builds it, with task-aware API stats."""
    from polo.aws.access import AwsAccess
    from polo.exporter import Exporter, pool_size

    stats = make_task_stats()
    exporter = Exporter(config, AwsAccess(config.aws, home_region=config.regions[0], stats=stats,
                                          max_pool_connections=pool_size(config)))
    original = exporter.sweeper._run_task

    def run_task(task):
        stats.local.task = task
        try:
            return original(task)
        finally:
            stats.local.task = None

    exporter.sweeper._run_task = run_task
    return exporter, stats


def api_delta(before: tuple[dict, dict], after: tuple[dict, dict]) -> tuple[int, Counter]:
    calls = sum(after[0].values()) - sum(before[0].values())
    errors: Counter = Counter()
    for key, n in after[1].items():
        errors[key[3]] += n - before[1].get(key, 0)
    return calls, Counter({k: v for k, v in errors.items() if v})


def measured_sweep(exporter, stats, proxy: ProxyClient, pids: list[int], label: str,
                   record: bool = False) -> dict:
    proxy.reset()
    if record:
        proxy.configure(record=True)
    before = stats.snapshot()
    cpu_before = time.process_time()
    children_before = {pid: cpu_seconds(pid) for pid in pids}
    started = time.monotonic()
    snapshot = exporter.sweep_once()
    total = time.monotonic() - started
    cpu = time.process_time() - cpu_before
    children = {str(pid): round(cpu_seconds(pid) - children_before[pid], 2) for pid in pids}
    if record:
        proxy.configure(record=False)
    served = proxy.stats()
    calls, errors = api_delta(before, stats.snapshot())
    tasks = stats.take_tasks()
    assume = sum(t["assume_role"] for t in tasks.values())
    chains = {task: t["attempts"] - t["throttled"] - t["transport_errors"] - t["assume_role"]
              for task, t in tasks.items() if task is not None}
    longest = max(chains, key=lambda task: chains[task]) if chains else None
    failed = [f"{t.account_id}/{t.region}/{t.collector}: {s.error}"
              for t, s in snapshot.tasks.items() if not s.ok]
    throttled_api = sum(n for code, n in errors.items() if code in THROTTLE_CODES)
    return {
        "label": label,
        "workers": exporter.config.sweep.workers,
        "per_region_workers": exporter.config.sweep.per_region_workers,
        "sweep_seconds": round(snapshot.sweep_duration, 3),
        "sweep_once_seconds": round(total, 3),  # + inventory apply and publish (render)
        "resources": len(snapshot.resources),
        "tasks": len(snapshot.tasks),
        "failed_collectors": len(failed),
        "failed": failed[:20],
        "api_calls": calls,  # ApiStats: every attempt, retries included
        "api_errors": dict(errors),
        "api_throttled": throttled_api,
        "proxy_requests": served["requests"],
        "proxy_throttled": served["throttled"],
        "proxy_throttled_by_operation": served["throttled_by_operation"],
        "proxy_admitted": served["requests"] - served["throttled"],
        "bucket_floor_seconds": served["bucket_floor_seconds"],
        "bucket_floor_key": served["bucket_floor_key"],
        "assume_role_calls": assume,
        "longest_task_calls": chains.get(longest, 0),
        "longest_task": f"{longest.account_id}/{longest.region}/{longest.collector}" if longest else "",
        "chain_calls": chains.get(longest, 0) + (1 if assume else 0),
        "cpu_seconds_exporter": round(cpu, 2),
        "cpu_seconds_simulator": children,
        "latency_ms": served["latency_ms"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.sweep")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--accounts", type=int, required=True)
    parser.add_argument("--regions", type=int, required=True)
    parser.add_argument("--latency-ms", type=float, required=True)
    parser.add_argument("--stress-bucket", default="2/1", help="BURST/RATE for the throttled scenario")
    parser.add_argument("--warm-sweeps", type=int, default=3)
    parser.add_argument("--throttled-sweeps", type=int, default=2)
    parser.add_argument("--skip-one-worker", action="store_true")
    parser.add_argument("--kept-client-regions", type=int,
                        help="sweep.kept_client_regions (default: Polo's): 0 makes clients per turn")
    parser.add_argument("--pids", default="", help="simulator processes whose CPU time to report")
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)

    use_fake_credentials()
    logging.basicConfig(level=logging.ERROR, stream=sys.stderr)
    from bench.common import region_names
    from bench.synthetic import bench_config

    from polo.cli import tune_garbage_collector  # the baseline counts polo and boto3 imported

    tune_garbage_collector()  # as polo-exporter's main does
    imported = peak_rss_mb()
    proxy = ProxyClient(args.port)
    pids = [int(p) for p in args.pids.split(",") if p]
    burst, rate = (float(x) for x in args.stress_bucket.split("/"))
    state = tempfile.mkdtemp(prefix="polo-bench-sweep-")
    config = bench_config(args.accounts, region_names(args.regions), state_dir=state,
                          aws={"endpoint_url": proxy.endpoint, "read_timeout": "120s"},
                          **({} if args.kept_client_regions is None else
                             {"sweep": {"kept_client_regions": args.kept_client_regions}}))
    sweeps: list[dict] = []
    results: dict[str, object] = {"rss_polo_imported_mb": imported, "sweeps": sweeps}
    proxy.configure(latency_ms=args.latency_ms, throttle=True, override=None)

    exporter, stats = make_exporter(config)
    sweeps.append(measured_sweep(exporter, stats, proxy, pids, "default, cold"))
    for n in range(1, args.warm_sweeps + 1):  # the warm sweeps vary: report each, judge the median
        sweeps.append(measured_sweep(exporter, stats, proxy, pids, f"default, warm {n}", record=n == 1))
    results["rss_after_default_sweeps_mb"] = peak_rss_mb()
    results["rss_now_after_default_sweeps_mb"] = peak_rss_mb("VmRSS")
    results["series"] = exporter.payload.series
    proxy.configure(override=[burst, rate])
    for n in range(1, args.throttled_sweeps + 1):
        sweeps.append(measured_sweep(exporter, stats, proxy, pids,
                                                f"default, throttled {n} ({args.stress_bucket})"))
    proxy.configure(override=None)
    del exporter, stats

    if not args.skip_one_worker:
        one = replace(config, sweep=replace(config.sweep, workers=1, per_region_workers=1))
        single, stats = make_exporter(one)
        sweeps.append(measured_sweep(single, stats, proxy, pids, "one worker, cold"))
        sweeps.append(measured_sweep(single, stats, proxy, pids, "one worker, warm 1"))
    results["rss_peak_mb"] = peak_rss_mb()
    results["ru_maxrss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    with open(args.out, "w") as f:
        json.dump(results, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
