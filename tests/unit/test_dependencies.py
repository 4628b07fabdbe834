"""Every runtime dependency in pyproject.toml is imported by the code it ships: one that only the
tests or the benchmark use belongs in the `test` extra, not in every production install."""
import re
import tomllib
from pathlib import Path


REPO = Path(__file__).resolve().parents[2]
MODULE_OF = {"pyyaml": "yaml"}  # distributions whose import name is not their name


def test_every_runtime_dependency_is_imported_by_the_package():
    dependencies = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    sources = "\n".join(p.read_text() for p in (REPO / "exporter" / "polo").rglob("*.py"))
    unused = []
    for requirement in dependencies:
        name = re.match(r"[A-Za-z0-9_.-]+", requirement).group(0).lower()
        module = MODULE_OF.get(name, name.replace("-", "_"))
        if not re.search(rf"^\s*(import|from) {re.escape(module)}\b", sources, re.MULTILINE):
            unused.append(name)
    assert unused == []
