"""polo-slack-relay: receives Alertmanager's webhook notifications, queues them durably, and
keeps one Slack message per alert group up to date (docs/alerts.md, Slack relay).

The HTTP edge answers 200 only once a notification is on disk; the delivery worker
(polo.slack.delivery) does the Slack side, so Slack being down never makes Alertmanager wait
or lose anything."""
from __future__ import annotations

import argparse
import hmac
import json
import logging
import re
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from polo import __version__
from polo.config import ConfigError, parse_duration, split_listen_address
from polo.render.exposition import CONTENT_TYPE
from polo.slack import runbooks
from polo.slack.delivery import Delivery, make_client
from polo.slack.messages import Links
from polo.slack.payload import PayloadError, parse
from polo.slack.queue import DurableQueue
from polo.slack.relay_metrics import RelayMetrics
from polo.slack.settings import SettingError, fail, read_secret, setup_logging
from polo.slack.state import RelayState
from polo.web.server import Handler, Server, cannot_listen, listen
from polo.web.signals import SHUTDOWN_DEADLINE_SECONDS, Signals, exit_after
from polo.web.web_config import WebConfig, load_web_config, scheme

log = logging.getLogger(__name__)
PROGRAM = "polo-slack-relay"
MAX_BODY_BYTES = 4 << 20  # Alertmanager sends every alert of a group: 4 MiB is thousands of them
RUNBOOKS = "/runbooks/" + runbooks.PATH
CHANNEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$")  # Slack channel names and ids
DECIMAL = re.compile(r"^[0-9]{1,12}$")  # str.isdigit() also passes '²', which int() refuses


@dataclass
class Settings:
    listen_address: str
    state_dir: Path
    slack_api_url: str
    links: Links
    dedup_window: float
    relay_token: str
    slack_token: str


class Relay:
    """The relay's parts, wired together; `accept` is what the HTTP edge calls."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.queue = DurableQueue(settings.state_dir / "queue")
        self.state = RelayState(settings.state_dir, settings.dedup_window)
        self.metrics = RelayMetrics(self.queue.depth)
        for item in self.queue.items():  # accepted before a restart: still duplicates-to-be
            if isinstance(item, dict) and isinstance(item.get("key"), str):
                self.state.remember(item["key"], float(item.get("received", time.time())))
        client = make_client(settings.slack_api_url, settings.slack_token, self.metrics)
        self.delivery = Delivery(self.queue, self.state, client, settings.links, self.metrics)

    def authorized(self, header: str | None) -> bool:
        expected = f"Bearer {self.settings.relay_token}".encode()
        return hmac.compare_digest((header or "").encode(), expected)

    def accept(self, channel: str, body: bytes) -> bool:
        """Queue the notification durably; False if it duplicates a recent one. Raises
        PayloadError for a bad payload and OSError when it cannot be queued."""
        notification = parse(body)
        key = notification.dedup_key()
        received = time.time()
        item = {"channel": channel, "received": received, "key": key, "payload": notification.raw}
        if not self.state.accept(key, received, lambda: self.queue.put(item)):
            self.metrics.inc("polo_relay_duplicates_ignored_total")
            log.info("duplicate notification for group %s (%s) ignored", notification.group_key, notification.status)
            return False
        self.metrics.inc("polo_relay_notifications_received_total", notification.status)
        log.info("queued %s notification for #%s: group %s, %d alerts", notification.status, channel,
                 notification.group_key, len(notification.alerts))
        return True

    def health(self) -> tuple[bool, str]:
        if not self.delivery.alive():
            return False, "delivery worker not running"
        writable, reason = self.queue.writable()
        if not writable:
            return False, reason
        status = f"ok: {self.queue.depth()} queued"
        if self.delivery.failing_since is not None:
            since = time.strftime("%H:%M:%S", time.gmtime(self.delivery.failing_since))
            status += f"; Slack unavailable since {since} UTC"
        return True, status


def make_handler(relay: Relay) -> type[Handler]:
    class RelayHandler(Handler):
        server_version = f"{PROGRAM}/{__version__}"

        def do_GET(self):
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                self._send(200, relay.metrics.render(self.server.connection_errors), CONTENT_TYPE)
            elif path == "/healthz":
                healthy, reason = relay.health()
                self._send(200 if healthy else 503, (reason + "\n").encode())
            elif path == RUNBOOKS:  # what --runbook-base-url .../runbooks/ and the rules' paths make
                self._send(200, runbooks.page(), "text/html; charset=utf-8")
            elif path in ("/runbooks", "/runbooks/"):
                self._send(302, b"", headers={"Location": RUNBOOKS})
            else:
                self._reject(404, "not_found", f"no such page {path!r}")

        def do_POST(self):
            path = self.path.split("?", 1)[0]
            prefix, _, channel = path.partition("/alerts/")
            if prefix or not CHANNEL.match(channel):
                self._reject(404, "not_found", f"POST {path!r}: use /alerts/<channel>")
                return
            if not relay.authorized(self.headers.get("Authorization")):
                self._reject(401, "unauthorized", "missing or wrong bearer token",
                             {"WWW-Authenticate": 'Bearer realm="polo-slack-relay"'})
                return
            length_header = self.headers.get("Content-Length")
            if length_header is None:
                self._reject(411, "length_required", "Content-Length required")
                return
            if not DECIMAL.match(length_header):
                self._reject(400, "malformed", "Content-Length is not a decimal number")
                return
            length = int(length_header)
            if length > MAX_BODY_BYTES:
                self._reject(413, "too_large", f"body of {length} bytes exceeds {MAX_BODY_BYTES}")
                return
            body = self.rfile.read(length)
            try:
                queued = relay.accept(channel, body)
            except PayloadError as err:
                reason = "unsupported_version" if err.status == 422 else "malformed"
                self._reject(err.status, reason, err.reason)
                return
            except OSError as err:
                log.error("cannot queue a notification for #%s: %s", channel, err)
                self._send(503, json.dumps({"error": "cannot queue the notification"}).encode(), "application/json")
                return
            self._send(200, json.dumps({"status": "queued" if queued else "duplicate"}).encode(), "application/json")

        def _reject(self, status: int, reason: str, message: str, headers: dict[str, str] | None = None):
            relay.metrics.inc("polo_relay_requests_rejected_total", reason)
            log.warning("%s %s from %s: %d %s", self.command, self.path[:200], self.client_address[0], status, message)
            self.close_connection = True  # the body may be unread
            self._send(status, json.dumps({"error": message}).encode(), "application/json", headers)

        def _send(self, status: int, body: bytes, content_type: str = "text/plain; charset=utf-8",
                  headers: dict[str, str] | None = None):
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

    return RelayHandler


def make_server(relay: Relay, host: str, port: int, web_config: WebConfig | None = None) -> Server:
    """Bound now, so a taken port fails fast; the caller runs serve_forever. `web_config`
    (--web.config.file) adds TLS, and basic auth for everything but POST /alerts/, which
    carries Alertmanager's bearer token."""
    return listen(make_handler(relay), host, port, web_config, exempt=(("POST", "/alerts/"),))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROGRAM, formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description="Receive Alertmanager's webhook notifications, queue them durably and keep one Slack "
                    "message per alert group up to date (Block Kit, edited in place, thread replies).")
    parser.add_argument("--version", action="version", version=f"{PROGRAM} {__version__}")
    parser.add_argument("--web.listen-address", dest="listen_address", default="0.0.0.0:19882", metavar="HOST:PORT",
                        help="address to listen on for Alertmanager, /metrics and /healthz")
    parser.add_argument("--web.config.file", dest="web_config_file", metavar="FILE",
                        help="exporter-toolkit web config: TLS and basic auth (bcrypt)")
    parser.add_argument("--state-dir", default="/var/lib/polo-slack-relay",
                        help="queue and group -> message mapping (keep it on a persistent volume)")
    parser.add_argument("--slack-api-url", default="https://slack.com/api/", help="Slack Web API base URL")
    parser.add_argument("--grafana-url", default="http://localhost:3000", help="base of the alerts' dashboard links")
    parser.add_argument("--runbook-base-url", default=None,
                        help="base of the alerts' runbook links, e.g. this relay's own "
                             "http(s)://<external host>:19882/runbooks/ (without it the runbook path is shown as text)")
    parser.add_argument("--dedup-window", default="10m",
                        help="how long an accepted notification's copies are ignored (keep it below repeat_interval)")
    parser.add_argument("--log.level", dest="log_level", default="info", choices=["debug", "info", "warning", "error"])
    return parser


def load_settings(args: argparse.Namespace) -> Settings:
    """Raises SettingError naming the flag or variable at fault."""
    try:
        split_listen_address(args.listen_address)
    except ValueError as err:
        raise SettingError(f"--web.listen-address: {err}") from None
    try:
        dedup_window = parse_duration(args.dedup_window)
    except ValueError:
        raise SettingError(f"--dedup-window: bad duration {args.dedup_window!r} (use e.g. 90s, 10m)") from None
    for flag, url in (("--slack-api-url", args.slack_api_url), ("--grafana-url", args.grafana_url),
                      ("--runbook-base-url", args.runbook_base_url or "http://x")):
        if not url.startswith(("http://", "https://")):
            raise SettingError(f"{flag}: {url!r} is not an http(s) URL")
    state_dir = Path(args.state_dir)
    try:
        (state_dir / "queue").mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise SettingError(f"--state-dir: {state_dir}: {err.strerror}") from None
    return Settings(listen_address=args.listen_address, state_dir=state_dir, slack_api_url=args.slack_api_url,
                    links=Links(args.grafana_url, args.runbook_base_url), dedup_window=dedup_window,
                    relay_token=read_secret("POLO_RELAY_TOKEN"), slack_token=read_secret("SLACK_BOT_TOKEN"))


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.log_level)
    try:
        settings = load_settings(args)
        web_config = load_web_config(args.web_config_file) if args.web_config_file else None
    except (SettingError, ConfigError) as err:
        return fail(PROGRAM, str(err))
    host, port = split_listen_address(settings.listen_address)
    relay = Relay(settings)
    try:
        server = make_server(relay, host, port, web_config)
    except OSError as err:
        return cannot_listen(PROGRAM, "(command line)", "--web.listen-address", host, port, err)
    signals = Signals()
    relay.delivery.start()
    threading.Thread(target=server.serve_forever, name="polo-relay-http", daemon=True).start()
    log.info("listening on %s://%s:%d/ (state in %s, %d notifications queued)", scheme(web_config), host, port,
             settings.state_dir, relay.queue.depth())
    log.info("%s received: shutting down", signals.wait())
    exit_after(SHUTDOWN_DEADLINE_SECONDS, 0)  # a Slack call in flight ends with its timeout, or here
    signals.restore()
    server.shutdown()
    server.server_close()
    relay.delivery.stop(timeout=SHUTDOWN_DEADLINE_SECONDS - 1)  # the queue stays on disk for the next start
    return 0


if __name__ == "__main__":
    sys.exit(main())
