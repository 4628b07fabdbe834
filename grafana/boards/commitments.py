"""Commitments: how much of the usage Savings Plans and Reserved Instances cover, how much of
what was committed is used, and the on-demand spend a commitment could still cover, from the
billing export, this month, per account."""
from __future__ import annotations

from boards.common import (
    ACCOUNT,
    PERCENT,
    USD,
    account_var,
    bar_gauge_panel,
    environment_var,
    red_green,
    instant,
    new_dashboard,
    query_variable,
    series,
    stat_panel,
    timeseries_panel,
)

TYPE = ACCOUNT + ', commitment_type=~"$commitment_type"'


def commitment_type_var():
    return query_variable("commitment_type", "Commitment", "label_values(polo_commitment_eligible_on_demand_usd, "
                          "commitment_type)")


def build():
    board = new_dashboard(
        "commitments", "Commitments", "Savings Plans and Reserved Instances this month, from the AWS billing "
        "export: coverage (covered usage over all the usage a commitment could cover), utilization (used "
        "over committed) and the on-demand spend still eligible.", "now-30d", ["costs"],
        [environment_var(), account_var(), commitment_type_var()])
    panels = [
        stat_panel("Eligible on-demand spend", "On-demand spend this month that a commitment of the selected "
                   "types could have covered (EC2 instances, Fargate, Lambda, SageMaker for Savings Plans; EC2, "
                   "RDS, ElastiCache, OpenSearch, Redshift nodes for Reserved Instances; the same usage can count "
                   "for both).", USD, [instant(f"sum(polo_commitment_eligible_on_demand_usd{{{TYPE}}})")], width=8),
        stat_panel("Lowest coverage", "The lowest coverage among the selected accounts and types: covered "
                   "usage over covered plus eligible on-demand usage. Red under 50%, orange under 70%.",
                   PERCENT, [instant(f"min(polo_commitment_coverage_ratio{{{TYPE}}})")],
                   thresholds=red_green(0.5, 0.7), width=8),
        stat_panel("Lowest utilization", "The lowest utilization among the selected accounts and types: the "
                   "share of the commitment that usage used. Unused commitment is paid for nothing. Red under "
                   "80%, orange under 95%.", PERCENT,
                   [instant(f"min(polo_commitment_utilization_ratio{{{TYPE}}})")], thresholds=red_green(0.8, 0.95),
                   width=8),
        bar_gauge_panel("Coverage by account", "Covered usage over all the usage a commitment of that type "
                        "could cover, this month.", PERCENT,
                        [instant(f"sort(polo_commitment_coverage_ratio{{{TYPE}}})", "{{account}} {{commitment_type}}")],
                        width=8, height=10),
        bar_gauge_panel("Utilization by account", "Used over committed, this month.", PERCENT,
                        [instant(f"sort(polo_commitment_utilization_ratio{{{TYPE}}})",
                                 "{{account}} {{commitment_type}}")], width=8, height=10),
        bar_gauge_panel("Eligible on-demand spend by account", "On-demand spend this month a commitment of that "
                        "type could have covered.", USD,
                        [instant(f"sort_desc(sum by (account, commitment_type) "
                                 f"(polo_commitment_eligible_on_demand_usd{{{TYPE}}}))",
                                 "{{account}} {{commitment_type}}")], width=8, height=10),
        timeseries_panel("Coverage and utilization over time", "The month-to-date ratios as they moved, per "
                         "commitment type (the average over the selected accounts that have the type).", PERCENT,
                         [series(f"avg by (commitment_type) (polo_commitment_coverage_ratio{{{TYPE}}})",
                                 "coverage {{commitment_type}}", ref="A"),
                          series(f"avg by (commitment_type) (polo_commitment_utilization_ratio{{{TYPE}}})",
                                 "utilization {{commitment_type}}", ref="B")],
                         width=24, height=9),
    ]
    for panel in panels:
        board = board.with_panel(panel)
    return board
