"""The package's layers: which part of polo may import which, no import cycle anywhere, and a
pure core (model, config, rules, prices, rendering) that imports no AWS code, so it stays fast
to import and testable without an AWS SDK; only the edge (aws/, collectors/, costs/, the Price
List source, accounts/) talks to AWS."""
from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path


PACKAGE = Path(__file__).resolve().parents[2] / "exporter" / "polo"
# Each part of polo (a top-level module or subpackage) and the parts it may import. The running
# exporter (exporter, web, cli) sits on the edge (aws, costs, accounts, sweep), which sits on the
# core; the resource types (collectors/) are declared without an AWS SDK, so the core reads their
# declarations while only the sweep runs their collectors; slack/ shares only the HTTP shell and
# the text format; only the command line chooses the demo, and nothing imports the command line.
ALLOWED = {
    "__main__": {"cli"},
    "__init__": set(),
    "atomic": set(),
    "config_yaml": set(),
    "errors": set(),
    "model": set(),
    "collectors": {"errors", "model"},
    "config": {"accounts", "collectors", "config_yaml"},
    "source": {"config", "model", "render"},
    "render": {"__init__", "aws", "collectors", "config", "model", "source"},
    "prices": {"atomic", "aws", "collectors", "config", "errors", "model", "render", "source"},
    "actions": {"atomic", "collectors", "config", "model", "prices", "render", "source"},
    "aws": {"config", "errors"},
    "accounts": {"aws", "config", "errors", "render"},
    "costs": {"atomic", "aws", "config", "errors", "render", "source"},
    "sweep": {"aws", "collectors", "config", "errors", "model"},
    "billing": {"atomic", "aws", "config", "costs", "errors", "model", "render", "source"},
    "exporter": {"accounts", "actions", "aws", "billing", "config", "costs", "model", "prices", "render", "source",
                 "sweep", "web"},
    "web": {"__init__", "config", "config_yaml", "render"},
    "slack": {"__init__", "atomic", "config", "render", "web"},
    "demo": {"actions", "collectors", "config", "costs", "model", "prices"},
    "cli": {"__init__", "billing", "config", "costs", "demo", "exporter", "prices", "web"},
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(("polo",) + (parts[:-1] if parts[-1] == "__init__" else parts))


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def imports(path: Path, top_level_only: bool) -> set[str]:
    """The polo modules `path` imports (`from polo.x import y` names polo.x.y when that is a
    module); top_level_only skips imports inside functions and `if TYPE_CHECKING:` blocks,
    which do not run when the module is imported."""
    tree = ast.parse(path.read_text())
    found = set()
    for node in tree.body if top_level_only else ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "polo":
            found |= {f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in MODULES else node.module
                      for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "polo"}
    return found


def part(module: str) -> str:
    return module.split(".")[1] if "." in module else "__init__"


def used_parts() -> dict[str, set[str]]:
    """Each part of polo and the other parts its modules import."""
    used: dict[str, set[str]] = defaultdict(set)
    for module, path in MODULES.items():
        used[part(module)] |= {part(i) for i in imports(path, top_level_only=False)} - {part(module)}
    return used


def test_each_part_imports_only_the_parts_it_may():
    extra = defaultdict(set)
    for module, path in MODULES.items():
        for imported in imports(path, top_level_only=False):
            if part(imported) != part(module) and part(imported) not in ALLOWED[part(module)]:
                extra[module].add(imported)
    assert not extra, dict(extra)
    assert set(ALLOWED) >= {part(m) for m in MODULES}, "a new part of polo: add it to ALLOWED"


def test_every_allowed_import_is_used():
    """A permission nobody uses hides a layer that moved: ALLOWED stays the map of what is."""
    used = used_parts()
    unused = {name: parts - used[name] for name, parts in ALLOWED.items() if parts - used[name]}
    assert not unused, unused


def test_architecture_doc_lists_the_allowed_imports():
    """docs/architecture.md's table is ALLOWED, written out for readers."""
    doc = (PACKAGE.parents[1] / "docs" / "architecture.md").read_text()
    rows = dict(re.findall(r"^\| `(\w+)` \| (.*) \|$", doc, re.MULTILINE))
    listed = {name: set(re.findall(r"`(\w+)`", imported)) for name, imported in rows.items()}
    assert listed == ALLOWED


def test_no_import_cycle():
    graph = {m: {i for i in imports(p, top_level_only=True) if i in MODULES} for m, p in MODULES.items()}
    state: dict[str, str] = {}

    def visit(module: str, trail: list[str]) -> None:
        state[module] = "open"
        for following in sorted(graph[module]):
            if state.get(following) == "open":
                raise AssertionError("import cycle: " + " -> ".join(trail[trail.index(following):] + [following]))
            if following not in state:
                visit(following, trail + [following])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])


def test_at_most_12_modules_directly_in_the_package():
    assert len(list(PACKAGE.glob("*.py"))) <= 12, sorted(p.name for p in PACKAGE.glob("*.py"))
