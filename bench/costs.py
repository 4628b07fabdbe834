"""Cost Explorer requests a day at default settings, in a fresh process:

    python -m bench.costs [--now 2026-11-28T12:00:00+00:00] [--days 3]

Polo's own CostSource, configured as polo.example.yml ships (16 accounts, refresh every 6 h,
3-day restatement window, state file in a temporary state_dir), runs against the demo's simulated
Cost Explorer (polo.demo.costs, behind moto in-process) on a simulated clock: the first refresh
at --now, then one every refresh_interval for --days days. Every request is counted twice: by
CostSource's own RequestCounter (what it believes it paid for) and by ApiStats (every attempt on
the wire, retries included). Steady state is the last simulated day.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import sys
import tempfile
from dataclasses import replace
from typing import Any


def run(now: dt.datetime, days: int) -> dict:
    from moto import mock_aws

    from bench.estate import use_fake_credentials
    from polo.aws.access import AwsAccess
    from polo.cli import example_config_path
    from polo.config import load_config
    from polo.costs.source import CostSource
    from polo.demo.costs import install_cost_model

    use_fake_credentials()
    config = replace(load_config(example_config_path()),
                     state_dir=tempfile.mkdtemp(prefix="polo-bench-costs-"))
    interval = config.costs.refresh_interval
    clock = [now]
    with mock_aws():
        undo = install_cost_model(config, now, clock=lambda: clock[0])
        try:
            access = AwsAccess(config.aws, home_region=config.regions[0])
            source = CostSource(config, access, now=lambda: clock[0])

            def paid() -> int:
                return sum(source.counter.snapshot().values())

            def attempts() -> int:
                calls, _ = access.stats.snapshot()
                return sum(n for (_, service, _), n in calls.items() if service == "ce")

            ok = [source.refresh()]
            first, first_attempts = paid(), attempts()
            refreshes: list[dict[str, Any]] = []
            steps = int(days * 86400 // interval)
            for _ in range(steps):
                clock[0] += dt.timedelta(seconds=interval)
                before, before_attempts = paid(), attempts()
                ok.append(source.refresh())
                refreshes.append({"at": clock[0].isoformat(), "requests": paid() - before,
                                  "attempts": attempts() - before_attempts})
        finally:
            undo()
    per_day = max(1, int(86400 // interval))
    last_day = refreshes[-per_day:]
    return {
        "now": now.isoformat(),
        "refresh_interval_hours": interval / 3600,
        "restatement_window_days": config.costs.restatement_window_days,
        "accounts": len(config.accounts),
        "first_run_requests": first,
        "first_run_attempts": first_attempts,
        "refreshes": refreshes,
        "all_refreshes_ok": all(ok),
        "steady_requests_per_day": sum(r["requests"] for r in last_day),
        "steady_attempts_per_day": sum(r["attempts"] for r in last_day),
        "first_day_requests": first + sum(r["requests"] for r in refreshes[:per_day - 1]),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.costs")
    parser.add_argument("--now", help="simulated start (ISO 8601, UTC); default: now")
    parser.add_argument("--days", type=int, default=3)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR, stream=sys.stderr)
    now = dt.datetime.fromisoformat(args.now) if args.now else dt.datetime.now(dt.timezone.utc)
    if now.tzinfo is None:
        now = now.replace(tzinfo=dt.timezone.utc)
    print(json.dumps(run(now, args.days)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
