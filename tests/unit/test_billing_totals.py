"""Billing export line items, in both formats, folded into the figures the metrics show: pure
pyarrow, no S3. The demo's generator (polo.demo.billing_export) writes the line items, so the
same checks hold what the demo promises: its exports add up to its Cost Explorer figures."""
from __future__ import annotations

import datetime as dt
import io
from collections import defaultdict

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from polo.billing.schema import BY_NAME, CUR2, FOCUS, SchemaError, normalise
from polo.billing.totals import PeriodTotals, coverage_and_utilization
from polo.config import BILLING_FORMATS
from polo.demo import billing_export as demo
from polo.demo.costs import SERVICES, CostModel
from support.common import ACCOUNT_A, ACCOUNT_B, make_config

CONFIG = make_config(tags={"labels": ["team"]})  # ACCOUNT_A prod, ACCOUNT_B dev
DAYS = [dt.date(2026, 11, 1) + dt.timedelta(days=n) for n in range(3)]
EC2 = "Amazon Elastic Compute Cloud - Compute"
RDS = "Amazon Relational Database Service"
RESOURCES = [
    demo.BilledResource(ACCOUNT_A, "us-east-1", "i-0aaa", EC2, {"team": "payments"}),
    demo.BilledResource(ACCOUNT_A, "us-east-1", "i-0bbb", EC2, {"team": "search"}),
    demo.BilledResource(ACCOUNT_A, "us-east-1", "arn:aws:rds:us-east-1:111111111111:db:orders", RDS, {}),
    demo.BilledResource(ACCOUNT_B, "us-east-1", "i-0ccc", EC2, {"team": "data"}),
]


def fold(batches) -> PeriodTotals:
    """Batches folded as the source folds a period's files."""
    totals = PeriodTotals()
    for batch in batches:
        totals.add(batch)
    return totals.finish()


def lines() -> demo.Lines:
    return demo.line_items(CostModel(CONFIG), DAYS, RESOURCES, per_resource=True, home_region="us-east-1")


def totals_of(fmt: str, keys=("team",)) -> PeriodTotals:
    table = demo.focus_table(lines()) if fmt == "focus" else demo.cur2_table(lines())
    parquet = pq.ParquetFile(io.BytesIO(demo.parquet_bytes(table, row_group_size=100)))
    assert parquet.num_row_groups > 1, "the fold must work row group by row group"
    layout = BY_NAME[fmt]
    columns = layout.needed(parquet.schema_arrow.names, tags=True, categories=False)
    return fold(normalise(parquet.read_row_group(g, columns=columns), layout, keys)
                for g in range(parquet.num_row_groups))


def by_account_service_day(totals: PeriodTotals, index: int) -> dict[tuple[str, str, str], float]:
    sums: dict[tuple[str, str, str], float] = defaultdict(float)
    for (day, account, service, _region, _charge), pair in totals.daily.items():
        sums[(account, service, day)] += pair[index]
    return sums


def test_the_formats_are_the_configs():
    assert tuple(BY_NAME) == BILLING_FORMATS


@pytest.mark.parametrize("fmt", BILLING_FORMATS)
def test_billed_and_effective_cost_add_up_to_cost_explorer_to_the_cent(fmt):
    model = CostModel(CONFIG)
    totals = totals_of(fmt)
    expected = {(a, s, d.isoformat()): round(model.daily_cost(a, s, d), 2)
                for a in (ACCOUNT_A, ACCOUNT_B) for s in SERVICES for d in DAYS}
    for index in (0, 1):  # billed, then effective: amortizing moves cost, it does not make any
        got = {key: round(usd, 2) for key, usd in by_account_service_day(totals, index).items()}
        assert got == expected


def test_both_formats_agree_on_every_figure_but_where_cur2_books_unused_commitment():
    focus, cur2 = totals_of("focus"), totals_of("cur2")
    assert focus.resources == {account: pytest.approx(ids) for account, ids in cur2.resources.items()}
    assert {k: pytest.approx(v) for k, v in focus.allocation.items()} == cur2.allocation
    assert {k: pytest.approx(v) for k, v in focus.commitments.items()} == cur2.commitments
    charges = {(k[4], round(v[0], 6)) for k, v in focus.daily.items()}
    assert charges == {(k[4], round(v[0], 6)) for k, v in cur2.daily.items()}, "billed cost by charge category"


def test_charge_categories_hold_tax_credit_usage_and_purchase():
    categories = {key[4] for key in totals_of("focus").daily}
    assert categories == {"Usage", "Tax", "Credit", "Purchase"}
    credits = {key[1] for key in totals_of("focus").daily if key[4] == "Credit"}
    assert credits == {ACCOUNT_B}, "only the dev account has promotional credits"


def test_allocation_has_each_team_and_an_empty_value_for_untagged_spend():
    allocation = totals_of("focus").allocation
    values = {key[4] for key in allocation if key[2:4] == ("tag", "team")}
    assert values == {"payments", "search", "data", ""}
    total_billed = sum(pair[0] for pair in totals_of("focus").daily.values())
    assert sum(pair[0] for pair in allocation.values()) == pytest.approx(total_billed)


def test_resource_ids_carry_their_billed_cost():
    resources = totals_of("cur2").resources
    assert {(a, i) for a, ids in resources.items() for i in ids} == {(r.account_id, r.resource_id) for r in RESOURCES}
    assert all(billed > 0 for ids in resources.values() for billed in ids.values())


def test_coverage_and_utilization_per_commitment_type():
    figures = coverage_and_utilization(totals_of("focus").commitments)
    sp_coverage, sp_utilization, sp_eligible = figures[(ACCOUNT_A, "savings_plan")]
    ri_coverage, ri_utilization, _ = figures[(ACCOUNT_A, "reserved_instance")]
    assert sp_utilization == pytest.approx(0.72) and ri_utilization == pytest.approx(0.60)
    # covered at the commitment's rate: 0.4 * 0.72 against the 0.6 left on demand
    assert sp_coverage == pytest.approx(0.4 * 0.72 / (0.4 * 0.72 + 0.6))
    # Reserved Instances could also cover the EC2 instances left on demand
    assert 0 < ri_coverage < 0.5 * 0.6 / (0.5 * 0.6 + 0.5)
    assert figures[(ACCOUNT_A, "reserved_instance")][2] > sp_eligible > 0
    dev_sp = figures.get((ACCOUNT_B, "savings_plan"))
    assert dev_sp is None or dev_sp[0] in (None, 0.0), "the dev account has no commitment"


def test_state_round_trip_keeps_every_figure():
    totals = totals_of("focus")
    again = PeriodTotals.from_json(totals.to_json())
    assert again.to_json() == totals.to_json()


@pytest.mark.parametrize("entry", [["2026-11-01", "a", "s", "r"], ["2026-11-01", "a", "s", "r", "Usage", "x", 1.0],
                                   ["2026-11-01", "a", "s", "r", "Usage", float("nan"), 1.0]])
def test_malformed_state_entries_are_refused(entry):
    with pytest.raises((ValueError, TypeError)):
        PeriodTotals.from_json({"rows": 1, "daily": [entry], "resources": {}, "allocation": [], "commitments": []})


@pytest.mark.parametrize("layout", [FOCUS, CUR2])
def test_a_missing_column_is_a_schema_error_naming_it(layout):
    present = [c for c in layout.columns if c != layout.columns[3]]
    with pytest.raises(SchemaError, match=layout.columns[3]):
        layout.needed(present, tags=False, categories=False)


def test_a_column_of_the_wrong_type_is_a_schema_error():
    table = demo.focus_table(lines())
    table = table.set_column(table.schema.get_field_index("BilledCost"), "BilledCost", pa.array(["x"] * len(table)))
    with pytest.raises(SchemaError):
        normalise(table, FOCUS)


def test_tags_given_as_a_map_read_like_json_text():
    """FOCUS says Tags is a JSON object (the demo writes that); some exports give a map column."""
    import json

    table = demo.focus_table(lines())
    as_map = pa.array([list(json.loads(text).items()) for text in table["Tags"].to_pylist()],
                      pa.map_(pa.string(), pa.string()))
    tagged = normalise(table.set_column(table.schema.get_field_index("Tags"), "Tags", as_map), FOCUS, ["team"])
    assert tagged["tag:team"].to_pylist() == normalise(table, FOCUS, ["team"])["tag:team"].to_pylist()
    assert set(tagged["tag:team"].to_pylist()) == {"payments", "search", "data", ""}


@pytest.mark.parametrize("fmt", BILLING_FORMATS)
def test_cost_categories_allocate_the_whole_bill(fmt):
    table = demo.focus_table(lines()) if fmt == "focus" else demo.cur2_table(lines())
    layout = BY_NAME[fmt]
    totals = fold([normalise(table.select(layout.needed(table.column_names, tags=False, categories=True)),
                             layout, (), (demo.COST_CATEGORY,))])
    by_value: dict[str, float] = defaultdict(float)
    for (_day, _account, kind, key, value), (billed, _) in totals.allocation.items():
        assert (kind, key) == ("cost_category", demo.COST_CATEGORY)
        by_value[value] += billed
    assert set(by_value) == {"Product", "Engineering"}
    assert sum(by_value.values()) == pytest.approx(sum(pair[0] for pair in totals.daily.values()))


def test_keys_share_one_string_per_value_read_or_restored():
    """The demo's FOCUS export holds hundreds of thousands of daily keys of five strings each,
    and each key had string objects of its own: most of what the billing source kept. A day,
    account or service is now one object however many keys hold it, also after a restart
    restores the state."""
    for totals in (totals_of("focus"), PeriodTotals.from_json(totals_of("focus").to_json())):
        keys = list(totals.daily) + list(totals.allocation)
        for position in range(5):
            values = [key[position] for key in keys]
            assert len({id(v) for v in values}) == len(set(values)), f"key position {position}"
