"""Relay throughput, end to end: notifications/s from Alertmanager-shaped POSTs into the fake
Slack, through the real `polo-slack-relay` console script (durable queue, fsync, slack-sdk).

    python -m bench.relay [groups] [updates per group] [client threads]

Each group gets one firing notification (a new message) and then updates in which one of its
two alerts alternates resolved/firing (an edit and a thread reply each). Prints the accept rate (HTTP 200s a second,
bounded by the fsyncs) and the delivery rate (notifications fully in Slack a second)."""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the fake Slack and helpers

from support.common import free_port  # noqa: E402
from support.fake_slack import FakeSlack  # noqa: E402
from support.relay import RELAY_TOKEN, SLACK_TOKEN, alert, payload, post  # noqa: E402
from support.stack import Service  # noqa: E402


def main() -> None:
    groups, updates, threads = (int(a) for a in (sys.argv[1:] + ["50", "4", "8"][len(sys.argv) - 1:])[:3])
    work = Path(tempfile.mkdtemp(prefix="relay-measure-"))
    slack = FakeSlack(token=SLACK_TOKEN)
    port = free_port()
    env = dict(os.environ, POLO_RELAY_TOKEN=RELAY_TOKEN, SLACK_BOT_TOKEN=SLACK_TOKEN)
    relay = Service("relay", [shutil.which("polo-slack-relay") or "polo-slack-relay", "--web.listen-address",
                              f"127.0.0.1:{port}", "--state-dir", str(work / "state"), "--slack-api-url", slack.url,
                              "--log.level", "warning"], work, port, env=env)
    try:
        relay.wait_until_ok("/healthz", 120)
        url = f"http://127.0.0.1:{port}/alerts/polo-prod"

        def send_group(g: int) -> None:
            for u in range(updates + 1):
                status = "firing" if u % 2 == 0 else "resolved"
                body = payload([alert(f"steady{g}"),  # keeps the group open: every update edits
                                alert(f"fp{g}", status=status, starts_at=f"2026-12-01T{u // 2:02d}:00:00Z")],
                               group_key=f"group-{g}")
                assert post(url, body)[0] == 200

        total = groups * (updates + 1)
        start = time.monotonic()
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(send_group, range(groups)))
        accepted = time.monotonic() - start
        expected_calls = groups * (1 + 2 * updates)
        slack.wait_for(lambda: sum(c.status == 200 for c in slack.calls) >= expected_calls, timeout=300)
        delivered = time.monotonic() - start
        print(f"{total} notifications ({groups} groups x {updates + 1}), {threads} client threads: "
              f"accepted in {accepted:.2f}s ({total / accepted:.0f}/s), all in Slack after {delivered:.2f}s "
              f"({total / delivered:.0f} notifications/s, {expected_calls / delivered:.0f} Slack calls/s)")
    finally:
        relay.stop()
        slack.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
