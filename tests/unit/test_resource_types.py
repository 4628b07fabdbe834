"""A resource type lives in one place: its collector's module declares it, and every list of
types (config, sweep, prices, gauges, rules, console links, the diagram) derives from that; the
alert rules name only cleanup actions that exist."""
from __future__ import annotations

import re
from pathlib import Path

from polo.actions.rules import RULES, TAGGABLE_TYPES
from polo.collectors import BY_NAME, RESOURCE_TYPES
from polo.prices.pricing import PRICED_TYPES
from polo.render.service_gauges import GAUGES

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "exporter" / "polo"
SOURCES = [p for p in (*PACKAGE.rglob("*.py"), *(ROOT / "grafana" / "boards").rglob("*.py"))
           if "demo" not in p.relative_to(ROOT).parts]
# The yardstick: these types are named in their own module and, where a cleanup rule
# targets them, the rules module; nowhere else (a price kind such as ec2_instance_hourly or a
# metric such as polo_dynamodb_table_items is another name).
CHECKED = ("ec2_instance", "ebs_volume", "sagemaker_notebook", "ecr_repository", "dynamodb_table")


def files_naming(name: str) -> set[str]:
    word = re.compile(rf"(?<![A-Za-z0-9_]){name}(?![A-Za-z0-9_])")
    return {str(p.relative_to(ROOT)) for p in SOURCES if word.search(p.read_text())}


def test_each_checked_type_is_named_only_in_its_module_and_the_rules():
    rules = "exporter/polo/actions/rules.py"
    for name in CHECKED:
        own = f"exporter/polo/collectors/{BY_NAME[name].collector}.py"
        assert files_naming(name) <= {own, rules}, (name, files_naming(name) - {own, rules})


def test_the_lists_of_types_come_from_the_declarations():
    assert TAGGABLE_TYPES == tuple(t.name for t in RESOURCE_TYPES)  # every type Polo collects can be tagged
    assert set(PRICED_TYPES) == {t.name for t in RESOURCE_TYPES if t.price}
    assert {name for name, _gauge in GAUGES} == {t.name for t in RESOURCE_TYPES if t.gauges}
    assert {rule_type for rule in RULES for rule_type in rule.resource_types} <= set(BY_NAME)


def test_every_action_the_alerts_name_exists():
    actions = {rule.action for rule in RULES}
    matcher = re.compile(r'\baction\s*(?:=~|!~|!=|=)\s*\\?"([^"\\]*)')
    named = {}
    for path in sorted((ROOT / "alerting").rglob("*.yml")):
        for found in matcher.findall(path.read_text()):
            for action in found.split("|"):
                named.setdefault(action, path.name)
    assert named, "the alert rules name no action: is the matcher still right?"
    assert {a: f for a, f in named.items() if a not in actions} == {}
