"""What the relay remembers across restarts, in its state directory: for each alert group the
Slack message that shows it (channel id, ts) and the alerts it last showed, and the recent
notifications it has already accepted (so cluster duplicates are dropped)."""
from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from polo.atomic import write_atomically

log = logging.getLogger(__name__)
RESOLVED_GROUP_TTL = 7 * 86400.0  # a fully resolved group's message is forgotten after this


@dataclass
class GroupMessage:
    channel: str  # Slack channel id, as chat.postMessage returned it
    ts: str
    channel_name: str = ""  # the <channel> of /alerts/<channel> it was posted for
    alerts: dict[str, str] = field(default_factory=dict)  # fingerprint -> "status startsAt"
    resolved: bool = False
    updated: float = 0.0


class RelayState:
    def __init__(self, directory: str | Path, dedup_window: float):
        self.path = Path(directory) / "groups.json"
        self.dedup_path = Path(directory) / "dedup.json"
        self.dedup_window = dedup_window
        self._lock = threading.Lock()
        self.groups: dict[str, GroupMessage] = {
            key: GroupMessage(**value) for key, value in self._load(self.path).items()}
        self.seen: dict[str, float] = {k: float(v) for k, v in self._load(self.dedup_path).items()}

    @staticmethod
    def _load(path: Path) -> dict[str, Any]:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(data, dict):
                return data
            raise ValueError("not an object")
        except FileNotFoundError:
            return {}
        except (OSError, ValueError, TypeError) as err:
            log.warning("%s unreadable (%s): starting without it", path, err)
            return {}

    def group(self, key: str) -> GroupMessage | None:
        with self._lock:
            return self.groups.get(key)

    def save_group(self, key: str, message: GroupMessage) -> None:
        with self._lock:
            self.groups[key] = message
            now = time.time()
            for old in [k for k, g in self.groups.items() if g.resolved and now - g.updated > RESOLVED_GROUP_TTL]:
                del self.groups[old]
            write_atomically(self.path, [json.dumps({k: asdict(g) for k, g in self.groups.items()})])

    def accept(self, key: str, received: float, store) -> bool:
        """Atomically: False if `key` was accepted within the dedup window; else run
        `store()` (which queues the notification durably) and remember the key."""
        with self._lock:
            cutoff = received - self.dedup_window
            self.seen = {k: t for k, t in self.seen.items() if t >= cutoff}
            if key in self.seen:
                return False
            store()
            self.seen[key] = received
            write_atomically(self.dedup_path, [json.dumps(self.seen)])
            return True

    def remember(self, key: str, received: float) -> None:
        """Keys of items still queued at start-up (accepted, maybe not yet saved here)."""
        with self._lock:
            self.seen.setdefault(key, received)
