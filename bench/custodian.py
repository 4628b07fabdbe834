"""Polo against a peer: c7n-org (Cloud Custodian) with five read-only waste policies
(bench/c7n-policies.yml), over the same simulated AWS, estate and latency as the sweep benchmark.

    python -m bench.custodian --c7n-org /path/to/c7n-org     # builds its own 16 x 4 estate first
    python -m bench --c7n-org /path/to/c7n-org               # the same, as a step of the full benchmark

Each runs as its operator would run it, a fresh process timed by wall clock, start-up included:
`polo-exporter --once` on equal work (the five types the policies read, Price List off), the
same with every default collector and a cold Price List cache (a fresh state folder; the moto
servers answer the demo's Price List API), and `c7n-org run --cache-period 0` with its own
default parallelism. Costs are off in both Polo runs.
The proxy is reset (counters zeroed, every bucket full) before each run. Each run also reports
the CPU seconds of the tool's processes and of the simulator's, which shares the machine's
cores. After the judged rounds, one more run of Polo on the policies' types goes through
bench.once_timeline: its imports, client creation, requests and longest task. c7n is no
dependency of Polo or its tests: install it anywhere (`pip install c7n c7n-org`, a separate
virtualenv keeps its boto3 apart) and pass its c7n-org.
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import yaml

from bench.awsproxy import REPO_ROOT, ProxyProcess
from bench.estate import FAKE_CREDENTIALS
from bench.sweep import cpu_seconds

POLICIES = os.path.join(REPO_ROOT, "bench", "c7n-policies.yml")
ROLE = "PoloReadOnly"
ROUNDS = 2  # the first Polo run also pays moto's lazy set-up of services the estate build never called
# The collectors listing what the five policies look at: instances, volumes, snapshots, addresses, ALBs.
POLICY_TYPES = ("ec2_instances", "ebs_volumes", "ebs_snapshots", "elastic_ips", "load_balancers")


def usable(c7n_org: str | None) -> str | None:
    """Why the comparison cannot run, or None when it can."""
    if not c7n_org:
        return "c7n-org comparison skipped: pass --c7n-org PATH (pip install c7n c7n-org, e.g. in a virtualenv)"
    if not (os.path.isfile(c7n_org) and os.access(c7n_org, os.X_OK)):
        return f"c7n-org comparison skipped: {c7n_org} is not an executable file"
    return None


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "MOTO_ACCOUNT_ID", "AWS_SESSION_TOKEN")}
    env.update(FAKE_CREDENTIALS, **extra)
    return env


def timed(command: list[str], env: dict[str, str], cwd: str,
          simulator_pids: list[int]) -> tuple[dict, int, str, str]:
    """Wall seconds and the CPU seconds of the command's processes (children included) and of
    the simulator's meanwhile; then the exit code, stdout and stderr."""
    tool_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    simulator_before = sum(cpu_seconds(pid) for pid in simulator_pids)
    started = time.monotonic()
    done = subprocess.run(command, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, timeout=3600)
    seconds = time.monotonic() - started
    tool = resource.getrusage(resource.RUSAGE_CHILDREN)
    figures = {"seconds": round(seconds, 2),
               "cpu_seconds": round(tool.ru_utime - tool_before.ru_utime + tool.ru_stime - tool_before.ru_stime, 2),
               "simulator_cpu_seconds": round(sum(cpu_seconds(pid) for pid in simulator_pids) - simulator_before, 2)}
    return figures, done.returncode, done.stdout, done.stderr


def load_average() -> float:
    """The machine is shared: the 1-minute load when a run ends says how busy it was."""
    return round(os.getloadavg()[0], 1)


def sweep_figures(exposition: str) -> dict:
    """The sweep's own wall time, the collectors' summed task time and the longest task, from
    --once's output."""
    by_collector: dict[str, float] = {}
    sweep, longest = None, (0.0, "")
    for line in exposition.splitlines():
        if line.startswith("polo_sweep_duration_seconds "):
            sweep = float(line.split()[-1])
        elif line.startswith("polo_collector_duration_seconds{"):
            collector = line.split('collector="', 1)[1].split('"', 1)[0]
            seconds = float(line.split()[-1])
            by_collector[collector] = by_collector.get(collector, 0.0) + seconds
            region = line.split('region="', 1)[1].split('"', 1)[0]
            longest = max(longest, (seconds, f"{collector} in {region}"))
    slowest = sorted(by_collector.items(), key=lambda kv: -kv[1])[:5]
    return {"sweep_seconds": sweep, "slowest_collectors_task_seconds": {k: round(v, 1) for k, v in slowest},
            "longest_task_seconds": round(longest[0], 2), "longest_task": longest[1]}


def price_list_requests(exposition: str) -> int:
    """GetProducts pages --once asked for (0 with the Price List off)."""
    return int(sum(float(line.split()[-1]) for line in exposition.splitlines()
                   if line.startswith("polo_price_list_requests_total{")))


def run_polo(proxy: ProxyProcess, accounts: list[dict], regions: list[str], tmp: str,
             collectors: tuple[str, ...] | None = None, price_list: bool = False, timeline: bool = False) -> dict:
    """polo-exporter --once with every default collector, or only `collectors`; a state dir of
    its own, as a first run has (so a Price List cache starts cold). `timeline`: through
    bench.once_timeline, adding where the run's time went."""
    config = {"accounts": accounts, "regions": regions, "aws": {"endpoint_url": proxy.endpoint},
              "costs": {"enabled": False}, "pricing": {"price_list": price_list},
              "state_dir": tempfile.mkdtemp(prefix="polo-state-", dir=tmp)}
    if collectors:
        config["collectors"] = list(collectors)
    path = os.path.join(tmp, "polo.yml")
    with open(path, "w") as f:
        yaml.safe_dump(config, f)
    proxy.reset()
    where = os.path.join(tmp, "timeline.json")
    command = [sys.executable, "-m", *(("bench.once_timeline", where) if timeline else ("polo",)),
               "--config", path, "--once"]
    figures, code, stdout, stderr = timed(command, clean_env(PYTHONPATH=REPO_ROOT), tmp, proxy.pids)
    if code not in (0, 1):  # 1: some collector failed, counted below
        raise RuntimeError(f"polo-exporter --once exited {code}:\n{stderr[-3000:]}")
    from polo.config import load_config

    served = proxy.stats()
    if timeline:
        with open(where) as f:
            figures["timeline"] = json.load(f)
    return {**figures, **sweep_figures(stdout), "exit_code": code, "load_average": load_average(),
            "collectors": list(load_config(path).collectors), "price_list": price_list,
            "price_list_requests": price_list_requests(stdout),
            "failed_collector_lines": sum("failed in account" in line for line in stderr.splitlines()),
            "requests": served["requests"], "throttled": served["throttled"]}


def run_c7n(proxy: ProxyProcess, c7n_org: str, accounts: list[dict], regions: list[str], tmp: str) -> dict:
    path = os.path.join(tmp, "c7n-accounts.yml")
    with open(path, "w") as f:
        yaml.safe_dump({"accounts": [{"account_id": a["id"], "name": a["name"], "regions": regions,
                                      "role": f"arn:aws:iam::{a['id']}:role/{ROLE}"} for a in accounts]}, f)
    out, cache = os.path.join(tmp, "c7n-out"), os.path.join(tmp, "c7n-cache")
    os.makedirs(cache)
    proxy.reset()
    figures, code, _, stderr = timed([c7n_org, "run", "-c", path, "-u", POLICIES, "-s", out, "--cache-period", "0",
                                   "--cache-path", cache],
                                  clean_env(AWS_ENDPOINT_URL=proxy.endpoint), tmp, proxy.pids)
    if code not in (0, 1):  # 1: some policy failed, counted below
        raise RuntimeError(f"c7n-org run exited {code}:\n{stderr[-3000:]}")
    served = proxy.stats()
    matched: dict[str, int] = {}
    for resources in glob.glob(os.path.join(out, "*", "*", "*", "resources.json")):
        policy = os.path.basename(os.path.dirname(resources))
        with open(resources) as f:
            matched[policy] = matched.get(policy, 0) + len(json.load(f))
    errors = [line for line in stderr.splitlines() if "Exception running policy" in line or "Traceback" in line]
    return {**figures, "exit_code": code, "load_average": load_average(),
            "matched": dict(sorted(matched.items())),
            "runs": len(glob.glob(os.path.join(out, "*", "*", "*", "resources.json"))),
            "errors": errors[:10], "requests": served["requests"], "throttled": served["throttled"],
            "parallel": int(os.environ.get("C7N_ORG_PARALLEL", (os.cpu_count() or 1) * 4))}


def compare(proxy: ProxyProcess, c7n_org: str, accounts: list[dict], regions: list[str],
            latency_ms: float) -> dict:
    """Both tools over the estate behind `proxy`, at `latency_ms` per call with AWS-like throttling."""
    proxy.configure(latency_ms=latency_ms, throttle=True, record=False, override=None)
    rounds = []
    for _ in range(ROUNDS):  # alternating; each tool's fastest round is judged
        with tempfile.TemporaryDirectory(prefix="polo-bench-c7n-") as tmp:
            rounds.append({"polo_policy_types": run_polo(proxy, accounts, regions, tmp, POLICY_TYPES),
                           "polo_every_type_priced": run_polo(proxy, accounts, regions, tmp, price_list=True),
                           "c7n_org": run_c7n(proxy, c7n_org, accounts, regions, tmp)})
    same_types, every_type, c7n = (min((r[tool] for r in rounds), key=lambda r: r["seconds"])
                                   for tool in ("polo_policy_types", "polo_every_type_priced", "c7n_org"))
    with tempfile.TemporaryDirectory(prefix="polo-bench-c7n-") as tmp:  # after the judged rounds
        where = run_polo(proxy, accounts, regions, tmp, POLICY_TYPES, timeline=True)
    version = subprocess.run([os.path.join(os.path.dirname(c7n_org), "custodian"), "version"],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True).stdout.strip()
    return {"latency_ms": latency_ms, "accounts": len(accounts), "regions": regions,
            "polo_policy_types": same_types, "polo_every_type_priced": every_type, "c7n_org": c7n,
            "polo_policy_types_timed": where,
            "custodian_version": version, "rounds": rounds,
            "policy_types_share_of_c7n": round(same_types["seconds"] / c7n["seconds"], 3),
            "every_type_priced_share_of_c7n": round(every_type["seconds"] / c7n["seconds"], 3)}


def main(argv: list[str] | None = None) -> int:
    from bench import estate
    from bench.common import machine, region_names
    from bench.synthetic import bench_config

    parser = argparse.ArgumentParser(prog="python -m bench.custodian", description=__doc__.split("\n")[0])
    parser.add_argument("--c7n-org", help="path of the c7n-org executable")
    parser.add_argument("--accounts", type=int, default=16)
    parser.add_argument("--regions", type=int, default=4)
    parser.add_argument("--resources-per-region", type=int, default=60)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--servers", type=int, default=2)
    parser.add_argument("--build-processes", type=int, default=2)
    args = parser.parse_args(argv)
    why_not = usable(args.c7n_org)
    if why_not:
        print(why_not, file=sys.stderr)
        return 0
    regions = list(region_names(args.regions))
    accounts = [{"id": a.id, "name": a.name, "environment": a.environment}
                for a in bench_config(args.accounts, tuple(regions)).accounts]
    with ProxyProcess(servers=args.servers, latency_ms=0, throttle=False) as proxy:
        built = estate.build(accounts, regions, proxy.endpoint, args.resources_per_region,
                             processes=args.build_processes)
        result = compare(proxy, args.c7n_org, accounts, regions, args.latency_ms)
    result["resources"] = sum(sum(a["counts"].values()) for a in built.values())
    result["machine"] = machine()
    result["command"] = "python -m bench.custodian " + " ".join(argv if argv is not None else sys.argv[1:])
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
