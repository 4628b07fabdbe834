"""The runbooks page the relay serves: every rule's runbook link lands on an anchor of it, and
nothing in the Markdown can inject markup."""
import re
from pathlib import Path

import yaml

from polo.slack import runbooks

RULES = Path(__file__).resolve().parents[2] / "alerting" / "rules"


def test_every_rules_runbook_link_lands_on_an_anchor_of_the_served_page():
    page = runbooks.page().decode()
    anchors = set(re.findall(r' id="([^"]+)"', page))
    links = [rule["annotations"]["runbook_url"] for path in RULES.glob("*.yml")
             for group in yaml.safe_load(path.read_text())["groups"] for rule in group["rules"]
             if "runbook_url" in rule.get("annotations", {})]
    assert len(links) > 15
    for link in links:
        path, _, anchor = link.partition("#")
        assert path == runbooks.PATH and anchor in anchors, link


def test_markdown_is_escaped_and_only_safe_links_are_links():
    page = runbooks.render("# A <b>\n\nx <script>alert(1)</script> [go](javascript:alert(1)) "
                           "[ok](#a-b) `<i>`\n\n| h |\n|---|\n| <img> |\n")
    assert "<script>" not in page and "<img>" not in page and "<b>" not in page and "<i>" not in page
    assert 'href="javascript' not in page and '<a href="#a-b">ok</a>' in page
    assert '<h1 id="a-b">A &lt;b&gt;</h1>' in page
