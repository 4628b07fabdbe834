"""The demo's cleanup cases, swept by the real collectors over the simulated AWS: every rule
flags its case at the first sweep, and none of the look-alikes."""
import datetime as dt
from collections import defaultdict

import yaml

from polo.actions.rules import RULES
from polo.actions.source import ActionSource
from polo.aws.access import AwsAccess
from polo.cli import main
from polo.config import parse_config
from polo.demo.actions import build_action_cases
from polo.demo.estate import build_estate
from polo.demo.price_list import install_price_list
from polo.prices.price_list_source import PriceListSource
from polo.prices.pricing import PriceTable
from polo.prices.resource_costs import ResourceCostSource
from polo.exporter import Exporter

ACCOUNTS = [{"id": "111111111111", "name": "shop", "environment": "prod"},
            {"id": "222222222222", "name": "lab", "environment": "dev"},
            {"id": "333333333333", "name": "data", "environment": "dev"}]
REGIONS = ["us-east-1", "us-west-2"]


def demo_config(state_dir):
    return {"accounts": ACCOUNTS, "regions": REGIONS, "state_dir": str(state_dir),
            "costs": {"enabled": False}, "tags": {"required": ["team", "service"]}}


def test_every_rule_flags_its_case_and_spares_its_look_alikes(moto, tmp_path):
    config = parse_config(demo_config(tmp_path), "demo.yml")
    now = dt.datetime.now(dt.timezone.utc)
    build_estate(config.accounts, config.regions, now)
    cases = build_action_cases(config.accounts, config.regions, now, config.state_dir)

    undo_price_list = install_price_list()  # the new types are priced by the Price List only
    access = AwsAccess(config.aws, home_region=REGIONS[0])
    price_list = PriceListSource(config, access, PriceTable.load())
    actions = ActionSource(config, price_list.table)
    exporter = Exporter(config, access, [ResourceCostSource(config, price_list.table), actions, price_list])
    try:
        snapshot = exporter.sweep_once()
        assert price_list.fetch_due() > 0  # the prices that sweep needs, as the source's thread would
        exporter.publish()
    finally:
        undo_price_list()
    assert all(status.ok for status in snapshot.tasks.values())
    found = {(f.action, f.resource.account_id, f.resource.resource_id): f
             for f in actions.findings(snapshot)}

    flagged_in = defaultdict(set)
    for case in cases:
        finding = found.get((case.action, case.account_id, case.resource_id))
        assert (finding is not None) == case.flagged, case
        if case.flagged:
            flagged_in[case.action].add(case.account_id)
            assert finding.savings is not None, case  # every demo case is priced
            assert finding.savings > 0 or case.action == "missing_tags", case  # hygiene saves nothing
    assert set(flagged_in) == {rule.action for rule in RULES}
    assert all(len(accounts) >= 2 for accounts in flagged_in.values())  # several accounts
    for case in cases:  # every rule has look-alikes next to its cases
        assert any(c.action == case.action and not c.flagged for c in cases)
    assert b"polo_action_monthly_savings_usd{" in exporter.payload.plain
    assert b"polo_resource_monthly_cost_usd{" in exporter.payload.plain


def test_demo_cli_shows_every_action_at_the_first_sweep(tmp_path, capsysbinary):
    path = tmp_path / "demo.yml"
    path.write_text(yaml.safe_dump(demo_config(tmp_path / "state")))
    assert main(["--config", str(path), "--demo", "--once", "--log.level", "error"]) == 0
    exposition = capsysbinary.readouterr().out.decode()
    shown = {line.split('action="')[1].split('"')[0] for line in exposition.splitlines()
             if line.startswith("polo_action_info{")}
    assert shown == {rule.action for rule in RULES}
