"""The worker that drains the durable queue into Slack, one notification at a time in arrival
order (so a group's updates land in order). Slack being down, slow or rate limiting only delays
it: an item leaves the queue once Slack has taken all of it, or refused it for good."""
from __future__ import annotations

import http.client
import logging
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)

from polo.slack import messages
from polo.slack.messages import Links, SlackMessage
from polo.slack.payload import PayloadError, parse_data
from polo.slack.queue import DurableQueue
from polo.slack.relay_metrics import RelayMetrics
from polo.slack.state import GroupMessage, RelayState

log = logging.getLogger(__name__)
MAX_BACKOFF = 60.0
# Slack errors worth retrying: the same call may succeed later (or after the token is fixed).
RETRYABLE = {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout",
             "invalid_auth", "not_authed", "token_revoked", "token_expired", "account_inactive"}
GONE = {"message_not_found", "cant_update_message", "edit_window_closed"}


class Transient(Exception):
    """Slack could not take the call now; the item stays queued."""


class CountingRateLimitHandler(RateLimitErrorRetryHandler):
    """slack-sdk's 429 handler (sleeps Retry-After, then retries), counted and logged."""

    def __init__(self, metrics: RelayMetrics, max_retry_count: int = 5):
        super().__init__(max_retry_count=max_retry_count)
        self.metrics = metrics

    def prepare_for_next_attempt(self, *, state, request, response=None, error=None) -> None:
        if response is not None:
            retry_after = next((v[0] if isinstance(v, list) else v for k, v in response.headers.items()
                                if k.lower() == "retry-after"), "?")
            log.warning("Slack rate limited %s: retrying after %ss", request.url.rsplit("/", 1)[-1], retry_after)
            self.metrics.inc("polo_relay_slack_retries_total", "rate_limited")
        super().prepare_for_next_attempt(state=state, request=request, response=response, error=error)


def make_client(api_url: str, token: str, metrics: RelayMetrics, timeout: int = 30) -> WebClient:
    base = api_url if api_url.endswith("/") else api_url + "/"
    return WebClient(token=token, base_url=base, timeout=timeout, logger=logging.getLogger("slack_sdk.web"),
                     retry_handlers=[CountingRateLimitHandler(metrics), ConnectionErrorRetryHandler(max_retry_count=1)])


@dataclass
class Plan:
    """The Slack calls one queued notification needs; `done` survives transient failures, so a
    retry resumes after the last call that succeeded."""
    seq: int
    channel_name: str
    notification: Any
    done: int = 0
    thread: GroupMessage | None = None
    replies: list[SlackMessage] = field(default_factory=list)


class Delivery:
    def __init__(self, queue: DurableQueue, state: RelayState, client: WebClient, links: Links,
                 metrics: RelayMetrics):
        self.queue, self.state, self.client, self.links, self.metrics = queue, state, client, links, metrics
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.failing_since: float | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="slack-delivery", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout)

    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def run(self) -> None:
        plan: Plan | None = None
        attempt = 0
        while not self._stop.is_set():
            head = self.queue.peek(timeout=0.5)
            if head is None:
                continue
            seq, item = head
            if plan is None or plan.seq != seq:
                plan = self._plan(seq, item)
                attempt = 0
                if plan is None:
                    self.queue.remove(seq)
                    continue
            try:
                self._execute(plan)
            except Transient as err:
                attempt += 1
                delay = min(MAX_BACKOFF, 2.0 ** (attempt - 1)) * (0.5 + random.random() / 2)
                if self.failing_since is None:
                    self.failing_since = time.time()
                log.warning("Slack unavailable (%s): %d queued, retrying in %.1fs", err, self.queue.depth(), delay)
                self.metrics.inc("polo_relay_delivery_failures_total", "retrying")
                self.metrics.inc("polo_relay_slack_retries_total", "unavailable")
                self._stop.wait(delay)
                continue
            except SlackApiError as err:
                log.error("Slack refused notification %d for #%s for good (%s): dropped", seq, plan.channel_name,
                          err.response.get("error", err.response.status_code))
                self.metrics.inc("polo_relay_delivery_failures_total", "dropped")
            except Exception:  # a bug must not stop the worker nor drop the item
                log.exception("delivering notification %d failed", seq)
                self.metrics.inc("polo_relay_delivery_failures_total", "retrying")
                self._stop.wait(MAX_BACKOFF)
                continue
            else:
                self.metrics.delivered(time.time())
            self.failing_since = None
            self.queue.remove(seq)
            plan = None

    # -- one notification --------------------------------------------------------------------
    def _plan(self, seq: int, item: dict[str, Any]) -> Plan | None:
        try:
            notification = parse_data(item["payload"])
            channel = item["channel"]
        except (KeyError, TypeError, PayloadError) as err:
            log.error("queued item %d is unusable (%s): dropped", seq, err)
            self.metrics.inc("polo_relay_delivery_failures_total", "dropped")
            return None
        return Plan(seq, channel, notification)

    def _execute(self, plan: Plan) -> None:
        n = plan.notification
        if plan.done == 0:
            now = messages.short_time(time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
            main, rest = messages.group_message(n, self.links, now)
            previous = self.state.group(n.group_key)
            if previous is not None and previous.channel_name == plan.channel_name \
                    and messages.is_stale(previous.alerts, n):
                log.info("firing notification for group %s is older than the resolve shown: ignored", n.group_key)
                self.metrics.inc("polo_relay_stale_notifications_ignored_total")
                return
            if previous is not None and (previous.channel_name != plan.channel_name
                                         or (previous.resolved and n.status == "firing")):
                previous = None  # a new incident for this group, or another channel: a new message
            thread = None
            if previous is not None:
                thread = self._update(previous, main)
                if thread is not None:
                    plan.replies = messages.change_replies(previous.alerts, n)
            if thread is None:
                thread = self._post(plan.channel_name, main)
                plan.replies = messages.overflow_replies(rest, self.links)
            thread.alerts = messages.snapshot(n)
            thread.resolved = n.status == "resolved"
            thread.updated = time.time()
            plan.thread = thread
            plan.done = 1
            try:
                self.state.save_group(n.group_key, thread)
            except OSError as err:  # kept in memory; written with the next group that saves
                log.error("cannot save the group state: %s", err)
        assert plan.thread is not None
        while plan.done - 1 < len(plan.replies):
            reply = plan.replies[plan.done - 1]
            self._call("chat_postMessage", channel=plan.thread.channel, thread_ts=plan.thread.ts,
                       text=reply.text, blocks=reply.blocks)
            self.metrics.inc("polo_relay_slack_thread_replies_total")
            plan.done += 1

    def _post(self, channel_name: str, message: SlackMessage) -> GroupMessage:
        response = self._call("chat_postMessage", channel=channel_name, text=message.text, blocks=message.blocks)
        self.metrics.inc("polo_relay_slack_messages_posted_total")
        return GroupMessage(channel=response["channel"], ts=response["ts"], channel_name=channel_name)

    def _update(self, previous: GroupMessage, message: SlackMessage) -> GroupMessage | None:
        """The edited message, or None when it is gone from Slack (then a new one is posted)."""
        try:
            self._call("chat_update", channel=previous.channel, ts=previous.ts, text=message.text,
                       blocks=message.blocks)
        except SlackApiError as err:
            if err.response.get("error") in GONE:
                log.warning("group message %s in %s is gone (%s): posting a new one", previous.ts,
                            previous.channel, err.response.get("error"))
                return None
            raise
        self.metrics.inc("polo_relay_slack_messages_edited_total")
        return GroupMessage(channel=previous.channel, ts=previous.ts, channel_name=previous.channel_name)

    def _call(self, method: str, **kwargs) -> Any:
        try:
            return getattr(self.client, method)(**kwargs)
        except SlackApiError as err:
            status = err.response.status_code
            if status == 429 or status >= 500 or err.response.get("error") in RETRYABLE:
                raise Transient(f"{method}: HTTP {status} {err.response.get('error', '')}".strip()) from None
            raise
        except (OSError, http.client.HTTPException) as err:
            raise Transient(f"{method}: {type(err).__name__}: {err}") from None
