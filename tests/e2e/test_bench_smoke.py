"""The benchmark (python -m bench) runs end to end at a tiny scale.

Nothing here asserts speed: only that every part completes, every field is produced, no
collector fails, and the simulated AWS really throttles when its buckets are tiny.
docs/benchmarks.md has the real numbers.
"""
import json
import subprocess
import sys
from pathlib import Path


REPO = Path(__file__).resolve().parents[2]
SWEEP_FIELDS = {"label", "workers", "per_region_workers", "sweep_seconds", "resources", "tasks",
                "failed_collectors", "api_calls", "api_errors", "api_throttled", "proxy_requests",
                "proxy_throttled", "proxy_admitted", "bucket_floor_seconds", "chain_calls", "longest_task",
                "cpu_seconds_exporter", "cpu_seconds_simulator", "lower_bound_seconds", "bound_by", "bounds",
                "ratio", "cpu_floor_seconds"}
SCRAPE_FIELDS = {"resources", "series", "publish_seconds", "gzip_median_ms", "gzip_p99_ms", "gzip_bytes",
                 "gzip_loopback_floor_ms",
                 "plain_median_ms", "plain_p99_ms", "plain_bytes", "prometheus_client_series",
                 "generate_latest_median_ms", "generate_latest_p99_ms", "generate_latest_gzip_median_ms"}
MEMORY_FIELDS = {"resources", "series", "baseline_rss_mb", "peak_rss_mb", "ru_maxrss_mb", "phases"}
COST_FIELDS = {"first_run_requests", "first_day_requests", "steady_requests_per_day", "steady_attempts_per_day",
               "refreshes", "all_refreshes_ok"}


def test_quick_benchmark_produces_every_field(tmp_path):
    out = tmp_path / "bench.json"
    command = [sys.executable, "-m", "bench", "--quick", "--accounts", "1", "--regions", "1",
               "--resources-per-region", "10", "--servers", "1", "--stress-bucket", "1/1",
               "--metrics-sizes", "300,600", "--scrapes", "5", "--generate-latest-runs", "1",
               "--replay-concurrency", "4", "--build-processes", "1", "--scale", "2x1",
               "--scale-resources-per-region", "1", "--settle-seconds", "1", "--out", str(out)]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "| target | measured | met |" in done.stdout  # the Markdown table was printed

    results = json.loads(out.read_text())
    assert results["estate"]["resources"] > 0
    assert results["simulator"]["requests_per_second"] > 0
    sweeps = {s["label"].split(" (")[0]: s for s in results["sweep"]["sweeps"]}
    assert {"default, cold", "default, warm 1", "default, throttled 1", "one worker, cold",
            "one worker, warm 1"} <= set(sweeps)
    for sweep in sweeps.values():
        assert SWEEP_FIELDS <= set(sweep), SWEEP_FIELDS - set(sweep)
        assert sweep["failed_collectors"] == 0, sweep["failed"]
        assert sweep["api_calls"] > 0 and sweep["lower_bound_seconds"] > 0
    throttled = sweeps["default, throttled 1"]
    assert throttled["proxy_throttled"] > 0 and throttled["api_throttled"] > 0  # tiny buckets do throttle
    assert sweeps["default, warm 1"]["proxy_throttled"] == 0  # AWS's own rates do not, at this scale

    assert [s["resources"] for s in results["scrape"]] == [300, 600]
    for scrape in results["scrape"]:
        assert SCRAPE_FIELDS <= set(scrape), SCRAPE_FIELDS - set(scrape)
        assert scrape["prometheus_client_series"] == scrape["series"]  # the same families compared
    crowded = results["scrape"][-1]  # the scrapes at once run at 100,000 resources, else the largest size
    assert crowded["concurrent_clients"] == 20 and crowded["concurrent_p99_ms"] >= crowded["concurrent_median_ms"] > 0
    for memory in results["memory"]:
        assert MEMORY_FIELDS <= set(memory), MEMORY_FIELDS - set(memory)
        assert memory["peak_rss_mb"] >= memory["baseline_rss_mb"] > 0
    assert COST_FIELDS <= set(results["costs"]) and results["costs"]["all_refreshes_ok"]
    assert results["billing"]["rows"] == 100_000 and results["billing"]["resources"] > 0
    assert results["billing"]["peak_rss_mb"] > results["billing"]["baseline_rss_mb"] > 0
    scale = results["scale"]
    assert scale["resources"] > 0 and scale["rss_after_sweeps_mb"] > scale["rss_polo_imported_mb"] > 0
    assert [s["failed_collectors"] for s in scale["sweeps"]] == [0, 0]
    demo, backfill = results["startup"]["demo"], results["startup"]["backfill"]
    assert 0 < demo["first_answer_seconds"] <= demo["healthy_seconds"] and demo["exit_code"] == 0
    assert demo["peak_rss_mb"] > 0 and backfill["peak_rss_mb"] > 0 and backfill["openmetrics_mb"] > 0
    assert len(results["targets"]) == 10 and all({"target", "measured", "met"} <= set(t) for t in results["targets"])
    assert "peer" not in results and "c7n-org comparison skipped: pass --c7n-org PATH" in done.stderr
    assert {"nproc", "cpu", "python"} <= set(results["machine"])
    missed = [t for t in results["targets"] if not t["met"]]
    assert all("why" not in t for t in results["targets"] if t["met"])  # reasons only for misses

    again = subprocess.run([sys.executable, "-m", "bench", "--report", str(out)], cwd=REPO, capture_output=True,
                           text=True, timeout=60)
    assert again.returncode == 0 and "| target | measured | met |" in again.stdout
    assert json.loads(out.read_text())["targets"] == results["targets"]  # judged the same way again
    assert again.stdout.count("| NO") == len(missed)


def test_the_c7n_peer_runs_five_read_only_policies():
    import yaml

    policies = yaml.safe_load((REPO / "bench" / "c7n-policies.yml").read_text())["policies"]
    assert len(policies) == 5 and len({p["name"] for p in policies}) == 5
    assert all(p["filters"] and set(p) == {"name", "resource", "filters"} for p in policies)  # no actions


def test_the_c7n_comparison_without_c7n_org_says_why_and_skips(tmp_path):
    missing = tmp_path / "c7n-org"
    for extra in ([], ["--c7n-org", str(missing)]):
        done = subprocess.run([sys.executable, "-m", "bench.custodian", *extra], cwd=REPO, capture_output=True,
                              text=True, timeout=60)
        assert done.returncode == 0 and done.stdout == ""
        assert "c7n-org comparison skipped" in done.stderr
    assert "is not an executable file" in done.stderr


def test_a_timed_run_reports_the_cpu_of_the_tool_and_of_the_simulator(tmp_path):
    from bench.custodian import timed

    burn = "import time\nstarted = time.process_time()\nwhile time.process_time() - started < {}: pass\n"
    simulator = subprocess.Popen([sys.executable, "-c", burn.format(1.0)])
    try:
        figures, code, _, _ = timed([sys.executable, "-c", burn.format(0.5)], {}, str(tmp_path), [simulator.pid])
    finally:
        simulator.wait(timeout=30)
    assert code == 0 and figures["seconds"] >= 0.5
    assert 0.5 <= figures["cpu_seconds"] < 0.9
    assert 0.05 < figures["simulator_cpu_seconds"] <= 1.05  # it burns alongside, part of its second inside


def test_a_timed_once_run_says_where_its_time_went(tmp_path):
    """bench.once_timeline's breakdown of a --once run against the simulated AWS."""
    from bench import estate
    from bench.awsproxy import ProxyProcess
    from bench.custodian import run_polo

    accounts = [{"id": "100000000000", "name": "account-000", "environment": "prod"}]
    with ProxyProcess(servers=1, latency_ms=0, throttle=False) as proxy:
        estate.build(accounts, ["us-east-1"], proxy.endpoint, 10, processes=1)
        run = run_polo(proxy, accounts, ["us-east-1"], str(tmp_path), ("ec2_instances", "load_balancers"),
                       timeline=True)
    timeline = run["timeline"]
    assert run["exit_code"] == 0 and timeline["exit_code"] == 0
    assert timeline["requests"] == run["requests"] > 0 and timeline["clients"] >= 3  # sts, ec2, elbv2
    assert (0 < timeline["polo_and_botocore_imported_seconds"] < timeline["first_request_seconds"]
            < timeline["last_response_seconds"] <= timeline["ended_seconds"])
    assert run["longest_task"] in ("ec2_instances in us-east-1", "load_balancers in us-east-1")
