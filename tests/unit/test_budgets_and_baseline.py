"""Per-team budgets over billing totals, and the golden-date baseline's sources in order."""
from __future__ import annotations

import datetime as dt

import pytest

from polo.billing.budgets import ORGANISATION, figures
from polo.config import ConfigError, parse_config
from polo.costs.baseline import GoldenBaselineSource
from polo.render.exposition import render
from support.common import ACCOUNT_A, ACCOUNT_B, make_config

TODAY = dt.date(2026, 12, 4)  # three complete days: the 1st to the 3rd
BILLING = {"bucket": "acme-billing", "name": "focus"}
DAILY = {  # (day, account, service, region, charge) -> [billed, effective]
    ("2026-12-01", ACCOUNT_A, "EC2", "us-east-1", "Usage"): [10.0, 9.0],
    ("2026-12-02", ACCOUNT_A, "EC2", "us-east-1", "Usage"): [20.0, 18.0],
    ("2026-12-03", ACCOUNT_B, "EC2", "us-east-1", "Usage"): [30.0, 30.0],
    ("2026-11-30", ACCOUNT_B, "EC2", "us-east-1", "Usage"): [99.0, 99.0],  # last month
}
ALLOCATION = {  # (day, account, kind, key, value) -> [billed, effective]
    ("2026-12-01", ACCOUNT_A, "tag", "team", "payments"): [10.0, 9.0],
    ("2026-12-02", ACCOUNT_A, "tag", "team", ""): [20.0, 18.0],
    ("2026-12-03", ACCOUNT_B, "tag", "team", "payments"): [30.0, 30.0],
}


def config_with(budgets, **extra):
    return make_config(tags={"labels": ["team"]}, billing_export=BILLING, budgets=budgets,
                       budget={"monthly_target_usd": 3100}, **extra)


def test_each_budget_selects_its_spend_and_forecasts_it():
    config = config_with([
        {"name": "payments", "monthly_target_usd": 500, "tag": {"key": "team", "value": "payments"}},
        {"name": "payments-prod", "monthly_target_usd": 100, "environment": "prod",
         "tag": {"key": "team", "value": "payments"}},
        {"name": "untagged", "monthly_target_usd": 50, "tag": {"key": "team", "value": ""}},
        {"name": "account-b", "monthly_target_usd": 1000, "accounts": ["acct1"]},
    ])
    got = {b.name: b for b in figures(config, DAILY, ALLOCATION, TODAY, "2026-12-03")}
    assert list(got) == [ORGANISATION, "payments", "payments-prod", "untagged", "account-b"]
    assert (got[ORGANISATION].target_usd, got[ORGANISATION].month_to_date_usd) == (3100, 60.0)
    assert got["payments"].month_to_date_usd == 40.0 and got["payments"].last_day_usd == 30.0
    assert got["payments-prod"].month_to_date_usd == 10.0  # ACCOUNT_A is the prod account
    assert got["untagged"].month_to_date_usd == 20.0
    assert got["account-b"].month_to_date_usd == 30.0
    assert got["payments"].forecast_usd == pytest.approx(40.0 / 3 * 31)


def test_on_the_first_the_forecast_is_the_last_day_times_the_month():
    (organisation,) = figures(config_with([]), DAILY, ALLOCATION, dt.date(2026, 12, 1), "2026-11-30")
    assert organisation.month_to_date_usd == 0 and organisation.forecast_usd == 99.0 * 31


@pytest.mark.parametrize("budgets, key, problem", [
    ([{"name": "x", "monthly_target_usd": 1, "tag": {"key": "owner", "value": "a"}}], "budgets[0].tag.key",
     "not in tags.labels"),
    ([{"name": "x", "monthly_target_usd": 1, "tag": {"key": "team"}}], "budgets[0].tag", "needs both"),
    ([{"name": "organisation", "monthly_target_usd": 1}], "budgets[0].name", "is taken"),
    ([{"name": "x", "monthly_target_usd": 1, "accounts": ["nobody"]}], "budgets[0].accounts[0]", "not a configured"),
    ([{"name": "x"}], "budgets[0].monthly_target_usd", "is required"),
])
def test_budget_problems_name_the_key(budgets, key, problem):
    with pytest.raises(ConfigError) as caught:
        config_with(budgets)
    assert caught.value.key == key and problem in caught.value.problem


def test_budgets_need_the_billing_export():
    with pytest.raises(ConfigError, match="budgets: per-team budgets are read from the billing export"):
        make_config(budgets=[{"name": "x", "monthly_target_usd": 1}])


def baseline_lines(source: GoldenBaselineSource) -> list[str]:
    return [line for line in render(source.families(None)).plain.decode().splitlines() if not line.startswith("#")]


def test_the_baseline_comes_from_the_first_source_that_reaches_the_golden_date(tmp_path):
    history = tmp_path / "v1.csv"
    history.write_text("date,account_id,service,cost\n2025-06-21,111111111111,EC2,10\n"
                       "2025-06-21,111111111111,S3,2.5\n2025-06-20,111111111111,EC2,99\n")
    config = make_config(budget={"golden_history_csv": str(history), "golden_baseline_usd": {ACCOUNT_A: 7}})
    assert config.budget.golden_history == ((ACCOUNT_A, 12.5),)
    unreached = ("billing_export", lambda: None)
    assert baseline_lines(GoldenBaselineSource(config, [unreached, ("cost_explorer", lambda: {ACCOUNT_A: 3.0})])) == [
        f'polo_cost_golden_baseline_usd{{account_id="{ACCOUNT_A}",account="acct0",environment="prod",'
        'source="cost_explorer"} 3',
        f'polo_cost_golden_baseline_usd{{account_id="{ACCOUNT_B}",account="acct1",environment="dev",'
        'source="cost_explorer"} 0']
    assert 'source="config"} 7' in baseline_lines(GoldenBaselineSource(config, [unreached]))[0]
    from_history = make_config(budget={"golden_history_csv": str(history)})
    assert 'source="v1_history"} 12.5' in baseline_lines(GoldenBaselineSource(from_history, [unreached]))[0]
    assert baseline_lines(GoldenBaselineSource(make_config(), [unreached])) == []


@pytest.mark.parametrize("text, problem", [
    ("date,account_id,service,cost\n2025-06-21,111111111111,EC2,lots\n", "line 2 is not date,account_id,service,cost"),
    ("2025-06-20,111111111111,EC2,1\n", "has no row for the golden date 2025-06-21"),
])
def test_a_bad_history_file_is_a_config_error_naming_the_key(tmp_path, text, problem):
    history = tmp_path / "v1.csv"
    history.write_text(text)
    with pytest.raises(ConfigError) as caught:
        parse_config({"accounts": [{"id": ACCOUNT_A, "name": "a", "environment": "prod"}],
                      "budget": {"golden_history_csv": str(history)}}, str(tmp_path / "polo.yml"))
    assert caught.value.key == "budget.golden_history_csv" and problem in caught.value.problem
