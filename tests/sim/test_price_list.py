"""The Price List source in the background, against the demo's moto Price List backend: every
priced type in regions the shipped table lacks, pagination, products without an on-demand
term, throttling and denial (cache, then table), the state file, the weekly refresh, and no
AWS call from a render."""
import json
from pathlib import Path

import pytest
import yaml

from support.common import use_fake_aws
from polo.config import parse_config
from polo.render.exposition import render
from polo.model import GIB, Resource, Snapshot
from polo.prices.price_list_source import FILE_NAME, PriceListSource
from polo.prices.pricing import PRICE_LIST, PRICED_TYPES, TABLE, PriceTable
from polo.prices.resource_costs import ResourceCostSource

REPO = Path(__file__).resolve().parents[2]
TABLE_PRICES = PriceTable.load()
NOW = 1_796_000_000.0
DAY = 86400.0


# --- against the demo's Price List backend --------------------------------------------------------

@pytest.fixture
def price_list(monkeypatch, tmp_path):
    """A PriceListSource over moto with the demo Price List, and a clock the test moves."""
    from moto import mock_aws

    from polo.aws.access import AwsAccess
    from polo.demo.price_list import install_price_list

    use_fake_aws(monkeypatch)
    data = yaml.safe_load((REPO / "polo.example.yml").read_text())
    data["state_dir"] = str(tmp_path)
    config = parse_config(data, "polo.yml")
    clock = [NOW]
    undo = install_price_list()
    with mock_aws():
        access = AwsAccess(config.aws, home_region="us-east-1")
        source = PriceListSource(config, access, PriceTable.load(), now=lambda: clock[0])
        yield source, clock, config, access
    undo()


def resources(region):
    """One resource of every priced type, as the collectors report them."""
    def r(resource_type, resource_class="", state="", size_gib=None, **details):
        return Resource("651774330118", region, resource_type, f"{resource_type}-1", state=state,
                        resource_class=resource_class, size_bytes=None if size_gib is None else size_gib * GIB,
                        details=details)

    return [r("ec2_instance", "m5.large", "running"),
            r("ebs_volume", "gp3", "in-use", 500, iops=6000, throughput=250),
            r("ebs_volume", "io2", "in-use", 100, iops=40000),
            r("ebs_snapshot", size_gib=100), r("elastic_ip"), r("nat_gateway", state="available"),
            r("load_balancer", "application"),
            r("rds_instance", "db.m5.large", "available", 100, engine="postgres", storage_type="gp3"),
            r("eks_cluster", "1.29", "ACTIVE"),
            r("elasticache_cluster", "cache.r6g.large", "available", engine="redis", nodes=2),
            r("opensearch_domain", "r6g.large.search", "active", 200, instance_count=2, volume_type="gp3"),
            r("sagemaker_endpoint", "ml.m5.large", "InService", variants=(("primary", "ml.m5.large", 2),)),
            r("sagemaker_notebook", "ml.t3.medium", "InService", 5),
            r("dynamodb_table", "PROVISIONED", "ACTIVE", 50, read_capacity_units=100, write_capacity_units=25,
              table_class="STANDARD"),
            r("ecr_repository", size_gib=40), r("cloudwatch_log_group", "STANDARD", size_gib=300)]


def snapshot_of(items):
    return Snapshot(taken_at=NOW, resources=tuple(items), tombstones=(), tasks={}, sweep_duration=1.0,
                    sweep_ok=True, last_success=NOW)


def settle(source, snapshot, cost_source):
    """Renders and fetches until no price is due, as the source's thread does."""
    for _round in range(5):
        render([*cost_source.families(snapshot), *source.families(snapshot)])
        if not source.fetch_due():
            return


@pytest.mark.parametrize("region", ["eu-west-1", "ap-southeast-2"])
def test_every_priced_type_is_priced_in_regions_the_table_lacks(price_list, region):
    from polo.demo.price_list import region_factor

    source, _clock, config, _access = price_list
    items = resources(region)
    assert {r.resource_type for r in items} == set(PRICED_TYPES)
    assert all(TABLE_PRICES.monthly_cost(r) is None for r in items)  # the gap the issue found
    costs = ResourceCostSource(config, source.table)
    settle(source, snapshot_of(items), costs)
    priced = {r.resource_type + ":" + r.resource_class: source.table.traced(r) for r in items}
    assert all(cost is not None and sources == {PRICE_LIST} for cost, sources in priced.values()), priced
    factor = region_factor(region)
    assert factor > 1
    hours = TABLE_PRICES.hours_per_month
    assert priced["ec2_instance:m5.large"][0] == pytest.approx(0.096 * hours * factor)
    assert priced["eks_cluster:1.29"][0] == pytest.approx(0.10 * hours * factor)
    # the table's us-east-1 formula applied to the region's prices: gp3 storage, IOPS, throughput
    us = TABLE_PRICES.monthly_cost(Resource("1", "us-east-1", "ebs_volume", "v", resource_class="gp3",
                                            size_bytes=500 * GIB, details={"iops": 6000, "throughput": 250}))
    assert priced["ebs_volume:gp3"][0] == pytest.approx(us * factor)
    assert priced["dynamodb_table:PROVISIONED"][0] == pytest.approx(
        (50 * 0.25 + (100 * 0.00013 + 25 * 0.00065) * hours) * factor)  # the paid tier, not the free one
    families = {f.name: f for f in costs.families(snapshot_of(items))}
    assert not families["polo_resource_price_missing"].samples
    assert {s[0] for s in families["polo_price_source_info"].samples}  # labelled per type


def test_one_fetch_round_finds_every_price_a_resource_needs(price_list):
    """Pricers ask for all their keys before giving up, so a gp3 volume's IOPS and throughput
    prices, an RDS instance's hours and an OpenSearch domain's storage are fetched in the same
    round as the first key, not one round (and one "no list price" warning) later."""
    source, _clock, config, _access = price_list
    costs = ResourceCostSource(config, source.table)
    snapshot = snapshot_of(resources("eu-west-1"))
    render([*costs.families(snapshot), *source.families(snapshot)])
    assert source.fetch_due() > 0
    render([*costs.families(snapshot), *source.families(snapshot)])
    assert source.due() == []
    assert not {f.name: f for f in costs.families(snapshot)}["polo_resource_price_missing"].samples


def test_a_cold_cache_asks_several_keys_at_once(price_list):
    """A first start needs dozens of keys, one query each: asked one after another they cost
    dozens of round trips before the first full render."""
    import threading
    import time

    source, _clock, config, access = price_list
    client = access.client(source.account, "pricing", source.settings.region)
    lock, in_flight, most = threading.Lock(), [0], [0]

    def started(**_):
        with lock:
            in_flight[0] += 1
            most[0] = max(most[0], in_flight[0])
        time.sleep(0.05)  # a round trip

    def ended(**_):
        with lock:
            in_flight[0] -= 1

    client.meta.events.register("before-call.pricing.GetProducts", started)
    client.meta.events.register("after-call.pricing.GetProducts", ended)
    costs = ResourceCostSource(config, source.table)
    render([*costs.families(snapshot_of(resources("eu-west-1"))), *source.families(snapshot_of([]))])
    assert source.fetch_due() >= 8
    assert most[0] > 1


def test_pagination_reads_every_page(price_list):
    source, _clock, _config, _access = price_list
    source.page_size = 1  # the snapshot family holds the snapshot price and the archive tier
    source.table.asked.add(("eu-west-1", "ebs_snapshot_gb_month"))
    source.families(snapshot_of([]))
    assert source.fetch_due() == 1
    assert source.requests["ok"] == 2
    assert source.table.price_list[("eu-west-1", "ebs_snapshot_gb_month")] > 0.05


def test_a_key_with_only_reserved_offers_is_cached_unpriced_and_the_table_answers(price_list):
    from polo.demo.price_list import catalogue

    source, _clock, _config, _access = price_list
    us = catalogue("us-east-1")
    us.add("AmazonEC2", "Compute Instance", "BoxUsage:x9.large", None, "Hrs", instanceType="x9.large",
           tenancy="Shared", preInstalledSw="NA", capacitystatus="Used", licenseModel="No License required",
           operatingSystem="Linux")
    try:
        key = ("us-east-1", "ec2_instance_hourly", "x9.large")
        source.table.asked.add(key)
        source.families(snapshot_of([]))
        assert source.fetch_due() == 1
        assert source.cache[key].price is None and key not in source.table.price_list
        assert source.due() == []  # not asked again before the refresh interval
    finally:
        us.products["AmazonEC2"] = [p for p in us.products["AmazonEC2"]
                                    if p["product"]["attributes"]["usagetype"] != "BoxUsage:x9.large"]


@pytest.mark.parametrize("code, result", [("ThrottlingException", "throttled"),
                                          ("AccessDeniedException", "denied")])
def test_an_unavailable_price_list_falls_back_to_the_cache_then_the_table(price_list, code, result):
    from polo.demo.price_list import refuse

    source, clock, config, access = price_list
    instance = Resource("1", "eu-west-1", "ec2_instance", "i-1", state="running", resource_class="m5.large")
    us_instance = Resource("1", "us-east-1", "ec2_instance", "i-2", state="running", resource_class="m5.large")
    costs = ResourceCostSource(config, source.table)
    settle(source, snapshot_of([instance]), costs)
    fetched = source.table.traced(instance)
    assert fetched[0] is not None and source.requests[result] == 0

    clock[0] += 8 * DAY  # stale: due again, and the API now fails
    refuse(code)
    costs.families(snapshot_of([instance, us_instance]))
    source.families(snapshot_of([instance, us_instance]))
    assert source.fetch_due() == 0
    assert source.requests[result] >= 1
    metrics = {f.name: f for f in source.families(snapshot_of([instance, us_instance]))}
    assert [value for _labels, value in metrics["polo_price_list_up"].samples] == [0]
    assert source.table.traced(instance) == fetched  # the cached price still answers
    assert source.table.traced(us_instance)[1] == {TABLE}  # never fetched: the table answers
    calls = source.requests[result]
    source.fetch_due()
    assert source.requests[result] == calls  # backing off, not retrying every render

    # a fresh process over the same state_dir has the cache, and the outage changes nothing
    restarted = PriceListSource(config, access, PriceTable.load(), now=lambda: clock[0])
    assert restarted.table.traced(instance) == fetched


def test_the_cache_file_survives_restarts_and_records_the_fetch_date(price_list):
    source, clock, config, access = price_list
    key = ("eu-west-1", "eks_cluster_hourly")
    source.table.asked.add(key)
    source.families(snapshot_of([]))
    source.fetch_due()
    saved = json.loads((Path(config.state_dir) / FILE_NAME).read_text())
    entry = next(e for e in saved["entries"] if e["key"] == list(key))
    assert entry["fetched"] == NOW and entry["fetched_date"] == "2026-11-30"
    restarted = PriceListSource(config, access, PriceTable.load(), now=lambda: clock[0])
    assert restarted.table.price_list[key] == source.table.price_list[key]
    restarted.table.asked.add(key)
    restarted.families(snapshot_of([]))
    assert restarted.due() == [] and restarted.fetch_due() == 0 and restarted.requests["ok"] == 0
    clock[0] += 6 * DAY
    assert restarted.due() == []
    clock[0] += 2 * DAY  # a week has passed: refreshed
    assert restarted.due() == [key]


@pytest.mark.parametrize("text", ["{not json", "[" * 100000, json.dumps({"version": 1, "entries": [
    {"key": ["eu-west-1", "eks_cluster_hourly"], "usd": float("nan"), "fetched": NOW}]})])
def test_a_corrupt_cache_is_counted_and_ignored(price_list, text):
    _source, clock, config, access = price_list
    (Path(config.state_dir) / FILE_NAME).write_text(text)
    source = PriceListSource(config, access, PriceTable.load(), now=lambda: clock[0])
    assert source.errors["corrupt"] == 1 and source.cache == {} and not source.table.price_list


def test_a_render_never_calls_aws(price_list):
    source, _clock, config, _access = price_list
    costs = ResourceCostSource(config, source.table)
    snapshot = snapshot_of(resources("eu-west-1"))
    for _ in range(3):
        render([*costs.families(snapshot), *source.families(snapshot)])
    assert sum(source.requests.values()) == 0
    assert source.due()  # the renders only marked what the fetcher must ask


def test_a_stopped_source_makes_no_request_and_hands_prices_back_to_the_table(price_list):
    """A reload turning the Price List off stops its source (polo.exporter.assemble)."""
    source, _clock, _config, _access = price_list
    source.table.asked.add(("eu-west-1", "ebs_snapshot_gb_month"))
    source.families(snapshot_of([]))
    assert source.fetch_due() == 1 and source.table.price_list
    source.table.asked.add(("eu-west-1", "eks_cluster_hourly"))
    source.families(snapshot_of([]))
    requests = sum(source.requests.values())
    source.stop()
    assert source.due() and source.fetch_due() == 0 and sum(source.requests.values()) == requests
    assert source.table.price_list == {}


def test_with_discovery_only_prices_wait_for_an_account(price_list):
    """organizations discovery with no static account: no Price List caller until the roster
    hands the source a config with accounts (it reconfigures every source then)."""
    from dataclasses import replace

    source, _clock, config, access = price_list
    empty = replace(config, accounts=(), costs=replace(config.costs, enabled=False, account=None))
    waiting = PriceListSource(empty, access, PriceTable.load())
    waiting.table.asked.add(("eu-west-1", "eks_cluster_hourly"))
    waiting.families(snapshot_of([]))
    assert waiting.fetch_due() == 0 and sum(waiting.requests.values()) == 0
    waiting.reconfigure(config)
    assert waiting.fetch_due() == 1


def test_each_finished_sweep_task_has_its_prices_wanted_before_the_sweep_ends(price_list):
    """A cold cache was filled only after the sweep was published: on a small estate the Price
    List queries took half as long again as the sweep. The keys a task's resources are priced
    by are wanted as the task ends, and a fetcher can ask for them while the sweep goes on."""
    from dataclasses import replace

    from polo.collectors import COLLECTORS
    from polo.sweep import Sweeper

    source, _clock, config, access = price_list
    volume = next(r for r in resources("eu-west-1") if r.resource_type == "ebs_volume")
    due_meanwhile = []

    def volumes(ctx):
        return (volume,)

    def later(ctx):
        due_meanwhile.append(set(source.due()))
        return ()

    config = replace(config, accounts=config.accounts[:1], regions=("eu-west-1",),
                     collectors=("ebs_volumes", "vpcs"), sweep=replace(config.sweep, workers=1, per_region_workers=1))
    collectors = {"ebs_volumes": replace(COLLECTORS["ebs_volumes"], collect=volumes, chain=2),
                  "vpcs": replace(COLLECTORS["vpcs"], collect=later)}
    Sweeper(config, access, collectors, found=source.found).run()
    assert due_meanwhile == [{("eu-west-1", "ebs_volume_gb_month", "gp3"), ("eu-west-1", "ebs_gp3_iops_month"),
                              ("eu-west-1", "ebs_gp3_throughput_mibps_month")}]


def test_after_the_first_rendered_sweep_the_render_alone_learns_the_keys(price_list):
    """Pricing every task's resources as it ends is for a cold start: once a sweep is rendered,
    each render asks for every key, and doing it twice a sweep would only cost CPU."""
    source, _clock, _config, _access = price_list
    volume = next(r for r in resources("eu-west-1") if r.resource_type == "ebs_volume")
    source.families(snapshot_of([]))
    source.found((volume,))
    assert source.due() == []


def test_once_publishes_prices_fetched_after_the_sweeps_own_publish(price_list, monkeypatch):
    """--once fetches prices while it sweeps: a fetch still running when the sweep publishes
    ends after it, and its prices belong in the output."""
    import time
    from dataclasses import replace

    from polo.cli import run_once
    from polo.collectors import COLLECTORS
    from polo.exporter import Exporter
    from polo.sweep import Sweeper

    source, _clock, config, access = price_list
    volume = next(r for r in resources("eu-west-1") if r.resource_type == "ebs_volume")
    config = replace(config, accounts=config.accounts[:1], regions=("eu-west-1",), collectors=("ebs_volumes",))
    exporter = Exporter(config, access, sources=[ResourceCostSource(config, source.table), source])
    exporter.sweeper = Sweeper(config, access, {"ebs_volumes": replace(COLLECTORS["ebs_volumes"],
                                                                       collect=lambda ctx: (volume,))},
                               found=exporter._found)
    fetch, publish, published = source._fetch, exporter.publish, []

    def publish_slowly():  # the sweep's publish: the fetch starts meanwhile, and ends after it
        if not published:
            time.sleep(0.3)
        published.append(True)
        publish()

    monkeypatch.setattr(exporter, "publish", publish_slowly)
    monkeypatch.setattr(source, "_fetch", lambda key: time.sleep(0.5) or fetch(key))
    run_once(exporter)
    text = b"".join(exporter.payload.iter_plain()).decode()
    assert 'polo_resource_price_missing{resource_type="ebs_volume"' not in text
    assert any(line.startswith("polo_resource_monthly_cost_usd{") and 'resource_type="ebs_volume"' in line
               for line in text.splitlines())
