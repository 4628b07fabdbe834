"""Counters of AWS API attempts for the self-metrics. Outside the AWS edge so that rendering
them needs no AWS SDK: the counting hook only reads what botocore hands it."""
from __future__ import annotations

import threading
from collections import Counter

from polo.errors import error_code


class ApiStats:
    """Thread-safe counters of AWS API attempts (retries included) and failed attempts."""

    def __init__(self):
        self._lock = threading.Lock()
        self.calls: Counter[tuple[str, str, str]] = Counter()   # (account_id, service, operation)
        self.errors: Counter[tuple[str, str, str, str]] = Counter()  # ... + error code

    def attach(self, register, account_id: str) -> None:
        """`register` is a session's event registration, e.g. botocore_session.register."""
        register("needs-retry", self._make_handler(account_id))

    def _make_handler(self, account_id: str):
        def on_attempt(operation=None, response=None, caught_exception=None, **_):
            if operation is None:
                return None
            key = (account_id, operation.service_model.service_name, operation.name)
            code = None
            if caught_exception is not None:
                code = error_code(caught_exception)
            elif response is not None and response[0].status_code >= 300:
                code = (response[1] or {}).get("Error", {}).get("Code") or f"HTTP{response[0].status_code}"
            with self._lock:
                self.calls[key] += 1
                if code:
                    self.errors[key + (code,)] += 1
            return None  # never decide about retries: botocore's retry handler does
        return on_attempt

    def drop(self, account_id: str) -> None:
        """Forget an account no longer swept here (it left, or moved shard): no ghost series."""
        with self._lock:
            for counter in (self.calls, self.errors):
                for key in [key for key in counter if key[0] == account_id]:
                    del counter[key]

    def snapshot(self) -> tuple[dict, dict]:
        with self._lock:
            return dict(self.calls), dict(self.errors)
