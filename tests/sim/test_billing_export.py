"""The billing export source against moto's S3: every period read once and kept, a changed
manifest read again, a restart on an unchanged bucket reading no Parquet, and every fault
(denied, half-written, corrupt, schema change) keeping the last good figures."""
from __future__ import annotations

import datetime as dt
import json
import threading
from collections import defaultdict

import pytest
from botocore.exceptions import ClientError
from prometheus_client.parser import text_string_to_metric_families

from polo.aws.access import AwsAccess
from polo.billing.source import BillingSource
from polo.demo import billing_export as demo
from polo.demo.costs import SERVICES, CostModel
from polo.model import Resource, Snapshot
from polo.render.exposition import render
from support.common import ACCOUNT_A, ACCOUNT_B, assumed_client, make_config

NOW = dt.datetime(2025, 7, 3, 12, 0, tzinfo=dt.timezone.utc)
EC2 = "Amazon Elastic Compute Cloud - Compute"
RESOURCES = [demo.BilledResource(ACCOUNT_A, "us-east-1", "i-0aaa", EC2, {"team": "payments"}),
             demo.BilledResource(ACCOUNT_B, "us-east-1", "arn:aws:ec2:us-east-1:222222222222:instance/i-0bbb", EC2,
                                 {}),
             demo.BilledResource(ACCOUNT_B, "us-east-1", "i-0gone", EC2, {})]
INVENTORY = Snapshot(taken_at=NOW.timestamp(), resources=(
    Resource(ACCOUNT_A, "us-east-1", "ec2_instance", "i-0aaa"),
    Resource(ACCOUNT_B, "us-east-1", "ec2_instance", "i-0bbb")), tombstones=(), tasks={}, sweep_duration=1.0,
    sweep_ok=True, last_success=NOW.timestamp())


RAW = {"aws": {"max_attempts": 1}, "tags": {"labels": ["team"]}, "costs": {"account": ACCOUNT_A},
       "budget": {"golden_date": "2025-06-21"},
       "billing_export": {"bucket": demo.BUCKET, "prefix": demo.PREFIX, "name": demo.EXPORTS["focus"]}}


def config_for(tmp_path, fmt="focus"):
    return make_config(**{**RAW, "state_dir": str(tmp_path / "state"),
                          "billing_export": {**RAW["billing_export"], "name": demo.EXPORTS[fmt], "format": fmt}})


@pytest.fixture
def bucket(moto, tmp_path):
    s3 = assumed_client("s3", ACCOUNT_A)
    demo.write_exports(config_for(tmp_path), s3, RESOURCES, NOW)
    return s3


def source_for(config, now=NOW):
    return BillingSource(config, AwsAccess(config.aws, home_region="us-east-1"), now=lambda: now.timestamp())


def scrape(source, snapshot=INVENTORY):
    text = render(source.families(snapshot)).plain.decode()
    return {f.name: f for f in text_string_to_metric_families(text)}


def value(metrics, name, **labels):
    family = metrics[name.removesuffix("_total")]  # the parser names a counter's family without it
    samples = [s for s in family.samples if s.name == name and labels.items() <= s.labels.items()]
    assert len(samples) == 1, (name, labels, samples)
    return samples[0].value


def month_to_date(metrics, family="polo_billed_cost_month_to_date"):
    sums: dict[tuple[str, str], float] = defaultdict(float)
    for sample in metrics[family + "_usd"].samples:
        sums[(sample.labels["account_id"], sample.labels["service"])] += sample.value
    return {key: round(usd, 2) for key, usd in sums.items()}


def rewrite_manifest(s3, fmt, period, data_files):
    name = demo.EXPORTS[fmt]
    key = f"{demo.PREFIX}/{name}/metadata/BILLING_PERIOD={period}/{name}-Manifest.json"
    manifest = json.loads(s3.get_object(Bucket=demo.BUCKET, Key=key)["Body"].read())
    manifest.update(executionId="a-new-refresh", dataFiles=data_files)
    s3.put_object(Bucket=demo.BUCKET, Key=key, Body=json.dumps(manifest).encode())


def data_key(fmt, period):
    name = demo.EXPORTS[fmt]
    return f"{demo.PREFIX}/{name}/data/BILLING_PERIOD={period}/{name}-00001.snappy.parquet"


@pytest.mark.parametrize("fmt", ["focus", "cur2"])
def test_month_to_date_equals_cost_explorer_to_the_cent(bucket, tmp_path, fmt):
    source = source_for(config_for(tmp_path, fmt))
    assert source.refresh() is True
    metrics = scrape(source)
    model = CostModel(source.config)
    expected = {(a, s): round(sum(model.daily_cost(a, s, dt.date(2025, 7, d)) for d in (1, 2)), 2)
                for a in (ACCOUNT_A, ACCOUNT_B) for s in SERVICES}
    assert month_to_date(metrics) == expected
    assert month_to_date(metrics, "polo_effective_cost_month_to_date") == expected
    assert value(metrics, "polo_billed_cost_last_day_timestamp_seconds") == dt.datetime(
        2025, 7, 2, tzinfo=dt.timezone.utc).timestamp()
    assert value(metrics, "polo_billing_export_up") == 1
    assert value(metrics, "polo_billing_export_periods") == 3  # May (before the golden date) to July
    assert value(metrics, "polo_billing_export_files_read_total") == 3


def test_resources_match_by_id_or_arn_and_the_rest_are_counted(bucket, tmp_path):
    source = source_for(config_for(tmp_path))
    source.refresh()
    metrics = scrape(source)
    billed = {s.labels["resource_id"]: s.value for s in metrics["polo_resource_billed_cost_usd"].samples}
    assert set(billed) == {"i-0aaa", "i-0bbb"} and all(usd > 0 for usd in billed.values())
    assert value(metrics, "polo_billing_export_unmatched_resources", account_id=ACCOUNT_B) == 1  # i-0gone
    assert value(metrics, "polo_billing_export_unmatched_resources", account_id=ACCOUNT_A) == 0
    assert value(metrics, "polo_billing_export_unmatched_cost_usd", account_id=ACCOUNT_B) > 0


def test_allocation_commitments_and_health(bucket, tmp_path):
    source = source_for(config_for(tmp_path))
    source.refresh()
    metrics = scrape(source)
    teams = {s.labels["tag_value"] for s in metrics["polo_cost_allocation_usd"].samples
             if s.labels["tag_key"] == "team"}
    assert teams == {"payments", ""}
    for kind in ("savings_plan", "reserved_instance"):
        assert 0 < value(metrics, "polo_commitment_utilization_ratio", account_id=ACCOUNT_A,
                         commitment_type=kind) < 1
        assert 0 < value(metrics, "polo_commitment_coverage_ratio", account_id=ACCOUNT_A, commitment_type=kind) < 1
    assert value(metrics, "polo_billing_export_rows") > 0
    assert value(metrics, "polo_billing_export_delivered_timestamp_seconds") > 0


def test_a_restart_on_an_unchanged_bucket_reads_no_parquet(bucket, tmp_path):
    first = source_for(config_for(tmp_path))
    first.refresh()
    again = source_for(config_for(tmp_path))
    get_objects = []
    client = again.access.client(again.config.accounts[0], "s3", "us-east-1")
    client.meta.events.register("before-call.s3.GetObject", lambda params, **_: get_objects.append(params["Key"]))
    assert again.refresh() is True
    assert get_objects == [] and again.counter.files == 0 and again.counter.manifests == 0
    assert scrape(again)["polo_billed_cost_usd"] == scrape(first)["polo_billed_cost_usd"]


def test_a_rewritten_period_alone_is_read_again(bucket, tmp_path):
    source = source_for(config_for(tmp_path))
    source.refresh()
    rewrite_manifest(bucket, "focus", "2025-07", [f"s3://{demo.BUCKET}/{data_key('focus', '2025-07')}"])
    assert source.refresh() is True
    assert source.counter.files == 4


def faulted(source, bucket, fault):
    july = data_key("focus", "2025-07")
    if fault == "denied":
        def denied(**_):
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "ListObjectsV2")
        source.access.client(source.config.accounts[0], "s3", "us-east-1").meta.events.register(
            "before-call.s3.ListObjectsV2", denied)
    elif fault == "half_written":  # a manifest naming a file still on its way
        rewrite_manifest(bucket, "focus", "2025-07", [f"s3://{demo.BUCKET}/{july}",
                                                      f"s3://{demo.BUCKET}/{july}.part2"])
    elif fault == "malformed_manifest":
        name = demo.EXPORTS["focus"]
        bucket.put_object(Bucket=demo.BUCKET, Key=f"{demo.PREFIX}/{name}/metadata/BILLING_PERIOD=2025-07/"
                                                  f"{name}-Manifest.json", Body=b'{"dataFiles": "not a list"}')
    elif fault == "corrupt":
        bucket.put_object(Bucket=demo.BUCKET, Key=july, Body=b"PAR1 this is not parquet PAR1")
        rewrite_manifest(bucket, "focus", "2025-07", [f"s3://{demo.BUCKET}/{july}"])
    elif fault == "schema":
        table = demo.focus_table(demo.line_items(CostModel(source.config), [dt.date(2025, 7, 1)], RESOURCES, True,
                                                 "us-east-1")).drop_columns(["EffectiveCost"])
        bucket.put_object(Bucket=demo.BUCKET, Key=july, Body=demo.parquet_bytes(table))
        rewrite_manifest(bucket, "focus", "2025-07", [f"s3://{demo.BUCKET}/{july}"])


@pytest.mark.parametrize("fault, reason, logged", [
    ("denied", "access_denied", "AccessDenied"), ("half_written", "missing_file", "absent"),
    ("corrupt", "corrupt_file", "not a readable Parquet file"), ("malformed_manifest", "manifest", "is malformed"),
    ("schema", "schema", "without column(s) EffectiveCost")])
def test_faults_keep_the_last_good_figures_and_are_logged_once(bucket, tmp_path, caplog, fault, reason, logged):
    source = source_for(config_for(tmp_path))
    assert source.refresh() is True
    good = scrape(source)
    faulted(source, bucket, fault)
    caplog.clear()
    assert source.refresh() is False and source.refresh() is False
    metrics = scrape(source)
    assert value(metrics, "polo_billing_export_up") == 0
    assert value(metrics, "polo_billing_export_errors_total", reason=reason) == 2
    for family in ("polo_billed_cost_usd", "polo_billed_cost_month_to_date_usd", "polo_resource_billed_cost_usd",
                   "polo_cost_allocation_usd", "polo_commitment_coverage_ratio"):
        assert metrics[family] == good[family], f"{family} changed after a {fault}"
    (warning,) = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]  # once, not per refresh
    assert logged in warning and "arn:aws" not in caplog.text


def test_a_corrupt_state_file_is_counted_and_the_export_read_again(bucket, tmp_path):
    config = config_for(tmp_path)
    source_for(config).refresh()
    (state,) = (tmp_path / "state").glob("billing-export-*.json")
    state.write_text(json.dumps({"version": 2, "export": "polo-focus", "format": "focus", "keys": ["tag:team"],
                                 "periods": {"2025-07": 1}}))
    again = source_for(config)
    assert again.store.errors["corrupt"] == 1
    assert again.refresh() is True and again.counter.files == 3
    assert value(scrape(again), "polo_billing_export_state_errors_total", reason="corrupt") == 1


def test_the_golden_date_comes_from_the_export_to_the_cent(bucket, tmp_path):
    source = source_for(config_for(tmp_path))
    source.refresh()
    model, golden = CostModel(source.config), dt.date(2025, 6, 21)
    assert {a: round(usd, 2) for a, usd in (source.golden_day_costs() or {}).items()} == {
        a: round(sum(model.daily_cost(a, s, golden) for s in SERVICES), 2) for a in (ACCOUNT_A, ACCOUNT_B)}


def test_budgets_are_rendered_with_the_organisation_first(bucket, tmp_path):
    config = make_config(**{**RAW, "state_dir": str(tmp_path / "state"),
                            "budgets": [{"name": "payments", "monthly_target_usd": 100,
                                         "tag": {"key": "team", "value": "payments"}}]})
    source = source_for(config)
    source.refresh()
    metrics = scrape(source)
    targets = {s.labels["budget"]: s.value for s in metrics["polo_budget_target_usd"].samples}
    assert targets == {"organisation": 79167.0, "payments": 100.0}
    organisation = value(metrics, "polo_budget_spend_month_to_date_usd", budget="organisation")
    assert round(organisation, 2) == round(sum(month_to_date(metrics).values()), 2)
    assert 0 < value(metrics, "polo_budget_spend_month_to_date_usd", budget="payments") < organisation
    assert value(metrics, "polo_budget_forecast_usd", budget="organisation") == pytest.approx(organisation / 2 * 31)


def test_backfill_writes_the_exports_days_beside_cost_explorers(bucket, tmp_path, capsys):
    """History from the export reaches back before Cost Explorer's horizon; per account,
    service and day it equals the Cost Explorer history in the same file, to the cent."""
    import functools

    from prometheus_client.openmetrics.parser import text_string_to_metric_families as openmetrics

    from polo.billing.history import backfill_lines
    from polo.costs.backfill import run_backfill
    from polo.demo.costs import install_cost_model

    config = config_for(tmp_path)
    undo = install_cost_model(config, NOW, clock=lambda: NOW)
    try:
        out = tmp_path / "history.om"
        assert run_backfill(config, "2025-05-01", str(out), now=NOW,
                            billing_history=functools.partial(backfill_lines, config)) == 0
    finally:
        undo()
    families = {f.name: f for f in openmetrics(out.read_text())}
    by_day: dict[str, dict[tuple[str, str, float], float]] = {}
    for name in ("polo_cost_daily_usd", "polo_billed_cost_usd", "polo_effective_cost_usd"):
        sums: dict[tuple[str, str, float], float] = defaultdict(float)
        for sample in families[name].samples:
            key = (sample.labels["account_id"], sample.labels["service"], float(sample.timestamp))
            sums[key] += sample.value
        by_day[name] = {key: round(usd, 2) for key, usd in sums.items()}
    assert len(by_day["polo_billed_cost_usd"]) == 2 * 15 * (31 + 30 + 2)  # May 1 to July 2
    assert by_day["polo_billed_cost_usd"] == by_day["polo_cost_daily_usd"] == by_day["polo_effective_cost_usd"]
    assert "from 3 billing periods, 3 Parquet files read" in capsys.readouterr().err


def test_a_reading_role_of_its_own_gets_its_own_session(moto, tmp_path):
    """billing_export.role_arn in a swept account: its session must not be the sweep's (and the
    sweep's must not become the billing role's)."""
    from polo.billing.source import reader_of

    config = make_config(**{**RAW, "state_dir": str(tmp_path / "state"), "billing_export": {
        **RAW["billing_export"], "role_arn": f"arn:aws:iam::{ACCOUNT_A}:role/PoloBillingReader"}})
    access = AwsAccess(config.aws, home_region="us-east-1")
    reader, swept = reader_of(config), config.accounts[0]
    assert reader.id == swept.id and reader.role_arn != swept.role_arn
    billing_client = access.client(reader, "s3", "us-east-1")
    sweep_client = access.client(swept, "s3", "us-east-1")
    assert billing_client is not sweep_client and access.session(reader) is not access.session(swept)
    arns = {role: boto_arn(access.session(account)) for role, account in (("billing", reader), ("sweep", swept))}
    assert arns["billing"].endswith("assumed-role/PoloBillingReader/polo-exporter")
    assert arns["sweep"].endswith("assumed-role/PoloReadOnly/polo-exporter")
    before = access.session(reader)
    access.forget(swept)
    assert access.session(reader) is not before  # forgotten with the account: assumed afresh


def boto_arn(session) -> str:
    return session.client("sts", region_name="us-east-1").get_caller_identity()["Arn"]


def test_a_rewritten_current_period_is_read_alone_and_moves_the_month_on(bucket, tmp_path):
    """The demo rewrites the current period as AWS does; the source reads that period only."""
    source = source_for(config_for(tmp_path))
    source.refresh()
    later = NOW + dt.timedelta(days=1)
    demo.rewrite_current_period(source.config, bucket, RESOURCES, later)
    source._now = lambda: later.timestamp()
    assert source.refresh() is True and source.counter.files == 4  # 3 periods, then July again
    model = CostModel(source.config)
    assert month_to_date(scrape(source))[(ACCOUNT_A, EC2)] == round(
        sum(model.daily_cost(ACCOUNT_A, EC2, dt.date(2025, 7, d)) for d in (1, 2, 3)), 2)


def test_stopping_abandons_the_fold_at_the_next_slice_and_keeps_what_was_read(bucket, tmp_path):
    """A thread still inside pyarrow when the interpreter exits aborts the process (a drill's
    SIGTERM met one): a stop must end the refresh promptly, not after the whole export."""
    source = source_for(config_for(tmp_path))
    data_files = []

    def stop_on_the_second_data_file(params, **_):
        if "/data/" in params["Key"]:
            data_files.append(params["Key"])
            if len(data_files) == 2:
                source.stop()

    client = source.access.client(source.config.accounts[0], "s3", "us-east-1")
    client.meta.events.register("provide-client-params.s3.GetObject", stop_on_the_second_data_file)
    assert source.refresh() is False
    assert len(data_files) == 2 and list(source.store.periods) == ["2025-05"]
    assert source.up is None and source.errors == dict.fromkeys(source.errors, 0)

    again = source_for(config_for(tmp_path))  # the next start reads only the rest
    assert again.refresh() is True and again.counter.files == len(again.store.periods) - 1


def test_the_demo_delivers_its_bill_after_the_first_sweep_and_polo_reads_it_then(moto, tmp_path):
    """The demo wrote every period of both exports before its exporter started, and the reads
    slowed the first sweep: it was healthy well after 30 s. Now its bucket starts empty (no fault),
    the bill of what the first sweep found is delivered once it is published, and Polo reads it
    at once."""
    from polo.demo.estate import AccountClients
    from polo.demo.simulated import Simulation
    from polo.exporter import Exporter

    config = config_for(tmp_path)
    source = source_for(config)
    exporter = Exporter(config, AwsAccess(config.aws, home_region="us-east-1"), sources=[source])
    simulation = Simulation(config, NOW, AccountClients())
    simulation.billing.create_bucket()
    assert source.refresh() is True and not source.store.periods and source.up
    read = threading.Event()

    def read_at_once() -> None:
        exporter.refresh_now(BillingSource)
        read.set()

    try:
        swept = [Resource(ACCOUNT_A, "us-east-1", "ec2_instance", "i-0swept", tags={"team": "search"}),
                 Resource(ACCOUNT_A, "global", "s3_bucket", "logs"), Resource(ACCOUNT_A, "us-east-1", "vpc", "vpc-1")]
        simulation.deliver_billing_exports(after=exporter.swept, then=read_at_once, swept=lambda: swept)
        assert not read.wait(1.5)
        assert "Contents" not in simulation.billing.s3.list_objects_v2(Bucket=demo.BUCKET)
        exporter.sweep_once()
        assert read.wait(60)
    finally:
        simulation.close()
    assert sorted(source.store.periods) == ["2025-05", "2025-06", "2025-07"]
    # what the sweep found is billed (a VPC is free); no client of its own went looking
    assert set(source.store.periods["2025-07"].totals.resources[ACCOUNT_A]) == {"i-0swept", "logs"}
    assert "polo_billed_cost_usd" in exporter.payload.plain.decode()
