"""The demo's FOCUS export against the FinOps Foundation's focus-validator (the real tool, in a
venv of its own that ./dev test sets up and names in POLO_FOCUS_VALIDATOR).

focus-validator 1.0.0, the release on the package index, checks FOCUS 1.0 files with two
pre-1.0 column names: ResourceID (1.0: ResourceId) and, in SkuPriceId's rule, ChargeType (1.0:
ChargeCategory). The file it reads carries those two aliases; every other column is the
export's own. It also reads its currency list relative to the working directory, so it runs
from its site-packages."""
from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from polo.demo import billing_export as demo
from polo.demo.costs import CostModel
from support.common import ACCOUNT_A, ACCOUNT_B, make_config

EC2 = "Amazon Elastic Compute Cloud - Compute"
RDS = "Amazon Relational Database Service"


def validator() -> str:
    path = os.environ.get("POLO_FOCUS_VALIDATOR") or shutil.which("focus-validator")
    if path is None:
        message = "focus-validator not installed (./dev test sets it up)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


def validate(table: pa.Table, tmp_path: Path) -> subprocess.CompletedProcess:
    aliased = table.rename_columns(["ResourceID" if n == "ResourceId" else n for n in table.column_names])
    aliased = aliased.append_column("ChargeType", aliased["ChargeCategory"])
    path = tmp_path / "focus.parquet"
    pq.write_table(aliased, path)
    program = validator()
    python = Path(program).parent / "python"
    site = subprocess.run([str(python), "-c", "import focus_validator, os; "
                           "print(os.path.dirname(os.path.dirname(focus_validator.__file__)))"],
                          capture_output=True, text=True, check=True).stdout.strip()
    return subprocess.run([program, "--data-file", str(path), "--validate-version", "1.0"], cwd=site,
                          capture_output=True, text=True, timeout=300)


def demo_month() -> pa.Table:
    config = make_config(tags={"labels": ["team"]})  # ACCOUNT_A prod: Savings Plan and RI lines
    resources = [demo.BilledResource(ACCOUNT_A, "us-east-1", "i-0aaa", EC2, {"team": "payments"}, "ec2_instance"),
                 demo.BilledResource(ACCOUNT_A, "us-west-2", "orders", RDS, {}, "rds_instance"),
                 demo.BilledResource(ACCOUNT_B, "us-east-1", "i-0bbb", EC2, {"team": "search"}, "ec2_instance")]
    days = [dt.date(2026, 11, 1) + dt.timedelta(days=n) for n in range(3)]
    lines = demo.line_items(CostModel(config), days, resources, True, "us-east-1")
    return demo.focus_table(lines, {ACCOUNT_A: "acct0", ACCOUNT_B: "acct1"}, ACCOUNT_A)


def test_the_demos_focus_export_passes_the_focus_validator(tmp_path):
    table = demo_month()
    assert set(table["ChargeCategory"].to_pylist()) == {"Usage", "Tax", "Credit", "Purchase"}
    assert set(filter(None, table["CommitmentDiscountCategory"].to_pylist())) == {"Spend", "Usage"}
    result = validate(table, tmp_path)
    assert result.returncode == 0 and "Validation succeeded" in result.stdout + result.stderr, \
        (result.stdout + result.stderr)[-3000:]


def test_the_validator_refuses_an_export_without_a_required_column(tmp_path):
    result = validate(demo_month().drop_columns(["BilledCost"]), tmp_path)
    assert result.returncode != 0 or "Validation succeeded" not in result.stdout + result.stderr
