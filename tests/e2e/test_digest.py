"""polo-digest against a real Prometheus holding the demo's cost history, and the fake Slack."""
from __future__ import annotations

import os
import shutil
import subprocess
from datetime import date, timedelta

import pytest

from support.common import free_port
from support.fake_slack import FakeSlack
from polo.slack.digest import Digest, Mover, build_message, movers, plain_text

DIGEST = shutil.which("polo-digest") or "polo-digest"
SLACK_TOKEN = "xoxb-digest-secret-5e2"


def run_digest(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
    return subprocess.run([DIGEST, *args], env=clean | (env or {}), capture_output=True, text=True,
                          timeout=120, check=False)


def test_movers_compare_a_day_with_the_average_of_the_seven_before():
    day = date(2026, 11, 30)
    history = {"prod": {day - timedelta(days=n): 100.0 for n in range(1, 8)},
               "dev": {day - timedelta(days=n): 50.0 for n in range(1, 4)},  # three known days suffice
               "new": {}}
    result = movers(history, {"prod": 160.0, "dev": 40.0, "new": 999.0}, day)
    assert [(m.name, m.change) for m in result] == [("prod", 60.0), ("dev", -10.0)]  # "new": no baseline


@pytest.mark.parametrize("today, expected", [
    (date(2026, 12, 1), "nothing yet, today is the 1st. *November* closed at $80,000.00"),
    (date(2026, 11, 16), "*Month to date* (15 of 30 days): $40,000.00 against the budget pace $39,583.50"),
])
def test_month_to_date_is_measured_against_the_pace_or_last_month_on_the_1st(today, expected):
    digest = Digest(day=today - timedelta(days=1), today=today, cost=2500.0, daily_target=2602.75,
                    monthly_target=79167.0, month_to_date=40000.0, previous_month=80000.0, forecast=81000.0,
                    forecast_method="linear", account_movers=[Mover("ml", 900.0, 400.0)])
    text = plain_text(build_message(digest, "http://prometheus:9090"))
    assert expected in text
    assert "$2,500.00 against the daily target $2,602.75: :large_green_circle: 3.9% under" in text
    assert "*Month-end forecast* (linear projection of month to date): $81,000.00" in text
    assert "*ml* $900.00, +$500.00 (+125%) on its 7-day average $400.00" in text


def test_dry_run_prints_the_digest_and_writes_a_chart(demo_prometheus, tmp_path):
    chart = tmp_path / "digest.png"
    result = run_digest("--dry-run", "--prometheus-url", demo_prometheus.url, "--chart-file", str(chart))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    yesterday = float(demo_prometheus.query("sum(polo_cost_daily_usd)")[0]["value"][1])
    assert "*Yesterday* " in out and f"${yesterday:,.2f} against the daily target $2,602.75" in out
    assert "*Month-end forecast* (" in out
    for title in ("*Biggest movers by account*", "*Biggest movers by service*", "*Biggest savings on the table*"):
        block = out.split(title, 1)[1].split("\n\n", 1)[0]
        assert block.count("\n") == 5, block  # the title's rest and five entries
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and chart.stat().st_size > 20_000
    assert f"(chart written to {chart})" in out


def test_the_digest_is_posted_with_its_chart_in_the_thread(demo_prometheus, tmp_path):
    slack = FakeSlack(token=SLACK_TOKEN)
    try:
        args = ("--prometheus-url", demo_prometheus.url, "--channel", "polo-ops", "--slack-api-url", slack.url,
                "--record-file", str(tmp_path / "posted.json"))
        result = run_digest(*args, "--log.level", "debug", env={"SLACK_BOT_TOKEN": SLACK_TOKEN})
        assert result.returncode == 0, result.stderr
        retried = run_digest(*args, env={"SLACK_BOT_TOKEN": SLACK_TOKEN})  # cron's retry: nothing twice
        assert retried.returncode == 0 and "already posted" in retried.stderr
        assert SLACK_TOKEN not in result.stderr
        [message] = slack.top_level("polo-ops")
        assert "Polo daily digest" in message.block_text() and "Biggest savings" in message.block_text()
        [upload] = slack.files.values()
        assert upload["thread_ts"] == message.ts and upload["channel"] == message.channel
        assert upload["data"][:8] == b"\x89PNG\r\n\x1a\n" and upload["filename"].endswith(".png")
    finally:
        slack.stop()


def test_settings_and_unreachable_prometheus_fail_with_one_line(tmp_path):
    missing = run_digest("--channel", "polo-ops")
    assert missing.returncode == 2 and missing.stderr.strip() == (
        "polo-digest: config error: SLACK_BOT_TOKEN: not set (set SLACK_BOT_TOKEN or SLACK_BOT_TOKEN_FILE)")
    down = run_digest("--dry-run", "--prometheus-url", f"http://127.0.0.1:{free_port()}",
                      "--chart-file", str(tmp_path / "x.png"))
    assert down.returncode == 1 and down.stderr.count("\n") == 1 and "Connection refused" in down.stderr
