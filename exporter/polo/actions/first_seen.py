"""Polo's memory of when it first saw a resource in a condition ("unattached", "stopped", ...),
for the ages AWS does not report: it gives no detach time for a volume and no time for a load
balancer losing its targets.

A JSON file in `state_dir`, so ages survive restarts. Only `load` and `save` touch the disk:
they never raise, because losing this memory only makes findings wait one threshold longer,
which is no reason to stop exporting.
"""
from __future__ import annotations

import json
import logging
import math
from collections import Counter
from pathlib import Path
from typing import Mapping

from polo.atomic import write_atomically

log = logging.getLogger(__name__)

FILE_NAME = "first_seen.json"
VERSION = 1
FIELDS = ("account_id", "region", "resource_type", "resource_id", "condition")
Key = tuple[str, str, str, str, str]  # Resource.key + (condition,)


def load(path: str | Path, errors: Counter[str] | None = None) -> dict[Key, float]:
    """The saved memory; empty when the file is missing, and when it is corrupt (logged,
    counted in `errors["corrupt"]`, then rebuilt by the next save)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if data.get("version") != VERSION:
            raise ValueError(f"unknown version {str(data.get('version'))[:20]!r}")
        memory = {tuple(str(entry[f]) for f in FIELDS): float(entry["since"]) for entry in data["entries"]}
        if not all(math.isfinite(since) for since in memory.values()):
            raise ValueError("a time that is not a finite number")
        return memory  # type: ignore[return-value]  # tuples of len(FIELDS)
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:
        log.warning("ignoring unreadable first-seen memory %s (%s); starting afresh", path, type(exc).__name__)
        if errors is not None:
            errors["corrupt"] += 1
        return {}


def save(path: str | Path, memory: Mapping[Key, float], errors: Counter[str] | None = None) -> None:
    """Write atomically; a failure is logged, counted in `errors["write"]`, and the memory
    simply restarts next time."""
    entries = [dict(zip(FIELDS, key), since=since) for key, since in sorted(memory.items())]
    try:
        write_atomically(path, [json.dumps({"version": VERSION, "entries": entries}, indent=1)])
    except OSError as exc:
        log.warning("cannot save first-seen memory to %s: %s", path, exc)
        if errors is not None:
            errors["write"] += 1
