"""`polo-exporter backfill`: the OpenMetrics history, its reuse of the cost state, and (e2e)
the real promtool and Prometheus reading a day back."""
import datetime as dt
import json
import subprocess
import time
import urllib.parse
import urllib.request

import pytest

from support.common import ACCOUNT_A, ACCOUNT_B, ACCOUNT_C, free_port, make_config, require_binary
from polo.cli import main
from polo.costs.backfill import run_backfill
from polo.demo.costs import SERVICES, CostModel, install_cost_model

NOW = dt.datetime(2025, 7, 20, 6, 0, tzinfo=dt.timezone.utc)
ACCOUNTS = (ACCOUNT_A, ACCOUNT_B, ACCOUNT_C)
EC2 = "Amazon Elastic Compute Cloud - Compute"


@pytest.fixture
def demo(moto, tmp_path):
    config = make_config(accounts=ACCOUNTS, state_dir=str(tmp_path / "state"), aws={"max_attempts": 1},
                         costs={"account": ACCOUNT_A}, budget={"golden_date": "2025-06-21"})
    undo = install_cost_model(config, NOW, clock=lambda: NOW)
    yield config, CostModel(config)
    undo()


def requests_made(err: str) -> int:
    return int(err.split("Cost Explorer requests: ")[1].split()[0])


def end_of(day: dt.date) -> int:
    return int(dt.datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=dt.timezone.utc).timestamp())


def test_history_is_openmetrics_with_day_end_timestamps(demo, tmp_path, capsys):
    config, model = demo
    out = tmp_path / "history.om"
    assert run_backfill(config, "2025-07-15", str(out), now=NOW) == 0
    lines = out.read_text().splitlines()
    assert lines[:2] == ["# HELP polo_cost_daily_usd Cost of the last complete day (UTC) by account and service.",
                         "# TYPE polo_cost_daily_usd gauge"]
    assert lines[-1] == "# EOF"
    samples = lines[2:-1]
    assert len(samples) == 5 * 3 * 15  # July 15..19 (today, the 20th, is not complete) x 3 accounts x 15 services
    series = (f'polo_cost_daily_usd{{account_id="{ACCOUNT_B}",account="acct1",environment="dev",'
              f'service="{EC2}"}}')
    mine = [line.rsplit(" ", 2) for line in samples if line.startswith(series + " ")]
    assert [int(ts) for _, _, ts in mine] == [end_of(dt.date(2025, 7, d)) for d in range(15, 20)]
    assert float(mine[0][1]) == pytest.approx(model.daily_cost(ACCOUNT_B, EC2, dt.date(2025, 7, 15)))
    assert "wrote 225 samples for 5 days" in capsys.readouterr().err


def test_backfill_reuses_the_exporters_state(demo, tmp_path, capsys):
    config, _ = demo
    assert run_backfill(config, "2025-06-21", str(tmp_path / "a.om"), now=NOW) == 0
    first = requests_made(capsys.readouterr().err)
    assert first > 1  # June 1 .. July 20: 50 days x 45 groups = 2,250 groups = 5 pages, + forecast
    assert run_backfill(config, "2025-06-21", str(tmp_path / "b.om"), now=NOW) == 0
    assert requests_made(capsys.readouterr().err) == 1  # the restatement window; forecast still today's
    assert (tmp_path / "a.om").read_text() == (tmp_path / "b.om").read_text()
    assert run_backfill(config, "2025-05-20", str(tmp_path / "c.om"), now=NOW) == 0
    # only May (whole months are asked: 31 days x 45 = 1,395 groups, 3 pages) and the window
    # (1 page) are new
    assert requests_made(capsys.readouterr().err) == 4


@pytest.mark.parametrize("since", ["21/06/2025", "yesterday", "2099-01-01"])
def test_a_bad_since_exits_2_with_one_line(tmp_path, capsys, since):
    config_file = tmp_path / "polo.yml"
    config_file.write_text('accounts: [{id: "111111111111", name: a, environment: prod}]\n'
                           f"state_dir: {tmp_path / 'state'}\n")
    assert main(["--config", str(config_file), "backfill", "--since", since, "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"polo-exporter: backfill: --since must be a past date like 2025-06-21, got {since!r}"]


def test_a_failing_cost_explorer_writes_nothing(demo, tmp_path, capsys):
    config, _ = demo
    from moto.ce.models import ce_backends
    from moto.core.exceptions import JsonRESTError

    def denied(body):
        raise JsonRESTError("AccessDeniedException", "not the payer")

    ce_backends[ACCOUNT_A]["global"].get_cost_and_usage = denied
    assert run_backfill(config, "2025-07-01", str(tmp_path / "x.om"), now=NOW) == 1
    assert not (tmp_path / "x.om").exists()
    assert "Cost Explorer failed (AccessDeniedException)" in capsys.readouterr().err


def test_promtool_blocks_answer_in_prometheus(demo, tmp_path):
    promtool, prometheus = require_binary("promtool"), require_binary("prometheus")
    config, model = demo
    history = tmp_path / "history.om"
    assert run_backfill(config, "2025-06-21", str(history), now=NOW) == 0
    data = tmp_path / "data"
    subprocess.run([promtool, "tsdb", "create-blocks-from", "openmetrics", "--max-block-duration=720h",
                    str(history), str(data)], check=True, capture_output=True, timeout=120)
    (tmp_path / "prometheus.yml").write_text("global:\n  scrape_interval: 1m\nscrape_configs: []\n")
    port = free_port()
    process = subprocess.Popen(
        [prometheus, f"--config.file={tmp_path / 'prometheus.yml'}",
         f"--storage.tsdb.path={data}", "--storage.tsdb.retention.time=10y",
         f"--web.listen-address=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{base}/-/ready", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline and process.poll() is None, "prometheus did not become ready"
            time.sleep(0.2)
        day = dt.date(2025, 7, 4)  # a Friday, well inside the history
        query = urllib.parse.urlencode({"query": "sum(polo_cost_daily_usd)", "time": end_of(day)})
        with urllib.request.urlopen(f"{base}/api/v1/query?{query}", timeout=10) as response:
            result = json.load(response)["data"]["result"]
        expected = sum(model.daily_cost(a, s, day) for a in ACCOUNTS for s in SERVICES)
        assert float(result[0]["value"][1]) == pytest.approx(expected, rel=1e-9)
    finally:
        process.kill()
        process.wait(timeout=10)
