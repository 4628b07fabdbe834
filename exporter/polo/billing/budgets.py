"""Per-team budgets over the billing export's totals: pure arithmetic, checkable by hand.

A budget selects spend by accounts (ids or names), environment, and one tag value or cost
category value; its month to date is the billed cost of the selected spend from the 1st of
the month (UTC) to yesterday, its forecast the same spread linearly over the whole month (on
the 1st, the last complete day times the month's days). The organisation's target
(budget.monthly_target_usd) is the budget named `organisation`, which selects everything.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Iterable, Mapping

from polo.billing.totals import AllocationKey, DailyKey
from polo.config import Config, TeamBudget
from polo.costs.budget import days_in_month

ORGANISATION = "organisation"


@dataclass(frozen=True)
class BudgetFigures:
    name: str
    target_usd: float
    month_to_date_usd: float
    last_day_usd: float
    forecast_usd: float


def budgets_of(config: Config) -> list[TeamBudget]:
    return [TeamBudget(name=ORGANISATION, monthly_target_usd=config.budget.monthly_target_usd)] + list(config.budgets)


def selected_accounts(budget: TeamBudget, config: Config) -> set[str] | None:
    """The account ids a budget covers, None for every account."""
    if not budget.accounts and budget.environment is None:
        return None
    accounts = [a for a in config.accounts + config.former_accounts
                if (not budget.accounts or a.id in budget.accounts or a.name in budget.accounts)
                and (budget.environment is None or a.environment == budget.environment)]
    return {a.id for a in accounts}


def spend(budget: TeamBudget, config: Config, daily: Mapping[DailyKey, list[float]],
          allocation: Mapping[AllocationKey, list[float]], days: Iterable[str]) -> float:
    """The billed cost `budget` selects over `days` ('YYYY-MM-DD')."""
    wanted, accounts = set(days), selected_accounts(budget, config)
    if budget.tag_key is not None or budget.cost_category is not None:
        kind, key, value = (("tag", budget.tag_key, budget.tag_value) if budget.tag_key is not None
                            else ("cost_category", budget.cost_category, budget.cost_category_value))
        return sum(pair[0] for (day, account, k, name, v), pair in allocation.items()
                   if day in wanted and (k, name, v) == (kind, key, value)
                   and (accounts is None or account in accounts))
    return sum(pair[0] for (day, account, *_), pair in daily.items()
               if day in wanted and (accounts is None or account in accounts))


def figures(config: Config, daily: Mapping[DailyKey, list[float]], allocation: Mapping[AllocationKey, list[float]],
            today: dt.date, last_day: str | None) -> list[BudgetFigures]:
    month = [(today.replace(day=1) + dt.timedelta(days=n)).isoformat() for n in range(today.day - 1)]
    result = []
    for budget in budgets_of(config):
        to_date = spend(budget, config, daily, allocation, month)
        last = spend(budget, config, daily, allocation, [last_day] if last_day else [])
        forecast = to_date / len(month) * days_in_month(today) if month else last * days_in_month(today)
        result.append(BudgetFigures(budget.name, budget.monthly_target_usd, to_date, last, forecast))
    return result
