"""Alertmanager's webhook payload (version "4"), checked field by field so a bad request gets a
precise 4xx instead of failing later in the worker."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

VERSION = "4"
STATUSES = ("firing", "resolved")


class PayloadError(ValueError):
    """The request is not a usable notification; `status` is the HTTP answer."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status, self.reason = status, reason


@dataclass(frozen=True)
class Alert:
    fingerprint: str
    status: str
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: str
    ends_at: str
    generator_url: str = ""

    @property
    def name(self) -> str:
        return self.labels.get("alertname", "alert")


@dataclass(frozen=True)
class Notification:
    receiver: str
    status: str
    group_key: str
    group_labels: dict[str, str]
    common_labels: dict[str, str]
    common_annotations: dict[str, str]
    external_url: str
    alerts: list[Alert]
    truncated_alerts: int = 0
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def dedup_key(self) -> str:
        """Identical for the copies an Alertmanager cluster delivers of one notification;
        different as soon as any alert's status or times differ."""
        alerts = sorted((a.fingerprint, a.status, a.starts_at, a.ends_at) for a in self.alerts)
        text = json.dumps([self.group_key, self.status, self.truncated_alerts, alerts])
        return hashlib.sha256(text.encode()).hexdigest()


def _str_map(value: Any, where: str) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise PayloadError(400, f"{where} must be an object of strings")
    return value


def _str(obj: dict, key: str, where: str, required: bool = True) -> str:
    value = obj.get(key, None if required else "")
    if not isinstance(value, str):
        raise PayloadError(400, f"{where}{key} must be a string")
    return value


def parse(body: bytes) -> Notification:
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise PayloadError(400, f"malformed JSON: {err}") from None
    except RecursionError:
        raise PayloadError(400, "malformed JSON: nested too deeply") from None
    return parse_data(data)


def parse_data(data: Any) -> Notification:
    if not isinstance(data, dict):
        raise PayloadError(400, "payload must be a JSON object")
    version = data.get("version")
    if version != VERSION:
        raise PayloadError(422, f"unsupported payload version {version!r} (expected {VERSION!r})")
    status = _str(data, "status", "")
    if status not in STATUSES:
        raise PayloadError(400, f"status must be firing or resolved, not {status!r}")
    raw_alerts = data.get("alerts")
    if not isinstance(raw_alerts, list) or not raw_alerts:
        raise PayloadError(400, "alerts must be a non-empty list")
    alerts = []
    for n, item in enumerate(raw_alerts):
        where = f"alerts[{n}]."
        if not isinstance(item, dict):
            raise PayloadError(400, f"alerts[{n}] must be an object")
        alert_status = _str(item, "status", where)
        if alert_status not in STATUSES:
            raise PayloadError(400, f"{where}status must be firing or resolved")
        alerts.append(Alert(
            fingerprint=_str(item, "fingerprint", where), status=alert_status,
            labels=_str_map(item.get("labels"), where + "labels"),
            annotations=_str_map(item.get("annotations", {}), where + "annotations"),
            starts_at=_str(item, "startsAt", where), ends_at=_str(item, "endsAt", where, required=False),
            generator_url=_str(item, "generatorURL", where, required=False)))
    truncated = data.get("truncatedAlerts", 0)
    if not isinstance(truncated, int) or isinstance(truncated, bool) or truncated < 0:
        raise PayloadError(400, "truncatedAlerts must be a non-negative integer")
    group_key = _str(data, "groupKey", "")
    if not group_key:
        raise PayloadError(400, "groupKey must not be empty")
    return Notification(
        receiver=_str(data, "receiver", "", required=False), status=status, group_key=group_key,
        group_labels=_str_map(data.get("groupLabels", {}), "groupLabels"),
        common_labels=_str_map(data.get("commonLabels", {}), "commonLabels"),
        common_annotations=_str_map(data.get("commonAnnotations", {}), "commonAnnotations"),
        external_url=_str(data, "externalURL", "", required=False),
        alerts=alerts, truncated_alerts=truncated, raw=data)
