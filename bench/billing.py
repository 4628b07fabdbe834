"""A month of billing line items folded into totals, in fresh processes:

    python -m bench.billing [--rows 10000000] [--row-group 1000000]

First a child process writes a synthetic FOCUS 1.0 month (16 accounts, 4 regions, 15 services,
30 days, 200,000 resource ids, a team tag on 70 % of the lines, a tenth of EC2 and RDS usage
under commitments) to a Parquet file in a temporary folder. Then another child does what the
billing export source does with a data file it has streamed to disk: polo.billing.export's
fold_parquet, a row group at a time, only the needed columns, with `team` as the allow-listed
tag. Reported: its wall time, VmHWM (peak RSS) and the baseline before the fold (the interpreter
with polo.exporter and polo.billing imported), and the file's size. An unchanged month costs no
Parquet read at all (tests/sim/test_billing_export.py), so this is the cost of a changed one.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.memory import max_rss_mb, status_mb

ACCOUNTS, REGIONS, SERVICES, DAYS, RESOURCES = 16, 4, 15, 30, 200_000
TEAMS = ["payments", "search", "platform", "data", "ml"]


def write_month(path: str, rows: int, row_group: int) -> None:
    """The synthetic month, written chunk by chunk so that writing stays small too."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    accounts = pa.array([f"{100000000000 + n}" for n in range(ACCOUNTS)])
    regions = pa.array(["us-east-1", "us-west-2", "eu-west-1", "ap-south-1"][:REGIONS])
    services = pa.array([f"Service {n:02d}" for n in range(SERVICES)])
    days = pa.array([dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc) + dt.timedelta(days=d) for d in range(DAYS)],
                    pa.timestamp("ms", tz="UTC"))
    tags_type = pa.map_(pa.string(), pa.string())
    team_maps = pa.array([[("team", t)] for t in TEAMS] + [[]], tags_type)
    random = np.random.default_rng(7)
    writer = None
    for start in range(0, rows, row_group):
        n = min(row_group, rows - start)
        resource = random.integers(0, RESOURCES, n)
        committed = random.random(n) < 0.1
        cost = random.gamma(1.0, 0.05, n)
        table = pa.table({
            "ChargePeriodStart": days.take(pa.array(random.integers(0, DAYS, n))),
            "SubAccountId": accounts.take(pa.array(resource % ACCOUNTS)),
            "ServiceName": services.take(pa.array(resource % SERVICES)),
            "RegionId": regions.take(pa.array(resource % REGIONS)),
            "ChargeCategory": pa.array(np.where(random.random(n) < 0.02, "Tax", "Usage")),
            "BilledCost": pa.array(np.where(committed, 0.0, cost)),
            "EffectiveCost": pa.array(np.where(committed, cost * 0.7, cost)),
            "ResourceId": pa.array(np.char.add("i-", resource.astype(str))),
            "PricingCategory": pa.array(np.where(committed, "Committed", "Standard")),
            "CommitmentDiscountCategory": pa.array(["Spend" if c else None for c in committed], pa.string()),
            "CommitmentDiscountStatus": pa.array(["Used" if c else None for c in committed], pa.string()),
            "Tags": team_maps.take(pa.array(np.where(random.random(n) < 0.7, resource % len(TEAMS), len(TEAMS)))),
            "x_UsageType": pa.array(np.where(resource % 3 == 0, "USE1-BoxUsage:m5.large", "USE1-DataTransfer-Out")),
        })
        if writer is None:
            writer = pq.ParquetWriter(path, table.schema, compression="snappy")
        writer.write_table(table, row_group_size=row_group)
    assert writer is not None
    writer.close()


def fold(path: str) -> dict:
    import polo.exporter  # noqa: F401  the exporter's own baseline
    from polo.billing.export import fold_parquet
    from polo.billing.schema import FOCUS
    from polo.billing.totals import PeriodTotals

    baseline = status_mb("VmRSS")
    totals = PeriodTotals()
    started = time.perf_counter()
    rows = fold_parquet(path, FOCUS, totals, ("team",))
    totals.finish()
    seconds = time.perf_counter() - started
    return {"rows": rows, "seconds": round(seconds, 1), "baseline_rss_mb": round(baseline, 1),
            "peak_rss_mb": round(max_rss_mb(), 1), "peak_above_baseline_mb": round(max_rss_mb() - baseline, 1),
            "daily_keys": len(totals.daily), "resources": sum(map(len, totals.resources.values()))}


def run(rows: int, row_group: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="polo-bench-billing-") as folder:
        path = str(Path(folder) / "month.parquet")
        subprocess.run([sys.executable, "-m", "bench.billing", "--write", path, "--rows", str(rows),
                        "--row-group", str(row_group)], check=True)
        size = Path(path).stat().st_size
        result = subprocess.run([sys.executable, "-m", "bench.billing", "--fold", path], check=True,
                                capture_output=True, text=True)
        figures = json.loads(result.stdout.strip().splitlines()[-1])
    return {**figures, "row_group": row_group, "file_mb": round(size / 2 ** 20, 1)}


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.billing")
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--row-group", type=int, default=1_000_000)
    parser.add_argument("--write", metavar="PATH", help=argparse.SUPPRESS)
    parser.add_argument("--fold", metavar="PATH", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.write:
        write_month(args.write, args.rows, args.row_group)
    elif args.fold:
        print(json.dumps(fold(args.fold)))
    else:
        print(json.dumps(run(args.rows, args.row_group)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
