"""The Slack relay in-process against the fake Slack Web API: one message per group, edited in
place with thread replies, durable queue, duplicates, limits, rate limits, bad input."""
from __future__ import annotations

import logging
import re
import subprocess
import time

import pytest
from support.common import require_binary
from support.fake_slack import FakeSlack
from support.stack import REPO
from support.relay import (
    RELAY_TOKEN,
    SLACK_TOKEN,
    alert,
    get,
    payload,
    post,
    start_relay,
)

CHANNEL = "polo-prod"


@pytest.fixture
def slack():
    fake = FakeSlack(token=SLACK_TOKEN)
    yield fake
    fake.stop()


@pytest.fixture
def relay(tmp_path, slack):
    running = start_relay(tmp_path / "state", slack.url)
    yield running
    running.stop()


def alerts_url(relay, channel=CHANNEL):
    return f"{relay.url}/alerts/{channel}"


def delivered(relay):
    """Every queued notification has been fully handled."""
    return relay.relay.queue.depth() == 0


def test_firing_group_posts_one_message_with_account_resource_dollars_and_links(relay, slack):
    body = payload([alert("a1"), alert("a2", resource_id="vol-0def", dollars="$80.00")])
    status, body = post(alerts_url(relay), body)
    assert (status, body) == (200, {"status": "queued"})
    [message] = slack.wait_for(lambda: slack.top_level(CHANNEL))
    text = message.block_text()
    assert "FIRING" in text and "2 firing" in text
    assert "prod (111111111111)" in text and "vol-0abc" in text and "vol-0def" in text
    assert "$412.50" in text and "$80.00" in text
    assert "https://grafana.example.com/d/polo-actions?var-account=prod" in text
    assert "https://github.com/example/polo/blob/main/docs/alerts.md#poloidleresourcecost" in text
    slack.wait_for(lambda: delivered(relay))
    assert slack.replies(message) == []  # everything fits: no overflow reply


def test_resolution_edits_the_same_message_and_replies_in_its_thread(relay, slack):
    post(alerts_url(relay), payload([alert("a1"), alert("a2", resource_id="vol-0def")]))
    [message] = slack.wait_for(lambda: slack.top_level(CHANNEL))
    post(alerts_url(relay), payload([alert("a1", status="resolved"), alert("a2", resource_id="vol-0def")]))
    slack.wait_for(lambda: message.edits)
    [reply] = slack.wait_for(lambda: slack.replies(message))
    assert "1 firing*, 1 resolved" in message.block_text()
    assert "1 resolved, 1 still firing" in reply.block_text() and "vol-0abc" in reply.block_text()
    post(alerts_url(relay), payload([alert("a2", status="resolved", resource_id="vol-0def")]))
    slack.wait_for(lambda: len(slack.replies(message)) == 2)
    assert "RESOLVED" in message.block_text()
    assert len(slack.top_level(CHANNEL)) == 1
    metrics = relay.relay.metrics
    assert metrics.value("polo_relay_slack_messages_posted_total") == 1
    assert metrics.value("polo_relay_slack_messages_edited_total") == 2
    assert metrics.value("polo_relay_slack_thread_replies_total") == 2


def test_a_group_firing_again_after_resolving_gets_a_new_message(relay, slack):
    post(alerts_url(relay), payload([alert("a1")]))
    post(alerts_url(relay), payload([alert("a1", status="resolved")]))
    post(alerts_url(relay), payload([alert("a1", starts_at="2026-12-01T05:00:00Z")]))
    first, second = slack.wait_for(lambda: len(slack.top_level(CHANNEL)) == 2 and slack.top_level(CHANNEL))
    assert "RESOLVED" in first.block_text() and "FIRING" in second.block_text()


def test_a_resolve_delivered_before_its_firing_is_not_reopened(relay, slack):
    """Alertmanager clusters can deliver a group's resolve first; the late firing is older."""
    post(alerts_url(relay), payload([alert("a1", status="resolved", starts_at="2026-12-01T02:00:00.25Z")]))
    [message] = slack.wait_for(lambda: slack.top_level(CHANNEL))
    post(alerts_url(relay), payload([alert("a1", starts_at="2026-12-01T02:00:00.25Z")]))
    slack.wait_for(lambda: delivered(relay))
    assert "RESOLVED" in message.block_text() and message.edits == [] and slack.replies(message) == []
    assert relay.relay.metrics.value("polo_relay_stale_notifications_ignored_total") == 1
    post(alerts_url(relay), payload([alert("a1", starts_at="2026-12-01T02:00:00.3Z")]))  # fires anew
    first, second = slack.wait_for(lambda: len(slack.top_level(CHANNEL)) == 2 and slack.top_level(CHANNEL))
    assert "FIRING" in second.block_text()


def test_cluster_duplicates_are_ignored_and_repeats_after_the_window_are_noted(tmp_path, slack):
    running = start_relay(tmp_path / "state", slack.url, dedup_window=1.0)
    try:
        body = payload([alert("a1")])
        assert post(alerts_url(running), body) == (200, {"status": "queued"})
        assert post(alerts_url(running), body) == (200, {"status": "duplicate"})  # the other peer's copy
        [message] = slack.wait_for(lambda: slack.top_level(CHANNEL))
        slack.wait_for(lambda: delivered(running))
        assert message.edits == [] and running.relay.metrics.value("polo_relay_duplicates_ignored_total") == 1
        time.sleep(1.1)  # repeat_interval later, the same content is a repeat, not a duplicate
        assert post(alerts_url(running), body) == (200, {"status": "queued"})
        [reply] = slack.wait_for(lambda: slack.replies(message))
        assert "Repeat notification" in reply.block_text() and len(message.edits) == 1
    finally:
        running.stop()


def test_a_restarted_relay_keeps_editing_the_same_message(tmp_path, slack):
    state = tmp_path / "state"
    first = start_relay(state, slack.url)
    post(alerts_url(first), payload([alert("a1")]))
    [message] = slack.wait_for(lambda: slack.top_level(CHANNEL))
    slack.wait_for(lambda: delivered(first))
    first.stop()
    second = start_relay(state, slack.url)
    try:
        post(alerts_url(second), payload([alert("a1", status="resolved")]))
        slack.wait_for(lambda: message.edits and slack.replies(message))
        assert len(slack.top_level(CHANNEL)) == 1 and "RESOLVED" in message.block_text()
    finally:
        second.stop()


def test_nothing_is_lost_while_slack_is_down_even_across_a_restart(tmp_path, slack):
    state = tmp_path / "state"
    first = start_relay(state, slack.url)
    slack.down()
    for n in range(3):  # three groups, answered 200 although Slack is unreachable
        assert post(alerts_url(first), payload([alert(f"f{n}")], group_key=f"group-{n}"))[0] == 200
    slack.wait_for(lambda: first.relay.metrics.value("polo_relay_delivery_failures_total", "retrying") >= 1)
    assert first.relay.queue.depth() == 3
    first.stop()
    slack.up()
    second = start_relay(state, slack.url)
    try:
        messages = slack.wait_for(lambda: len(slack.top_level(CHANNEL)) == 3 and slack.top_level(CHANNEL))
        assert sorted(m.block_text().count("vol-0abc") > 0 for m in messages) == [True] * 3
        slack.wait_for(lambda: delivered(second))
        text = get(second.url + "/metrics")[1]
        assert "polo_relay_queue_depth 0" in text and "polo_relay_last_delivery_timestamp_seconds" in text
    finally:
        second.stop()


def test_rate_limits_are_retried_after_retry_after(relay, slack):
    slack.rate_limit(calls=1, retry_after=2)
    post(alerts_url(relay), payload([alert("a1")]))
    slack.wait_for(lambda: slack.top_level(CHANNEL))
    limited, retried = [c for c in slack.calls if c.method == "chat.postMessage"][:2]
    assert (limited.status, retried.status) == (429, 200)
    assert retried.at - limited.at >= 2.0
    assert relay.relay.metrics.value("polo_relay_slack_retries_total", "rate_limited") == 1


def test_a_large_group_stays_inside_slacks_limits_and_overflows_into_the_thread(relay, slack):
    long_text = "Unattached gp2 volume, billed every hour. " * 80  # ~3,400 characters: clipped
    many = [alert(f"m{n:03d}", resource_id=f"vol-{n:05d}", description=long_text) for n in range(130)]
    post(alerts_url(relay), payload(many))
    [message] = slack.wait_for(lambda: slack.top_level(CHANNEL))
    slack.wait_for(lambda: delivered(relay))
    assert len(message.blocks) == 50 and "83 more alerts in the thread" in message.block_text()
    replies = slack.replies(message)
    shown = message.block_text().count("*Resource*") + sum(r.block_text().count("*Resource*") for r in replies)
    assert len(replies) == 2 and shown == 130
    resolved = [dict(a, status="resolved", endsAt="2026-12-01T03:00:00Z") for a in many]
    post(alerts_url(relay), payload(resolved))
    slack.wait_for(lambda: delivered(relay) and message.edits)
    update = slack.replies(message)[2:]
    assert update and "130 resolved" in update[0].block_text()
    assert all(len(r.blocks) <= 50 for r in update)
    assert sum(r.block_text().count("resolved: *PoloIdleResourceCost*") for r in update) == 130
    assert relay.relay.metrics.value("polo_relay_delivery_failures_total", "dropped") == 0


@pytest.mark.parametrize("request_kind, expected", [
    ("no token", 401), ("wrong token", 401), ("malformed json", 400), ("not an object", 400),
    ("no alerts", 400), ("version 3", 422), ("wrong path", 404), ("bad channel", 404),
    ("nested 100k deep", 400),
])
def test_bad_requests_get_a_clear_4xx_and_a_log_line(relay, slack, caplog, request_kind, expected):
    good = payload([alert("a1")])
    url, token, body = alerts_url(relay), RELAY_TOKEN, good
    if request_kind == "no token":
        token = None
    elif request_kind == "wrong token":
        token = RELAY_TOKEN + "x"
    elif request_kind == "malformed json":
        body = b'{"version": "4", "alerts": ['
    elif request_kind == "not an object":
        body = b"[1, 2]"
    elif request_kind == "no alerts":
        body = dict(good, alerts=[])
    elif request_kind == "nested 100k deep":  # once a RecursionError: no answer, a traceback
        body = b"[" * 100_000 + b"]" * 100_000
    elif request_kind == "version 3":
        body = dict(good, version="3")
    elif request_kind == "wrong path":
        url = f"{relay.url}/webhook"
    elif request_kind == "bad channel":
        url = f"{relay.url}/alerts/..%2Fetc"
    with caplog.at_level(logging.WARNING, logger="polo"):
        status, answer = post(url, body, token=token)
    assert status == expected and answer["error"]
    assert any(str(expected) in r.getMessage() for r in caplog.records)
    assert relay.relay.queue.depth() == 0 and get(relay.url + "/healthz")[0] == 200  # still serving


def test_a_content_length_that_only_looks_numeric_is_a_counted_400(relay):
    """'²' passes str.isdigit() and fails int(): once a dropped connection and a traceback."""
    import socket

    before = relay.relay.metrics.value("polo_relay_requests_rejected_total", "malformed")
    with socket.create_connection(relay.server.server_address, timeout=10) as sock:
        sock.sendall(f"POST /alerts/{CHANNEL} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {RELAY_TOKEN}\r\n"
                     .encode() + b"Content-Length: \xb2\r\n\r\n")
        assert sock.recv(100).startswith(b"HTTP/1.0 400")
    assert relay.relay.metrics.value("polo_relay_requests_rejected_total", "malformed") == before + 1
    assert get(relay.url + "/healthz")[0] == 200


def test_oversize_and_unsized_bodies_are_refused_unread(relay):
    import http.client

    for headers, expected in (({"Content-Length": str(64 << 20)}, 413), ({"Transfer-Encoding": "chunked"}, 411)):
        connection = http.client.HTTPConnection("127.0.0.1", relay.server.server_address[1], timeout=10)
        connection.putrequest("POST", f"/alerts/{CHANNEL}")
        connection.putheader("Authorization", f"Bearer {RELAY_TOKEN}")
        for name, value in headers.items():
            connection.putheader(name, value)
        connection.endheaders()
        assert connection.getresponse().status == expected
        connection.close()
    assert get(relay.url + "/healthz")[0] == 200


def test_healthz_reports_the_worker_and_metrics_are_lint_clean(relay, slack, tmp_path):
    post(alerts_url(relay), payload([alert("a1")]))
    post(alerts_url(relay), payload([alert("a1")]), token="wrong")
    slack.wait_for(lambda: delivered(relay) and relay.relay.metrics.last_delivery)
    status, text = get(relay.url + "/metrics")
    assert status == 200
    for line in ('polo_relay_notifications_received_total{status="firing"} 1',
                 'polo_relay_requests_rejected_total{reason="unauthorized"} 1',
                 "polo_relay_slack_messages_posted_total 1", "polo_relay_queue_depth 0"):
        assert line in text
    assert RELAY_TOKEN not in text and SLACK_TOKEN not in text
    exported = set(re.findall(r"^# TYPE (polo_relay_\w+)", text, re.MULTILINE))
    catalogue = (REPO / "docs" / "metrics.md").read_text()
    assert exported == set(re.findall(r"`(polo_relay_[a-z_]+)`", catalogue))
    promtool = require_binary("promtool")
    lint = subprocess.run([promtool, "check", "metrics"], check=False, input=text, capture_output=True, text=True,
                          timeout=30)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    assert get(relay.url + "/healthz")[0] == 200
    relay.relay.delivery.stop()
    status, reason = get(relay.url + "/healthz")
    assert status == 503 and "worker" in reason


def test_tokens_never_reach_the_logs_even_at_debug(relay, slack, caplog):
    caplog.set_level(logging.DEBUG)  # every logger: ours, slack_sdk's, urllib's
    for name in ("polo", "slack_sdk", "urllib3", "urllib"):
        caplog.set_level(logging.DEBUG, logger=name)
    post(alerts_url(relay), payload([alert("a1")]))
    post(alerts_url(relay), payload([alert("a1")]), token=RELAY_TOKEN[:-1])
    [message] = slack.wait_for(lambda: slack.top_level(CHANNEL))
    slack.rate_limit(calls=1, retry_after=1)
    post(alerts_url(relay), payload([alert("a1", status="resolved")]))
    slack.wait_for(lambda: delivered(relay) and slack.replies(message))
    logged = caplog.text
    assert "chat.postMessage" in logged  # slack-sdk did log its requests at DEBUG
    assert RELAY_TOKEN not in logged and RELAY_TOKEN[:-1] not in logged and SLACK_TOKEN not in logged
