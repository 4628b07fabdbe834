"""Block Kit building for alert groups: links, escaping, and Slack's limits (pure functions)."""
from __future__ import annotations

from polo.slack.messages import (MAX_BLOCKS, MAX_SECTION_TEXT, Links, change_replies, group_message, pack,
                                 snapshot)
from polo.slack.payload import parse_data
from support.relay import alert, payload


def notification(*alerts):
    return parse_data(payload(list(alerts)))


def test_runbook_is_text_without_a_base_url_and_a_link_with_one():
    n = notification(alert("a1"))
    plain, _ = group_message(n, Links("http://grafana:3000/", None), "now")
    text = str(plain.blocks)
    assert "Runbook: `docs/alerts.md#poloidleresourcecost`" in text
    assert "<http://grafana:3000/d/polo-actions?var-account=prod|Dashboard>" in text
    linked, _ = group_message(n, Links("http://grafana:3000", "https://git.example.com/polo/blob/main/"), "now")
    assert "<https://git.example.com/polo/blob/main/docs/alerts.md#poloidleresourcecost|Runbook>" in str(linked.blocks)


def test_label_and_annotation_text_cannot_inject_slack_markup():
    hostile = alert("a1", account="<!channel> & co", description="<https://evil.example|click> costs $5")
    message, _ = group_message(notification(hostile), Links(), "now")
    text = str(message.blocks)
    assert "<!channel>" not in text and "&lt;!channel&gt; &amp; co" in text
    assert "<https://evil.example|click>" not in text and "*Dollars* $5" in text


def test_changes_name_resolved_started_and_repeated_alerts():
    before = notification(alert("a1"), alert("a2", resource_id="vol-2"))
    after = notification(alert("a1", status="resolved"), alert("a2", resource_id="vol-2"),
                         alert("a3", resource_id="vol-3"))
    [reply] = change_replies(snapshot(before), after)
    text = str(reply.blocks)
    assert "*Update*: 1 resolved, 1 started, 1 still firing" in text
    assert "resolved: *PoloIdleResourceCost*" in text and "started: *PoloIdleResourceCost*" in text
    [repeat] = change_replies(snapshot(after), after)
    assert "*Repeat notification*" in str(repeat.blocks)


def test_pack_keeps_every_line_within_the_block_and_section_limits():
    lines = [f"line {n} " + "x" * 400 for n in range(500)]
    messages = pack("*Update*: 500 resolved", lines)
    assert len(messages) > 1 and "(continued)" in messages[1].text
    for message in messages:
        assert len(message.blocks) <= MAX_BLOCKS
        assert all(len(b["text"]["text"]) <= MAX_SECTION_TEXT for b in message.blocks)
    packed = "\n".join(b["text"]["text"] for m in messages for b in m.blocks[1:])
    assert packed.split("\n") == lines
