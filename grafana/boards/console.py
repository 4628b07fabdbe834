"""The AWS console page of a resource, built in PromQL as a `console_url` label so a table row
can link to it (`${__data.fields.console_url}`) whatever its type and region."""
from __future__ import annotations

import re

from polo.collectors import RESOURCE_TYPES

# resource_type -> (page, resource_id pattern), as each type declares them (polo.collectors).
PAGES = {t.name: (t.console.page, t.console.id_pattern) for t in RESOURCE_TYPES if t.console}


def _fill(page: str, region: str, account_id: str, groups: list[str]) -> str:
    """Every placeholder in one pass, so a filled-in value is never filled again."""
    values = {"r": region, "account": account_id} | {str(n): g for n, g in enumerate(groups, start=1)}
    return re.sub(r"\{(r|account|\d+)\}", lambda placeholder: values[placeholder.group(1)], page)


def console_page(resource_type: str, region: str, account_id: str, resource_id: str) -> str:
    """The page for one resource, computed in Python: what the PromQL below must produce."""
    page, pattern = PAGES[resource_type]
    match = re.fullmatch(pattern, resource_id)
    assert match, (resource_type, resource_id)
    return _fill(page, region, account_id, list(match.groups()))


def with_console_url(expr: str) -> str:
    """`expr` (series carrying account_id, region, resource_type, resource_id) with a
    `console_url` label.

    label_join packs `region|account|type|id` into console_url; one label_replace per type then
    rewrites the packed value of its own type into the page (others do not match and pass)."""
    out = f'label_join({expr}, "console_url", "|", "region", "account_id", "resource_type", "resource_id")'
    for resource_type, (page, id_pattern) in sorted(PAGES.items()):
        groups = re.compile(id_pattern).groups
        replacement = _fill(page, "${1}", "${2}", ["${%d}" % (n + 3) for n in range(groups)])
        pattern = f"([^|]+)\\\\|([^|]+)\\\\|{resource_type}\\\\|{id_pattern}"
        out = f'label_replace({out}, "console_url", "{replacement}", "console_url", "{pattern}")'
    return out
