"""Slack Block Kit for alert groups, as pure functions: the group's main message (edited in
place on every notification) and the thread replies that say what changed, all kept inside
Slack's limits, with what does not fit in the main message moved into the thread."""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from polo.slack.payload import Alert, Notification

MAX_BLOCKS = 50  # blocks in one message
MAX_SECTION_TEXT = 3000  # characters in a section block's text
MAX_TEXT = 40000  # characters in a message's top-level text
MAX_HEADER = 150  # characters in a header block
DOLLARS = re.compile(r"\$\d[\d,]*(?:\.\d+)?")
ICONS = {"firing": ":red_circle:", "resolved": ":large_green_circle:"}
ZERO_TIME = "0001-01-01T00:00:00Z"


@dataclass(frozen=True)
class Links:
    grafana_url: str = "http://localhost:3000"
    runbook_base_url: str | None = None

    def dashboard(self, path: str) -> str | None:
        if not path:
            return None
        if path.startswith(("http://", "https://")):
            return path
        return self.grafana_url.rstrip("/") + "/" + path.lstrip("/")

    def runbook(self, path: str) -> str | None:
        if path.startswith(("http://", "https://")):
            return path
        if path and self.runbook_base_url:
            return self.runbook_base_url.rstrip("/") + "/" + path.lstrip("/")
        return None


@dataclass(frozen=True)
class SlackMessage:
    text: str  # notification and fallback text
    blocks: list[dict]


def escape(text: str) -> str:
    """Slack mrkdwn treats &, < and > as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def link(url: str, text: str) -> str:
    return f"<{url.replace('|', '%7C').replace('>', '%3E')}|{escape(text)}>"


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def short_time(stamp: str) -> str:
    """'2026-12-01T02:50:00.123Z' -> '2026-12-01 02:50 UTC'; anything unparsable as given."""
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        return stamp
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def section(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": clip(text, MAX_SECTION_TEXT)}}


def context(text: str) -> dict:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": clip(text, MAX_SECTION_TEXT)}]}


def where(alert: Alert) -> str:
    """Account and resource, from the identity labels the rules keep."""
    labels = alert.labels
    parts = []
    account = labels.get("account") or labels.get("account_id")
    if account:
        account_id = labels.get("account_id")
        suffix = f" ({account_id})" if account_id and account_id != account else ""
        parts.append(f"*Account* {escape(account + suffix)}")
    if labels.get("resource_id") or labels.get("resource_type"):
        resource = " ".join(x for x in (labels.get("resource_type"), labels.get("resource_id")) if x)
        parts.append(f"*Resource* `{escape(resource)}`")
    if labels.get("region"):
        parts.append(f"*Region* {escape(labels['region'])}")
    amounts = DOLLARS.findall(alert.annotations.get("description", ""))
    if amounts:
        parts.append(f"*Dollars* {', '.join(amounts)}")
    return " · ".join(parts)


def alert_section(alert: Alert, links: Links) -> dict:
    annotations = alert.annotations
    title = f"*{escape(alert.name)}*"
    if annotations.get("summary"):
        title += f" — {escape(annotations['summary'])}"
    refs = []
    dashboard = links.dashboard(annotations.get("dashboard", ""))
    if dashboard:
        refs.append(link(dashboard, "Dashboard"))
    runbook_path = annotations.get("runbook_url", "")
    runbook = links.runbook(runbook_path)
    if runbook:
        refs.append(link(runbook, "Runbook"))
    elif runbook_path:
        refs.append(f"Runbook: `{escape(runbook_path)}`")
    if alert.generator_url:
        refs.append(link(alert.generator_url, "Source"))
    refs.append(f"since {short_time(alert.starts_at)}")
    if alert.status == "resolved" and alert.ends_at and alert.ends_at != ZERO_TIME:
        refs.append(f"resolved {short_time(alert.ends_at)}")
    head = clip(f"{ICONS[alert.status]} {title}", 500)
    tail = [x for x in (where(alert), " · ".join(refs)) if x]
    room = MAX_SECTION_TEXT - len(head) - sum(len(x) + 1 for x in tail) - 1
    description = escape(annotations.get("description", ""))
    body = [clip(description, room)] if description and room > 20 else []
    return section("\n".join([head, *body, *tail]))  # a long description is clipped, never the links


def ordered(alerts: Iterable[Alert]) -> list[Alert]:
    """Firing before resolved, then by name and account: the order a reader scans."""
    return sorted(alerts, key=lambda a: (a.status != "firing", a.name, a.labels.get("account", ""),
                                         a.labels.get("resource_id", ""), a.fingerprint))


def group_title(n: Notification) -> str:
    names = sorted({a.name for a in n.alerts})
    name = names[0] if len(names) == 1 else f"{len(names)} alerts"
    scope = n.group_labels.get("account") or n.common_labels.get("account")
    return f"{name} ({scope})" if scope else name


def counts(n: Notification) -> tuple[int, int]:
    firing = sum(a.status == "firing" for a in n.alerts)
    return firing, len(n.alerts) - firing


def group_message(n: Notification, links: Links, updated: str) -> tuple[SlackMessage, list[Alert]]:
    """The main message for the group's current state, and the alerts that did not fit in it."""
    firing, resolved = counts(n)
    state = "FIRING" if n.status == "firing" else "RESOLVED"
    icon = "\U0001F525" if n.status == "firing" else "\u2705"
    title = clip(f"{icon} {state}: {group_title(n)}", MAX_HEADER)
    summary = [f"*{firing} firing*, {resolved} resolved"]
    labels = ", ".join(f"{k}={v}" for k, v in sorted(n.group_labels.items()))
    if labels:
        summary.append(f"group: {escape(labels)}")
    summary.append(f"updated {updated}")
    if n.external_url:
        summary.append(link(n.external_url, "Alertmanager"))
    blocks = [{"type": "header", "text": {"type": "plain_text", "text": title}}, context(" · ".join(summary))]
    alerts = ordered(n.alerts)
    room = MAX_BLOCKS - len(blocks)
    if len(alerts) > room or n.truncated_alerts:
        room -= 1  # for the note below
    shown, rest = alerts[:room], alerts[room:]
    blocks += [alert_section(a, links) for a in shown]
    notes = []
    if rest:
        notes.append(f"…and {len(rest)} more alerts in the thread")
    if n.truncated_alerts:
        notes.append(f"Alertmanager left out {n.truncated_alerts} alerts (max_alerts)")
    if notes:
        blocks.append(context(" · ".join(notes)))
    text = clip(f"{state}: {group_title(n)}: {firing} firing, {resolved} resolved", MAX_TEXT)
    return SlackMessage(text, blocks), rest


def snapshot(n: Notification) -> dict[str, str]:
    """What the message now shows, to compare the next notification with."""
    return {a.fingerprint: f"{a.status} {a.starts_at}" for a in n.alerts}


def is_stale(previous: dict[str, str], n: Notification) -> bool:
    """A firing notification with nothing newer than what the message already shows resolved:
    Alertmanager clusters can deliver a group's resolve before its firing, and that firing
    must not reopen the group (an alert that fires anew has a later startsAt)."""
    firing = [a for a in n.alerts if a.status == "firing"]
    if n.status != "firing" or not firing:
        return False
    for alert in firing:
        status, _, starts_at = previous.get(alert.fingerprint, "").partition(" ")
        if status != "resolved":
            return False
        seen, now = _moment(starts_at), _moment(alert.starts_at)
        if seen is None or now is None or now > seen:
            return False
    return True


RFC3339 = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$")


def _moment(stamp: str) -> tuple[datetime, int] | None:
    """RFC 3339 with up to nanoseconds (Go's format) as (whole second in UTC, nanoseconds)."""
    match = RFC3339.match(stamp)
    if match is None:
        return None
    whole, fraction, zone = match.groups()
    try:
        second = datetime.fromisoformat(whole + ("+00:00" if zone == "Z" else zone))
    except ValueError:
        return None
    return second.astimezone(UTC), int((fraction or "").ljust(9, "0"))


def change_lines(previous: dict[str, str], n: Notification) -> tuple[str, list[str]]:
    """A one-line summary of the change since `previous`, and one line per changed alert."""
    started, resolved, repeated = [], [], []
    for alert in ordered(n.alerts):
        before = previous.get(alert.fingerprint)
        if alert.status == "resolved":
            if before is None or before.startswith("firing"):
                resolved.append(alert)
        elif before == f"firing {alert.starts_at}":
            repeated.append(alert)
        else:
            started.append(alert)
    parts = [f"{len(x)} {word}" for x, word in ((resolved, "resolved"), (started, "started"),
                                                  (repeated, "still firing")) if x]
    head = "*Update*: " + (", ".join(parts) if parts else "no change")
    if not resolved and not started:
        head = f"*Repeat notification*: {len(repeated)} still firing, nothing changed"
    lines = []
    for label, group in (("resolved", resolved), ("started", started)):
        for alert in group:
            detail = " — ".join(x for x in (escape(alert.annotations.get("summary", "")), where(alert)) if x)
            lines.append(f"{ICONS[alert.status]} {label}: *{escape(alert.name)}*" + (f" — {detail}" if detail else ""))
    if repeated and (resolved or started):
        names = sorted({a.name for a in repeated})
        lines.append(f":repeat: still firing: {len(repeated)} ({escape(', '.join(names))})")
    return head, lines


def pack(head: str, lines: list[str]) -> list[SlackMessage]:
    """Lines packed into sections of at most MAX_SECTION_TEXT characters, and sections into
    messages of at most MAX_BLOCKS blocks; `head` opens the first and is repeated, marked
    "(continued)", on the others."""
    sections: list[str] = []
    current = ""
    for line in lines:
        line = clip(line, MAX_SECTION_TEXT)
        if current and len(current) + 1 + len(line) > MAX_SECTION_TEXT:
            sections.append(current)
            current = line
        else:
            current = f"{current}\n{line}" if current else line
    if current:
        sections.append(current)
    messages = []
    per_message = MAX_BLOCKS - 1
    for start in range(0, max(len(sections), 1), per_message):
        title = head if start == 0 else f"{head} (continued)"
        blocks = [section(title)] + [section(s) for s in sections[start:start + per_message]]
        messages.append(SlackMessage(clip(title, MAX_TEXT), blocks))
    return messages


def change_replies(previous: dict[str, str], n: Notification) -> list[SlackMessage]:
    return pack(*change_lines(previous, n))


def overflow_replies(rest: list[Alert], links: Links) -> list[SlackMessage]:
    """Alerts the main message had no room for, in full, as thread replies."""
    messages = []
    per_message = MAX_BLOCKS - 1
    for start in range(0, len(rest), per_message):
        chunk = rest[start:start + per_message]
        head = f"Alerts {start + 1}–{start + len(chunk)} of the {len(rest)} not shown above"
        messages.append(SlackMessage(head, [context(head)] + [alert_section(a, links) for a in chunk]))
    return messages
