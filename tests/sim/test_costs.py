"""Cost Explorer through moto: paging, grouping, the state file across restarts, restatement,
failures that keep the last figures, and the demo's cost model behind moto's CE API."""
import datetime as dt
import json
import threading
from dataclasses import replace

import pytest
import requests
from moto.ce.models import ce_backends
from moto.core.exceptions import JsonRESTError

from support.common import ACCOUNT_A, ACCOUNT_B, ACCOUNT_C, assumed_client, make_config
from polo.aws.access import AwsAccess
from polo.cli import example_config_path
from polo.config import load_config
from polo.costs.source import CostSource
from polo.costs.store import CostStore
from polo.demo.costs import PAGE_SIZE, SERVICES, CostModel, install_cost_model
from polo.render.exposition import render
from prometheus_client.parser import text_string_to_metric_families

UNKNOWN = "999999999999"
EC2, S3 = "Amazon Elastic Compute Cloud - Compute", "Amazon Simple Storage Service"
NOW = dt.datetime(2025, 7, 3, 12, 0, tzinfo=dt.timezone.utc)
MOTO_CE_RESULTS = "http://motoapi.amazonaws.com/moto-api/static/ce/cost-and-usage-results"


def config_for(tmp_path, accounts=(ACCOUNT_A, ACCOUNT_B), **costs):
    return make_config(accounts=accounts, state_dir=str(tmp_path / "state"), aws={"max_attempts": 1},
                       costs={"account": ACCOUNT_A, **costs}, budget={"golden_date": "2025-06-21"})


def cost_source(config, now=NOW):
    access = AwsAccess(config.aws, home_region="us-east-1")
    return CostSource(config, access, now=lambda: now), access


def page(days, token=None, metric="UnblendedCost"):
    """One GetCostAndUsage reply as AWS shapes it: {"2025-07-01": {(account, service): usd}}."""
    reply = {"ResultsByTime": [
        {"TimePeriod": {"Start": day, "End": (dt.date.fromisoformat(day) + dt.timedelta(days=1)).isoformat()},
         "Total": {}, "Estimated": False,
         "Groups": [{"Keys": [account, service], "Metrics": {metric: {"Amount": str(usd), "Unit": "USD"}}}
                    for (account, service), usd in groups.items()]}
        for day, groups in days.items()], "DimensionValueAttributes": []}
    if token:
        reply["NextPageToken"] = token
    return reply


def queue(*replies):
    """Moto's documented way to script GetCostAndUsage: replies are served in order, one per
    distinct request body (and then repeated for that body)."""
    response = requests.post(MOTO_CE_RESULTS, json={"account_id": ACCOUNT_A, "results": list(replies)})
    assert response.status_code == 201


def requested_periods():
    """The TimePeriod (and page token) of every distinct GetCostAndUsage body moto answered."""
    bodies = ce_backends[ACCOUNT_A]["global"].cost_usage_results
    return [(json.loads(b)["TimePeriod"]["Start"], json.loads(b)["TimePeriod"]["End"],
             json.loads(b).get("NextPageToken")) for b in bodies]


def scrape(source):
    text = render(source.families(None)).plain.decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(metrics, name, **labels):
    return metrics.get((name, tuple(sorted(labels.items()))))


def series(metrics, name):
    return {k: v for k, v in metrics.items() if k[0] == name}


def cost_figures_of(metrics):
    """The spend figures, without the self-metrics about requests and state."""
    return {k: v for k, v in metrics.items()
            if k[0].startswith(("polo_cost_daily", "polo_cost_month", "polo_cost_previous",
                                "polo_cost_golden", "polo_cost_since", "polo_cost_last"))}


def cost_figures(source):
    return cost_figures_of(scrape(source))


def svc(account_id, service):
    account, environment = {ACCOUNT_A: ("acct0", "prod"), ACCOUNT_B: ("acct1", "dev")}.get(
        account_id, ("unknown", "unknown"))
    return {"account_id": account_id, "account": account, "environment": environment, "service": service}


def acct(account_id):
    labels = svc(account_id, "")
    del labels["service"]
    return labels


# The first refresh asks for 2025-06-01 (start of the previous month, before the golden date)
# to 2025-07-04 (tomorrow) and gets two pages; June 30 continues on the second page.
FIRST_PAGES = (
    page({"2025-06-20": {(ACCOUNT_A, EC2): 100},
          "2025-06-21": {(ACCOUNT_A, EC2): 10, (ACCOUNT_A, S3): 5, (ACCOUNT_B, EC2): 20},
          "2025-06-30": {(ACCOUNT_A, EC2): 30}}, token="page-2"),
    page({"2025-06-30": {(UNKNOWN, EC2): 7},
          "2025-07-01": {(ACCOUNT_A, EC2): 40, (ACCOUNT_B, S3): 2},
          "2025-07-02": {(ACCOUNT_A, EC2): 50, (ACCOUNT_B, S3): 3},
          "2025-07-03": {(ACCOUNT_A, EC2): 1}}),
)


@pytest.fixture
def first_refresh(moto, tmp_path):
    queue(*FIRST_PAGES)
    config = config_for(tmp_path)
    source, access = cost_source(config)
    assert source.refresh() is True
    return config, source, access


def test_pages_and_groups_become_labelled_series(first_refresh):
    _, source, _ = first_refresh
    assert requested_periods() == [("2025-06-01", "2025-07-04", None), ("2025-06-01", "2025-07-04", "page-2")]
    m = scrape(source)
    assert series(m, "polo_cost_daily_usd") == {
        ("polo_cost_daily_usd", tuple(sorted(svc(ACCOUNT_A, EC2).items()))): 50,
        ("polo_cost_daily_usd", tuple(sorted(svc(ACCOUNT_B, S3).items()))): 3}
    assert value(m, "polo_cost_last_complete_day_timestamp_seconds") == 1751414400  # 2025-07-02 00:00 UTC
    assert value(m, "polo_cost_month_to_date_usd", **svc(ACCOUNT_A, EC2)) == 90      # 40 + 50
    # June 30 was split over both pages: both halves count
    assert value(m, "polo_cost_previous_month_usd", **acct(ACCOUNT_A)) == 145        # 100 + 10 + 5 + 30
    assert value(m, "polo_cost_previous_month_usd", **acct(UNKNOWN)) == 7            # account="unknown"
    assert value(m, "polo_cost_golden_date_usd", **acct(ACCOUNT_B)) == 20
    assert value(m, "polo_cost_since_golden_date_usd", **acct(ACCOUNT_A)) == 135     # 15 + 30 + 40 + 50
    # moto has no GetCostForecast: the linear projection, 95 / 2 days * 31 days
    assert value(m, "polo_cost_month_forecast_usd", method="linear") == 1472.5
    assert len(series(m, "polo_cost_month_forecast_usd")) == 1
    assert value(m, "polo_budget_daily_target_usd") == pytest.approx(2602.7507, abs=1e-4)
    assert value(m, "polo_budget_golden_date_timestamp_seconds") == 1750464000
    assert value(m, "polo_cost_explorer_requests_total", operation="GetCostAndUsage") == 2
    assert value(m, "polo_cost_explorer_requests_total", operation="GetCostForecast") == 1
    assert value(m, "polo_cost_explorer_request_cost_usd_total") == 0.03
    assert value(m, "polo_cost_explorer_up") == 1
    assert value(m, "polo_cost_explorer_last_success_timestamp_seconds") == NOW.timestamp()


def test_restart_reuses_final_days(first_refresh):
    config, _, _ = first_refresh
    queue(page({"2025-07-02": {(ACCOUNT_A, EC2): 50, (ACCOUNT_B, S3): 3}}))
    restarted, _ = cost_source(config)
    before = scrape(restarted)
    assert value(before, "polo_cost_since_golden_date_usd", **acct(ACCOUNT_A)) == 135  # from the state file
    assert restarted.refresh()
    # one request, for yesterday and today only: the rest of the window was asked today already
    assert requested_periods()[2:] == [("2025-07-02", "2025-07-04", None)]
    assert value(scrape(restarted), "polo_cost_explorer_requests_total", operation="GetCostAndUsage") == 1
    assert cost_figures(restarted) == cost_figures_of(before)


def test_restatement_inside_the_window_replaces_the_old_value(first_refresh):
    config, _, _ = first_refresh
    # the next day: the window is July 1 .. July 4, and AWS restated July 2 from 50 to 60
    queue(page({"2025-07-01": {(ACCOUNT_A, EC2): 40, (ACCOUNT_B, S3): 2},
                "2025-07-02": {(ACCOUNT_A, EC2): 60, (ACCOUNT_B, S3): 3},
                "2025-07-03": {(ACCOUNT_A, EC2): 45}}))
    source, _ = cost_source(config, now=NOW + dt.timedelta(days=1))
    assert source.refresh()
    assert requested_periods()[2:] == [("2025-07-01", "2025-07-05", None)]
    m = scrape(source)
    assert value(m, "polo_cost_daily_usd", **svc(ACCOUNT_A, EC2)) == 45
    assert value(m, "polo_cost_month_to_date_usd", **svc(ACCOUNT_A, EC2)) == 145     # 40 + 60 + 45
    assert value(m, "polo_cost_previous_month_usd", **acct(ACCOUNT_A)) == 145        # June kept


@pytest.mark.parametrize("code", ["AccessDeniedException", "ThrottlingException", "DataUnavailableException"])
def test_errors_keep_the_last_figures(first_refresh, code):
    _, source, _ = first_refresh
    good = cost_figures(source)

    def fail(body):
        raise JsonRESTError(code, f"simulated {code}")

    ce_backends[ACCOUNT_A]["global"].get_cost_and_usage = fail  # moto answers with the AWS error
    assert source.refresh() is False
    m = scrape(source)
    assert value(m, "polo_cost_explorer_up") == 0
    assert value(m, "polo_cost_explorer_last_success_timestamp_seconds") == NOW.timestamp()
    assert cost_figures(source) == good
    assert source.last_error == code


def test_a_refusal_naming_the_role_is_logged_by_code_only(first_refresh, caplog):
    _, source, _ = first_refresh
    role = f"arn:aws:sts::{ACCOUNT_A}:assumed-role/PoloReadOnly/polo-exporter"

    def fail(body):
        raise JsonRESTError("AccessDeniedException", f"User: {role} is not authorized to perform ce:GetCostAndUsage")

    ce_backends[ACCOUNT_A]["global"].get_cost_and_usage = fail
    assert source.refresh() is False
    assert "AccessDeniedException" in caplog.text and "arn:aws" not in caplog.text


def test_a_malformed_second_page_keeps_the_last_figures(first_refresh):
    config, source, _ = first_refresh
    good = cost_figures(source)
    restated = page({"2025-07-02": {(ACCOUNT_A, EC2): 999}}, token="page-2")
    broken = page({"2025-07-03": {(ACCOUNT_A, EC2): 1}})
    broken["ResultsByTime"][0]["Groups"][0]["Metrics"]["UnblendedCost"]["Amount"] = "lots"
    queue(restated, broken)
    source._now = lambda: NOW + dt.timedelta(days=1)
    assert source.refresh() is False
    assert value(scrape(source), "polo_cost_explorer_up") == 0
    assert cost_figures(source) == good  # July 2 is still 50: page one alone is not believed
    assert source.last_error == "MalformedReply"


NAN_DAY = ('{"version":1,"account":"%s","metric":"UnblendedCost","horizon":null,"forecast":null,'
           '"days":{"2025-06-01":{"fetched":"2025-07-03","costs":{"%s":{"EC2":%s}}}}}')


@pytest.mark.parametrize("content", ["{not json", '{"version": 1}', "[]", "", "[" * 100_000 + "]" * 100_000,
                                     NAN_DAY % (ACCOUNT_A, ACCOUNT_A, "NaN"),
                                     NAN_DAY % (ACCOUNT_A, ACCOUNT_A, "1e300"),
                                     NAN_DAY % (ACCOUNT_A, ACCOUNT_A, "-Infinity")])
def test_a_corrupt_state_file_is_reported_and_rebuilt(moto, tmp_path, content):
    config = config_for(tmp_path)
    source, _ = cost_source(config)
    source.store.path.parent.mkdir(parents=True)
    source.store.path.write_text(content)
    queue(*FIRST_PAGES)
    rebuilt, _ = cost_source(config)
    assert value(scrape(rebuilt), "polo_cost_state_errors_total", reason="corrupt") == 1
    assert rebuilt.refresh()
    assert json.loads(rebuilt.store.path.read_text())["days"]["2025-07-02"]["costs"][ACCOUNT_A][EC2] == 50
    assert value(scrape(rebuilt), "polo_cost_daily_usd", **svc(ACCOUNT_A, EC2)) == 50


def test_days_older_than_cost_explorer_keeps_are_asked_once(moto, tmp_path):
    # Golden date 2024-01-15, today 2025-07-03: Cost Explorer serves daily data from 2024-06-01
    # (13 months before July 2025) and refuses older starts with a ValidationException.
    config = make_config(state_dir=str(tmp_path / "state"), aws={"max_attempts": 1},
                         costs={"account": ACCOUNT_A}, budget={"golden_date": "2024-01-15"})
    starts = []

    def history_limited(body):
        start = json.loads(body)["TimePeriod"]["Start"]
        starts.append(start)
        if start < "2024-06-01":
            raise JsonRESTError("ValidationException", "To retrieve data beyond the past 14 months, "
                                "your start date needs to be the first day of the month.")
        return page({"2025-07-02": {(ACCOUNT_A, EC2): 50}})

    ce_backends[ACCOUNT_A]["global"].get_cost_and_usage = history_limited
    source, _ = cost_source(config)
    assert source.refresh()
    assert starts == ["2024-01-01", "2024-06-01"]  # the golden date's month, then the horizon
    m = scrape(source)
    assert value(m, "polo_cost_daily_usd", **svc(ACCOUNT_A, EC2)) == 50
    assert not series(m, "polo_cost_golden_date_usd") and not series(m, "polo_cost_since_golden_date_usd")
    restarted, _ = cost_source(config)
    assert restarted.refresh()
    assert starts[2:] == ["2025-07-02"]  # yesterday and today: the horizon is remembered, the window asked


def test_changing_the_metric_starts_a_new_state(first_refresh, tmp_path):
    queue(page({"2025-07-02": {(ACCOUNT_A, EC2): 48}}, metric="AmortizedCost"))
    source, _ = cost_source(config_for(tmp_path, metric="AmortizedCost"))
    assert source.store.errors["missing"] == 1
    assert source.refresh()
    assert requested_periods()[2][:2] == ("2025-06-01", "2025-07-04")  # everything again
    assert value(scrape(source), "polo_cost_daily_usd", **svc(ACCOUNT_A, EC2)) == 48


def test_background_refresh_publishes(first_refresh):
    _, source, _ = first_refresh
    published = threading.Event()
    source.start(published.set)
    assert published.wait(10)


def test_unsettled_ranges(tmp_path):
    """Which days a refresh buys: unknown days, days not final yet unless asked today (the
    restatement window once a day), and always yesterday and today."""
    store = CostStore(str(tmp_path), ACCOUNT_A, "UnblendedCost")

    def d(day):
        return dt.date(2025, 7, day)

    today = d(20)
    assert store.unsettled(d(1), today, 3) == [(d(1), d(21))]           # nothing cached: all of it
    store.update(d(1), d(21), {}, fetched=today)                         # July 1..16 final now
    assert store.unsettled(d(1), today, 3) == [(d(19), d(21))]          # 17, 18 asked today: July 19..20
    assert store.unsettled(dt.date(2025, 6, 28), today, 3) == [(dt.date(2025, 6, 28), d(1)), (d(19), d(21))]
    store.update(d(5), d(7), {}, fetched=d(6))                           # July 5 and 6 fetched too early
    assert store.unsettled(d(1), today, 3) == [(d(5), d(7)), (d(19), d(21))]
    store.update(d(14), d(17), {}, fetched=d(15))                        # not final either
    assert store.unsettled(d(10), today, 3) == [(d(14), d(17)), (d(19), d(21))]
    # the next day: July 17 is final (asked 3 days after it), 18 and 19 are asked again
    assert store.unsettled(d(10), d(21), 3) == [(d(14), d(17)), (d(18), d(22))]


# --- the demo's cost model behind moto's Cost Explorer ---------------------------------------

DEMO_NOW = dt.datetime(2025, 7, 20, 6, 0, tzinfo=dt.timezone.utc)  # a quarter of July 20 is over


@pytest.fixture
def demo(moto, tmp_path):
    config = config_for(tmp_path, accounts=(ACCOUNT_A, ACCOUNT_B, ACCOUNT_C))
    undo = install_cost_model(config, DEMO_NOW, clock=lambda: DEMO_NOW)
    yield config, CostModel(config)
    undo()


def all_pages(ce, **params):
    pages = [ce.get_cost_and_usage(**params)]
    while "NextPageToken" in pages[-1]:
        pages.append(ce.get_cost_and_usage(**params, NextPageToken=pages[-1]["NextPageToken"]))
    return pages


def day_total(model, accounts, day):
    return sum(model.daily_cost(a, s, day) for a in accounts for s in SERVICES)


def test_demo_daily_groups_match_the_model(demo):
    config, model = demo
    ce = assumed_client("ce", ACCOUNT_A)
    pages = all_pages(ce, TimePeriod={"Start": "2025-07-18", "End": "2025-07-22"}, Granularity="DAILY",
                      Metrics=["UnblendedCost"], GroupBy=[{"Type": "DIMENSION", "Key": "LINKED_ACCOUNT"},
                                                          {"Type": "DIMENSION", "Key": "SERVICE"}])
    groups = {}
    for reply in pages:
        for result in reply["ResultsByTime"]:
            for group in result["Groups"]:
                key = (result["TimePeriod"]["Start"],) + tuple(group["Keys"])
                groups[key] = float(group["Metrics"]["UnblendedCost"]["Amount"])
    assert len(pages) == 1 and len(groups) == 3 * 45  # 3 accounts x 15 services, July 18..20
    assert groups[("2025-07-18", ACCOUNT_B, EC2)] == pytest.approx(
        model.daily_cost(ACCOUNT_B, EC2, dt.date(2025, 7, 18)))
    assert groups[("2025-07-20", ACCOUNT_C, S3)] == pytest.approx(
        model.daily_cost(ACCOUNT_C, S3, dt.date(2025, 7, 20)) / 4)
    assert not any(day == "2025-07-21" for day, _, _ in groups)  # the future costs nothing


def test_demo_monthly_and_single_dimension(demo):
    config, model = demo
    ce = assumed_client("ce", ACCOUNT_A)
    reply = ce.get_cost_and_usage(TimePeriod={"Start": "2025-06-21", "End": "2025-07-03"},
                                  Granularity="MONTHLY", Metrics=["AmortizedCost"])
    periods = [(r["TimePeriod"]["Start"], r["TimePeriod"]["End"]) for r in reply["ResultsByTime"]]
    assert periods == [("2025-06-21", "2025-07-01"), ("2025-07-01", "2025-07-03")]
    accounts = (ACCOUNT_A, ACCOUNT_B, ACCOUNT_C)
    june = sum(day_total(model, accounts, dt.date(2025, 6, d)) for d in range(21, 31))
    assert float(reply["ResultsByTime"][0]["Total"]["AmortizedCost"]["Amount"]) == pytest.approx(june)
    by_service = ce.get_cost_and_usage(TimePeriod={"Start": "2025-07-01", "End": "2025-07-02"}, Granularity="DAILY",
                                       Metrics=["UnblendedCost"], GroupBy=[{"Type": "DIMENSION", "Key": "SERVICE"}])
    services = {g["Keys"][0]: float(g["Metrics"]["UnblendedCost"]["Amount"])
                for g in by_service["ResultsByTime"][0]["Groups"]}
    assert set(services) == set(SERVICES)
    assert services[EC2] == pytest.approx(sum(model.daily_cost(a, EC2, dt.date(2025, 7, 1)) for a in accounts))


def test_demo_pages_500_groups_and_continues_a_day(demo):
    config, model = demo
    ce = assumed_client("ce", ACCOUNT_A)
    pages = all_pages(ce, TimePeriod={"Start": "2025-06-21", "End": "2025-07-05"}, Granularity="DAILY",
                      Metrics=["UnblendedCost"], GroupBy=[{"Type": "DIMENSION", "Key": "LINKED_ACCOUNT"},
                                                          {"Type": "DIMENSION", "Key": "SERVICE"}])
    sizes = [sum(len(r["Groups"]) for r in p["ResultsByTime"]) for p in pages]
    assert sizes == [PAGE_SIZE, 14 * 45 - PAGE_SIZE]  # 630 groups over two pages
    assert pages[0]["ResultsByTime"][-1]["TimePeriod"] == pages[1]["ResultsByTime"][0]["TimePeriod"]
    total = sum(float(g["Metrics"]["UnblendedCost"]["Amount"]) for p in pages for r in p["ResultsByTime"]
                for g in r["Groups"])
    expected = sum(day_total(model, (ACCOUNT_A, ACCOUNT_B, ACCOUNT_C), dt.date(2025, 6, 21) + dt.timedelta(days=n))
                   for n in range(14))
    assert total == pytest.approx(expected)


def test_demo_member_accounts_see_only_themselves_and_errors_are_validation(demo):
    ce = assumed_client("ce", ACCOUNT_B)
    reply = ce.get_cost_and_usage(TimePeriod={"Start": "2025-07-01", "End": "2025-07-02"}, Granularity="DAILY",
                                  Metrics=["UnblendedCost"], GroupBy=[{"Type": "DIMENSION", "Key": "LINKED_ACCOUNT"}])
    assert [g["Keys"] for g in reply["ResultsByTime"][0]["Groups"]] == [[ACCOUNT_B]]
    with pytest.raises(ce.exceptions.ClientError, match="ValidationException"):
        ce.get_cost_and_usage(TimePeriod={"Start": "2025-07-02", "End": "2025-07-01"}, Granularity="DAILY",
                              Metrics=["UnblendedCost"])


def test_demo_forecast_and_undo(moto, tmp_path):
    config = config_for(tmp_path, accounts=(ACCOUNT_A, ACCOUNT_B, ACCOUNT_C))
    undo = install_cost_model(config, DEMO_NOW, clock=lambda: DEMO_NOW)
    ce = assumed_client("ce", ACCOUNT_A)
    reply = ce.get_cost_forecast(TimePeriod={"Start": "2025-07-20", "End": "2025-08-01"},
                                 Metric="UNBLENDED_COST", Granularity="MONTHLY")
    model = CostModel(config)
    rest = sum(day_total(model, (ACCOUNT_A, ACCOUNT_B, ACCOUNT_C), dt.date(2025, 7, d)) for d in range(20, 32))
    assert float(reply["Total"]["Amount"]) == pytest.approx(rest)
    with pytest.raises(ce.exceptions.ClientError, match="ValidationException"):
        ce.get_cost_forecast(TimePeriod={"Start": "2025-07-01", "End": "2025-08-01"},
                             Metric="UNBLENDED_COST", Granularity="MONTHLY")
    undo()
    with pytest.raises(NotImplementedError):
        ce.get_cost_forecast(TimePeriod={"Start": "2025-07-20", "End": "2025-08-01"},
                             Metric="UNBLENDED_COST", Granularity="MONTHLY")
    assert ce.get_cost_and_usage(TimePeriod={"Start": "2025-07-01", "End": "2025-07-02"}, Granularity="DAILY",
                                 Metrics=["UnblendedCost"])["ResultsByTime"] == []  # moto's own again


def test_demo_forecast_feeds_the_month_end_metric(demo):
    config, model = demo
    source, _ = cost_source(config, now=DEMO_NOW)
    assert source.refresh()
    accounts = (ACCOUNT_A, ACCOUNT_B, ACCOUNT_C)
    # July 1..19 complete, plus the model's forecast of July 20..31
    expected = sum(day_total(model, accounts, dt.date(2025, 7, d)) for d in range(1, 32))
    assert value(scrape(source), "polo_cost_month_forecast_usd", method="cost_explorer") == pytest.approx(expected)


def test_demo_in_a_threaded_moto_server(aws_env, tmp_path):
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    try:
        config = make_config(accounts=(ACCOUNT_A, ACCOUNT_B), state_dir=str(tmp_path / "state"),
                             aws={"max_attempts": 1, "endpoint_url": endpoint},
                             costs={"account": ACCOUNT_A}, budget={"golden_date": "2025-07-10"})
        undo = install_cost_model(config, DEMO_NOW, clock=lambda: DEMO_NOW)
        try:
            source, _ = cost_source(config, now=DEMO_NOW)
            assert source.refresh()
            m = scrape(source)
            model = CostModel(config)
            assert value(m, "polo_cost_daily_usd", **svc(ACCOUNT_B, S3)) == pytest.approx(
                model.daily_cost(ACCOUNT_B, S3, dt.date(2025, 7, 19)))
            assert value(m, "polo_cost_month_forecast_usd", method="cost_explorer") is not None
        finally:
            undo()
    finally:
        requests.post(f"{endpoint}/moto-api/reset")
        server.stop()


def test_requests_per_day_at_default_settings(moto, tmp_path, capsys):
    """The Cost Explorer bill of a day of refreshes every 6 h over 16 accounts x 15 services
    (run with -s to see the numbers; docs/costs.md quotes them)."""
    config = replace(load_config(example_config_path()), state_dir=str(tmp_path / "state"))
    clock = [DEMO_NOW]
    undo = install_cost_model(config, DEMO_NOW, clock=lambda: clock[0])
    access = AwsAccess(config.aws, home_region="us-east-1")
    source = CostSource(config, access, now=lambda: clock[0])
    assert source.refresh()
    first = sum(source.counter.snapshot().values())
    per_refresh = []
    for _ in range(4):  # 12:00, 18:00, 00:00 (a new day: a new forecast), 06:00
        clock[0] += dt.timedelta(seconds=config.costs.refresh_interval)
        before = sum(source.counter.snapshot().values())
        assert source.refresh()
        per_refresh.append(sum(source.counter.snapshot().values()) - before)
    undo()
    with capsys.disabled():
        print(f"\nfirst run: {first} requests; then per refresh: {per_refresh}; a day: {sum(per_refresh)}")
    # the first refresh of a day asks the window (4 days, 2 pages) and the forecast; the others
    # only yesterday and today (1 page)
    assert per_refresh == [1, 1, 3, 1]
    assert sum(per_refresh) <= 6
