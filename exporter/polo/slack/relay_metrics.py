"""The relay's own /metrics, rendered with Polo's text exposition (docs/metrics.md, Slack relay)."""
from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable

from polo.render.exposition import Family, label_string, render
from polo.web.server import ConnectionErrors

COUNTERS = {
    # name: (help, label name or None)
    "polo_relay_notifications_received_total": (
        "Notifications accepted from Alertmanager and queued, by group status.", "status"),
    "polo_relay_requests_rejected_total": ("Requests answered with a 4xx, by reason.", "reason"),
    "polo_relay_duplicates_ignored_total": (
        "Notifications ignored as duplicates of one accepted within the dedup window.", None),
    "polo_relay_stale_notifications_ignored_total": (
        "Firing notifications ignored because the group's message already shows those alerts resolved "
        "(a cluster delivered the resolve first).", None),
    "polo_relay_slack_messages_posted_total": ("Group messages posted (chat.postMessage).", None),
    "polo_relay_slack_messages_edited_total": ("Group messages edited in place (chat.update).", None),
    "polo_relay_slack_thread_replies_total": ("Thread replies posted under group messages.", None),
    "polo_relay_slack_retries_total": (
        "Slack calls retried, by reason: rate_limited (429, after Retry-After), "
        "unavailable (connection error or 5xx, with back-off).", "reason"),
    "polo_relay_delivery_failures_total": (
        "Failed deliveries of a queued notification, by outcome: "
        "retrying (kept in the queue) or dropped (Slack refused it for good).", "outcome"),
}
LABEL_VALUES = {  # exported as 0 from the start, so rate() and alerts see them at once
    "polo_relay_notifications_received_total": ("firing", "resolved"),
    "polo_relay_requests_rejected_total": ("unauthorized", "malformed", "unsupported_version",
                                           "too_large", "not_found", "length_required"),
    "polo_relay_slack_retries_total": ("rate_limited", "unavailable"),
    "polo_relay_delivery_failures_total": ("retrying", "dropped"),
}


class RelayMetrics:
    def __init__(self, queue_depth: Callable[[], int]):
        self._lock = threading.Lock()
        self._counts: dict[str, Counter] = {name: Counter() for name in COUNTERS}
        self._queue_depth = queue_depth
        for name, values in LABEL_VALUES.items():
            for value in values:
                self._counts[name][value] += 0
        self.last_delivery: float | None = None

    def inc(self, name: str, label: str = "", amount: int = 1) -> None:
        with self._lock:
            self._counts[name][label] += amount

    def value(self, name: str, label: str = "") -> int:
        with self._lock:
            return self._counts[name][label]

    def delivered(self, when: float) -> None:
        with self._lock:
            self.last_delivery = when

    def render(self, connection_errors: ConnectionErrors | None = None) -> bytes:
        families = []
        with self._lock:
            for name, (help_text, label) in COUNTERS.items():
                family = Family(name, "counter", help_text)
                counts = self._counts[name]
                if label is None:
                    family.add("", counts[""])
                else:
                    for value in sorted(counts):
                        family.add(label_string([label], [value]), counts[value])
                families.append(family)
            last = self.last_delivery
        depth = Family("polo_relay_queue_depth", "gauge", "Notifications queued on disk, not yet delivered to Slack.")
        depth.add("", self._queue_depth())
        families.append(depth)
        if last is not None:
            stamp = Family("polo_relay_last_delivery_timestamp_seconds", "gauge",
                           "When a queued notification was last delivered to Slack completely.")
            stamp.add("", last)
            families.append(stamp)
        if connection_errors is not None:
            families.append(connection_errors.family())
        return render(families).plain
