"""Write Polo's Grafana dashboards (grafana/dashboards/*.json) from the Python in grafana/boards/.

    python grafana/generate.py            # regenerate the committed JSON
    python grafana/generate.py --check    # exit 1, naming the files that differ from the code

The JSON is what Grafana's file provisioning reads; it is generated, never edited by hand.
Output is deterministic: sorted keys, panel ids numbered in layout order.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from boards import (  # noqa: E402
    actions,
    analytics,
    budget,
    commitments,
    costs,
    diagram,
    exporter,
    overview,
    resources,
    showback,
)
from grafana_foundation_sdk.cog.encoder import JSONEncoder  # noqa: E402

MODULES = {"overview": overview, "resources": resources, "diagram": diagram, "costs": costs,
           "budget": budget, "showback": showback, "commitments": commitments, "actions": actions,
           "analytics": analytics, "exporter": exporter}
OUTPUT = HERE / "dashboards"


def render(name: str) -> str:
    board = json.loads(json.dumps(MODULES[name].build().build(), cls=JSONEncoder))
    for number, panel in enumerate(board["panels"], start=1):
        panel["id"] = number
    return json.dumps(board, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def rendered() -> dict[str, str]:
    """File name -> JSON text for every dashboard."""
    return {f"polo-{name}.json": render(name) for name in MODULES}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    parser.add_argument("--out", type=Path, default=OUTPUT, help="directory (default: grafana/dashboards)")
    args = parser.parse_args(argv)
    files = rendered()
    if args.check:
        stale = sorted(name for name, text in files.items()
                       if not (args.out / name).exists() or (args.out / name).read_text() != text)
        extra = sorted(p.name for p in args.out.glob("*.json") if p.name not in files)
        for name in stale + extra:
            print(f"{args.out / name}: differs from grafana/generate.py (run it to regenerate)", file=sys.stderr)
        return 1 if stale or extra else 0
    args.out.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (args.out / name).write_text(text)
    print(f"wrote {len(files)} dashboards to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
