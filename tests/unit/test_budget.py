"""Budget arithmetic on a small dataset whose every figure is worked out by hand below."""
import datetime as dt

import pytest

from polo.costs import budget

A, B, U = "111111111111", "222222222222", "999999999999"  # U: an account missing from the config
EC2, S3 = "Amazon Elastic Compute Cloud - Compute", "Amazon Simple Storage Service"
GOLDEN = dt.date(2025, 6, 21)
TODAY = dt.date(2025, 7, 3)
DAYS = {
    dt.date(2025, 5, 31): {(A, EC2): 1000.0},               # two months back: in no figure
    dt.date(2025, 6, 20): {(A, EC2): 100.0},                # previous month, before the golden date
    dt.date(2025, 6, 21): {(A, EC2): 10.0, (A, S3): 5.0, (B, EC2): 20.0},  # the golden date
    dt.date(2025, 6, 30): {(A, EC2): 30.0, (U, EC2): 7.0},
    dt.date(2025, 7, 1): {(A, EC2): 40.0, (B, S3): 2.0},
    dt.date(2025, 7, 2): {(A, EC2): 50.0, (B, S3): 3.0},    # the last complete day
    dt.date(2025, 7, 3): {(A, EC2): 1.0, (A, S3): 0.5},     # today, partial: never summed
}


@pytest.fixture
def summary():
    return budget.summarise(DAYS, TODAY, GOLDEN, [A, B])


def test_daily_target_spreads_the_month_over_an_average_month():
    # 79,167 * 12 = 950,004 a year; / 365 days = 2,602.7507 a day (v1's 79,167 / 30 = 2,638.90)
    assert budget.daily_target(79167) == pytest.approx(2602.7507, abs=1e-4)
    assert budget.daily_target(79167) * 365 == pytest.approx(79167 * 12)


def test_last_complete_day_is_yesterday(summary):
    assert summary.last_complete_day == dt.date(2025, 7, 2)
    assert summary.daily == {(A, EC2): 50.0, (B, S3): 3.0}
    assert summary.last_complete_day_total == 53.0


def test_month_to_date_counts_complete_days_only(summary):
    # July 1 + July 2: A/EC2 40 + 50 = 90, B/S3 2 + 3 = 5; today's A/S3 0.5 only names the series
    assert summary.month_to_date == {(A, EC2): 90.0, (B, S3): 5.0, (A, S3): 0.0}
    assert summary.month_to_date_total == 95.0
    assert summary.days_elapsed == 2


def test_previous_month_golden_date_and_since(summary):
    # June: A 100 + 10 + 5 + 30 = 145, B 20, U 7 (May 31 is not in it)
    assert summary.previous_month == {A: 145.0, B: 20.0, U: 7.0}
    # June 21 alone: A 10 + 5 = 15, B 20
    assert summary.golden_date == {A: 15.0, B: 20.0}
    # June 21 .. July 2: A 15 + 30 + 40 + 50 = 135, B 20 + 2 + 3 = 25, U 7
    assert summary.since_golden_date == {A: 135.0, B: 25.0, U: 7.0}


def test_configured_accounts_without_spend_read_zero():
    summary = budget.summarise(DAYS, TODAY, GOLDEN, [A, B, "333333333333"])
    assert summary.previous_month["333333333333"] == 0.0
    assert summary.since_golden_date["333333333333"] == 0.0


def test_linear_forecast(summary):
    # 95 over 2 complete days of a 31-day July: 95 / 2 * 31 = 1,472.5
    assert budget.linear_month_forecast(summary, TODAY) == 1472.5


def test_linear_forecast_on_the_first_uses_the_last_day_rate():
    # August 1st: no complete August day yet; July 31 cost 60, * 31 days = 1,860
    days = {dt.date(2025, 7, 31): {(A, EC2): 60.0}}
    first = dt.date(2025, 8, 1)
    summary = budget.summarise(days, first, GOLDEN, [A])
    assert summary.days_elapsed == 0 and summary.month_to_date_total == 0
    assert budget.linear_month_forecast(summary, first) == 1860.0


@pytest.mark.parametrize("golden", [dt.date(2025, 8, 1), dt.date(2025, 6, 22)])
def test_no_baseline_without_the_golden_day(golden):
    # in the future, or a day missing from the history (older than Cost Explorer keeps)
    summary = budget.summarise(DAYS, TODAY, golden, [A])
    assert summary.golden_date == {} and summary.since_golden_date == {}


def test_calendar_helpers():
    assert budget.next_month_start(dt.date(2025, 12, 31)) == dt.date(2026, 1, 1)
    assert budget.previous_month_start(dt.date(2025, 1, 15)) == dt.date(2024, 12, 1)
    assert budget.days_in_month(dt.date(2024, 2, 10)) == 29
    assert budget.midnight_utc(dt.date(2025, 6, 21)) == 1750464000  # date -u -d 2025-06-21 +%s
    # 13 months back from November 2026, plus November itself
    assert budget.history_horizon(dt.date(2026, 11, 28)) == dt.date(2025, 10, 1)
    assert budget.history_horizon(dt.date(2026, 1, 5)) == dt.date(2024, 12, 1)
