"""Print `name==X` for the named runtime dependencies, X being the lower bound pyproject.toml
declares, so CI can install exactly the oldest versions Polo claims to work with."""
import re
import sys
import tomllib
from pathlib import Path

dependencies = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())["project"]["dependencies"]
bounds = {m.group(1).lower(): m.group(2) for m in (re.match(r"^([A-Za-z0-9_.-]+)\s*>=\s*([0-9][^,;\s]*)", d) for d in dependencies) if m}
missing = [name for name in sys.argv[1:] if name.lower() not in bounds]
if missing:
    sys.exit(f"no lower bound in pyproject.toml for {', '.join(missing)}")
print(" ".join(f"{name}=={bounds[name.lower()]}" for name in sys.argv[1:]))
