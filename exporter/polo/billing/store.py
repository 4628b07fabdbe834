"""Each billing period's totals on disk, so a period is read from S3 only when AWS rewrote it.

One JSON file per export, keyed by billing period, each period with the fingerprint of the
manifest its totals came from. The file also records which tag keys and cost categories were
aggregated: other ones (a changed `tags.labels`) make every period stale, not corrupt. Written
atomically; load and save never raise, problems are counted by reason as for the cost state.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

from polo.atomic import write_atomically
from polo.billing.totals import PeriodTotals

log = logging.getLogger(__name__)
VERSION = 2  # 2: allocation per account


@dataclass(frozen=True)
class Period:
    fingerprint: str     # sha256 of the manifest the totals came from
    delivered: float     # when AWS wrote that manifest (its S3 LastModified)
    totals: PeriodTotals


class BillingStore:
    def __init__(self, state_dir: str, export: str, fmt: str, keys: tuple[str, ...]):
        self.path = Path(state_dir) / f"billing-export-{export}-{fmt}.json"
        self.export, self.format, self.keys = export, fmt, keys
        self.periods: dict[str, Period] = {}
        self.errors: dict[str, int] = {"missing": 0, "corrupt": 0, "write": 0}

    def load(self) -> None:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            if raw.get("version") != VERSION or raw.get("export") != self.export or raw.get("format") != self.format:
                raise ValueError("not this version, export or format")
            if tuple(raw.get("keys", ())) != self.keys:
                log.info("billing state %s has other tag keys: every period is read again", self.path)
                return
            self.periods = {str(name): Period(str(p["fingerprint"]), float(p["delivered"]),
                                              PeriodTotals.from_json(p["totals"]))
                            for name, p in raw["periods"].items()}
        except FileNotFoundError:
            self.errors["missing"] += 1
            log.info("no billing state at %s yet: every period of the export is read once", self.path)
        except (OSError, ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:
            self.periods = {}
            self.errors["corrupt"] += 1
            log.warning("billing state %s is unreadable (%s): reading the export again", self.path,
                        type(exc).__name__)

    def save(self) -> None:
        text = json.dumps({"version": VERSION, "export": self.export, "format": self.format, "keys": list(self.keys),
                           "periods": {name: {"fingerprint": p.fingerprint, "delivered": p.delivered,
                                              "totals": p.totals.to_json()}
                                       for name, p in sorted(self.periods.items())}},
                          separators=(",", ":"))
        try:
            write_atomically(self.path, [text])
        except OSError as exc:
            self.errors["write"] += 1
            log.warning("cannot write billing state %s (%s): periods are read again after a restart",
                        self.path, exc)
