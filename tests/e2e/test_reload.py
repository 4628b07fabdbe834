"""Live reload like Prometheus: SIGHUP and POST /-/reload re-read the config; a bad one is
refused with a logged reason and polo_config_last_reload_successful 0 while the old config keeps
running; a good one applies from the next sweep, and the inventory and cost state survive."""
import os
import signal
import time
import urllib.request

import yaml
from prometheus_client.parser import text_string_to_metric_families

from support.common import ACCOUNT_A, ACCOUNT_B, ACCOUNT_C
from polo.exporter import Exporter
from polo.config import load_config
from support.stack import REPO, start_exporter


def write_config(path, accounts=(ACCOUNT_A, ACCOUNT_B), collectors=("vpcs", "subnets"), **extra):
    data = {"accounts": [{"id": a, "name": f"acct{n}", "environment": "prod"} for n, a in enumerate(accounts)],
            "regions": ["us-east-1"], "collectors": list(collectors), **extra}
    path.write_text(yaml.safe_dump(data))


def samples(text, name):
    for family in text_string_to_metric_families(text):
        if family.name == name or family.name + "_total" == name:
            return family.samples
    return []


def value(text, name):
    [sample] = samples(text, name)
    return sample.value


def test_bad_config_is_refused_and_a_good_one_applies_with_the_inventory_kept(moto, tmp_path, caplog):
    path = tmp_path / "polo.yml"
    write_config(path, costs={"enabled": False})
    exporter = Exporter(load_config(path))
    exporter.sweep_once()
    inventory, started = exporter.inventory, value(exporter.payload.plain.decode(),
                                                  "polo_config_last_reload_success_timestamp_seconds")

    path.write_text("accounts: [\n")
    ok, reason = exporter.reload()
    assert not ok and reason.startswith(f"{path}: YAML syntax error")
    assert f"config reload refused, keeping the running config: {path}" in caplog.text
    text = exporter.payload.plain.decode()
    assert value(text, "polo_config_last_reload_successful") == 0
    assert value(text, "polo_config_last_reload_success_timestamp_seconds") == started
    exporter.sweep_once()  # the old config still runs
    assert {s.labels["collector"] for s in samples(exporter.payload.plain.decode(), "polo_collector_up")} == {
        "vpcs", "subnets"}

    write_config(path, accounts=(ACCOUNT_A, ACCOUNT_B, ACCOUNT_C), collectors=("vpcs", "security_groups"),
                 costs={"enabled": False}, sweep={"prune_window": "2h"})
    assert exporter.reload() == (True, "config reloaded")
    exporter.sweep_once()
    text = exporter.payload.plain.decode()
    assert value(text, "polo_config_last_reload_successful") == 1
    assert value(text, "polo_config_last_reload_success_timestamp_seconds") > started
    assert exporter.inventory is inventory and inventory.prune_window == 7200
    types = {(s.labels["account_id"], s.labels["resource_type"]) for s in samples(text, "polo_resource_info")}
    assert {t for _, t in types} == {"vpc", "security_group"}  # subnets' series end, no tombstones
    assert {a for a, _ in types} == {ACCOUNT_A, ACCOUNT_B, ACCOUNT_C}
    assert not samples(text, "polo_resource_deleted_timestamp_seconds")


def get(url, path, method="GET"):
    request = urllib.request.Request(url + path, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def wait_until(condition, timeout=120):
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        assert time.monotonic() < deadline, "condition not met"
        time.sleep(0.5)
    return result


def test_sighup_and_post_reload_on_the_real_cli_keep_cost_state(tmp_path):
    example = yaml.safe_load((REPO / "polo.example.yml").read_text())
    path = tmp_path / "polo.yml"
    accounts = example["accounts"][:2]
    base = {"accounts": accounts, "regions": ["us-east-1"], "collectors": ["vpcs", "ec2_instances"],
            "costs": {"account": accounts[0]["id"]}}
    path.write_text(yaml.safe_dump(base))
    exporter = start_exporter(tmp_path, "--config", str(path))
    try:
        metrics = lambda: get(exporter.url, "/metrics")[1]  # noqa: E731
        wait_until(lambda: samples(metrics(), "polo_cost_month_to_date_usd"))
        requests = sum(s.value for s in samples(metrics(), "polo_cost_explorer_requests_total"))

        path.write_text(yaml.safe_dump({**base, "collectors": ["vpcs", "no_such_collector"]}))
        status, body = get(exporter.url, "/-/reload", method="POST")
        assert status == 500 and "collectors[1]: unknown collector 'no_such_collector'" in body
        assert value(metrics(), "polo_config_last_reload_successful") == 0
        assert get(exporter.url, "/healthz")[0] == 200
        assert "config reload refused" in exporter.log.read_text()
        assert get(exporter.url, "/-/reload")[0] == 405 and get(exporter.url, "/metrics", "POST")[0] == 405
        assert value(metrics(), "polo_config_last_reload_successful") == 0  # a GET reloads nothing

        path.write_text(yaml.safe_dump({**base, "collectors": ["vpcs", "ec2_instances", "subnets"]}))
        os.kill(exporter.process.pid, signal.SIGHUP)
        wait_until(lambda: any(s.labels["collector"] == "subnets" for s in samples(metrics(), "polo_collector_up")))
        text = metrics()
        assert value(text, "polo_config_last_reload_successful") == 1
        assert samples(text, "polo_cost_month_to_date_usd")  # the cost state survived the reload
        assert sum(s.value for s in samples(text, "polo_cost_explorer_requests_total")) == requests
        types = {s.labels["resource_type"] for s in samples(text, "polo_resource_info")}
        assert types >= {"vpc", "ec2_instance", "subnet"}
        assert exporter.process.poll() is None
    finally:
        exporter.stop()


def test_a_reload_off_shard_0_stops_cost_explorer_reading_and_cost_series(moto, tmp_path):
    """Only shard 0 reads Cost Explorer: a replica reloaded to another shard index must not
    keep exporting cost series next to the new shard 0's (a duplicate organisation total)."""
    path = tmp_path / "polo.yml"
    write_config(path, collectors=("vpcs",))
    exporter = Exporter(load_config(path))
    [costs] = [s for s in exporter.sources if type(s).__name__ == "CostSource"]
    assert samples(exporter.payload.plain.decode(), "polo_budget_monthly_target_usd")
    write_config(path, collectors=("vpcs",), shard={"index": 1, "total": 2})
    assert exporter.reload()[0]
    exporter.sweep_once()
    assert costs not in exporter.sources
    assert not samples(exporter.payload.plain.decode(), "polo_budget_monthly_target_usd")
