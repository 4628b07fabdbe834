"""polo-digest: a daily cost summary for Slack, read from Prometheus (docs/alerts.md, Daily
digest). Yesterday against the daily target, month to date against the budget pace, the
month-end forecast, the biggest movers by account and by service, the biggest savings, and a
chart of the last 30 days. Run it once a day (cron, a Kubernetes CronJob) after Polo's first
cost refresh of the day.

It reads only metrics of docs/metrics.md, never recording rules, so it works against any
Prometheus that scrapes Polo."""
from __future__ import annotations

import argparse
import calendar
import json
import logging
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from polo import __version__
from polo.atomic import write_atomically
from polo.slack.messages import MAX_BLOCKS, SlackMessage, clip, context, escape, section
from polo.slack.settings import SettingError, fail, read_secret, setup_logging

log = logging.getLogger(__name__)
PROGRAM = "polo-digest"
DAY = 86400
CHART_DAYS = 30
AVERAGE_DAYS = 7
TOP = 5
METHODS = {"cost_explorer": "Cost Explorer's forecast", "linear": "linear projection of month to date"}


class DigestError(Exception):
    """Prometheus could not answer, or has no Polo cost data: exit 1 with this line."""


class PrometheusAPI:
    def __init__(self, url: str, timeout: float = 60.0):
        self.url, self.timeout = url.rstrip("/"), timeout

    def _get(self, path: str, **params: object) -> dict:
        query = urllib.parse.urlencode(params)
        try:
            with urllib.request.urlopen(f"{self.url}/api/v1/{path}?{query}", timeout=self.timeout) as response:
                reply = json.loads(response.read())
        except urllib.error.HTTPError as err:
            try:
                reply = json.loads(err.read())
            except ValueError:
                raise DigestError(f"Prometheus {self.url}: HTTP {err.code}") from None
        except (OSError, ValueError) as err:
            raise DigestError(f"Prometheus {self.url}: {err}") from None
        if reply.get("status") != "success":
            raise DigestError(f"Prometheus {self.url}: {reply.get('errorType')}: {reply.get('error')}")
        return reply["data"]

    def query(self, expr: str, at: float) -> list[dict]:
        return self._get("query", query=expr, time=at)["result"]

    def scalar(self, expr: str, at: float) -> float | None:
        result = self.query(expr, at)
        return float(result[0]["value"][1]) if result else None

    def by_label(self, expr: str, label: str, at: float) -> dict[str, float]:
        return {r["metric"].get(label, ""): float(r["value"][1]) for r in self.query(expr, at)}

    def daily_by_label(self, expr: str, label: str, first: date, last: date) -> dict[str, dict[date, float]]:
        """`expr` evaluated at the last second of each day (where the backfilled daily samples
        sit, docs/costs.md), per value of `label`."""
        start, end = day_start(first) + DAY - 1, day_start(last) + DAY - 1
        data = self._get("query_range", query=expr, start=start, end=end, step=DAY)["result"]
        series: dict[str, dict[date, float]] = {}
        for result in data:
            values = series.setdefault(result["metric"].get(label, ""), {})
            for stamp, value in result["values"]:
                values[datetime.fromtimestamp(float(stamp), UTC).date()] = float(value)
        return series


def day_start(day: date) -> float:
    return calendar.timegm(day.timetuple())


@dataclass
class Mover:
    name: str
    day: float
    average: float

    @property
    def change(self) -> float:
        return self.day - self.average


@dataclass
class Digest:
    day: date  # the last complete day
    today: date
    cost: float
    daily_target: float | None
    monthly_target: float | None
    month_to_date: float | None
    previous_month: float | None
    forecast: float | None
    forecast_method: str
    account_movers: list[Mover] = field(default_factory=list)
    service_movers: list[Mover] = field(default_factory=list)
    savings: list[tuple[dict[str, str], float]] = field(default_factory=list)
    chart_days: list[date] = field(default_factory=list)
    chart_costs: list[float | None] = field(default_factory=list)


def movers(history: dict[str, dict[date, float]], latest: dict[str, float], day: date) -> list[Mover]:
    """`day`'s cost against the average of the AVERAGE_DAYS before it, biggest change in dollars
    first; a name without any earlier day is left out (no baseline to move from)."""
    window = [day - timedelta(days=n) for n in range(1, AVERAGE_DAYS + 1)]
    result = []
    for name in set(history) | set(latest):
        before = [history.get(name, {}).get(d) for d in window]
        known = [v for v in before if v is not None]
        if not known:
            continue
        result.append(Mover(name, latest.get(name, 0.0), sum(known) / len(known)))
    result.sort(key=lambda m: (-abs(m.change), m.name))
    return result[:TOP]


def collect(api: PrometheusAPI, now: float) -> Digest:
    day_stamp = api.scalar("max(polo_cost_last_complete_day_timestamp_seconds)", now)
    if day_stamp is None:
        raise DigestError("Prometheus has no polo_cost_last_complete_day_timestamp_seconds: "
                          "is Polo scraped, with costs enabled?")
    day = datetime.fromtimestamp(day_stamp, UTC).date()
    forecast = api.query("polo_cost_month_forecast_usd", now)
    first = day - timedelta(days=CHART_DAYS - 1)
    daily = "sum by ({0}) (last_over_time(polo_cost_daily_usd[1d]))"
    by_account = api.daily_by_label(daily.format("account"), "account", first, day - timedelta(days=1))
    by_service = api.daily_by_label(daily.format("service"), "service", first, day - timedelta(days=1))
    latest_account = api.by_label("sum by (account) (polo_cost_daily_usd)", "account", now)
    latest_service = api.by_label("sum by (service) (polo_cost_daily_usd)", "service", now)
    chart_days = [first + timedelta(days=n) for n in range(CHART_DAYS)]
    totals: list[float | None] = []
    for d in chart_days[:-1]:
        values = [series[d] for series in by_account.values() if d in series]
        totals.append(sum(values) if values else None)
    totals.append(sum(latest_account.values()))
    savings = [(r["metric"], float(r["value"][1]))
               for r in api.query(f"topk({TOP}, polo_action_monthly_savings_usd > 0)", now)]
    savings.sort(key=lambda s: -s[1])
    return Digest(
        day=day, today=datetime.fromtimestamp(now, UTC).date(), cost=sum(latest_account.values()),
        daily_target=api.scalar("max(polo_budget_daily_target_usd)", now),
        monthly_target=api.scalar("max(polo_budget_monthly_target_usd)", now),
        month_to_date=api.scalar("sum(polo_cost_month_to_date_usd)", now),
        previous_month=api.scalar("sum(polo_cost_previous_month_usd)", now),
        forecast=float(forecast[0]["value"][1]) if forecast else None,
        forecast_method=forecast[0]["metric"].get("method", "") if forecast else "",
        account_movers=movers(by_account, latest_account, day), service_movers=movers(by_service, latest_service, day),
        savings=savings, chart_days=chart_days, chart_costs=totals)


def usd(value: float) -> str:
    return f"-${-value:,.2f}" if value < 0 else f"${value:,.2f}"


def versus(value: float, reference: float | None, reference_name: str) -> str:
    if not reference:
        return f"{usd(value)} (no {reference_name} set)"
    share = value / reference - 1
    word = "over" if share > 0 else "under"
    icon = ":red_circle:" if share > 0 else ":large_green_circle:"
    return f"{usd(value)} against {reference_name} {usd(reference)}: {icon} {abs(share):.1%} {word}"


def mover_lines(title: str, items: list[Mover]) -> str:
    lines = [title]
    for m in items:
        arrow = ":arrow_up:" if m.change > 0 else ":arrow_down:"
        pct = f" ({m.change / m.average:+.0%})" if m.average else ""
        lines.append(f"{arrow} *{escape(m.name)}* {usd(m.day)}, {'+' if m.change >= 0 else '-'}"
                     f"{usd(abs(m.change))}{pct} on its 7-day average {usd(m.average)}")
    if not items:
        lines.append("_no earlier days to compare with_")
    return "\n".join(lines)


def build_message(d: Digest, prometheus_url: str) -> SlackMessage:
    blocks = [{"type": "header", "text": {"type": "plain_text", "text": f"Polo daily digest: {d.day:%A %d %B %Y}"}}]
    yesterday = versus(d.cost, d.daily_target, "the daily target")
    blocks.append(section(f"*Yesterday* ({d.day:%d %b}, all accounts): {yesterday}"))
    month_days = calendar.monthrange(d.today.year, d.today.month)[1]
    elapsed = d.today.day - 1  # month to date covers the complete days before today
    if elapsed == 0:
        previous = d.day.strftime("%B")
        text = f"*Month to date*: nothing yet, today is the 1st. *{previous}* closed at "
        if d.previous_month is None:
            text += "an unknown total"
        else:
            text += versus(d.previous_month, d.monthly_target, "the monthly target")
    elif d.month_to_date is None:
        text = "*Month to date*: no data"
    else:
        pace = d.monthly_target * elapsed / month_days if d.monthly_target else None
        text = (f"*Month to date* ({elapsed} of {month_days} days): "
                f"{versus(d.month_to_date, pace, 'the budget pace')}")
    blocks.append(section(text))
    if d.forecast is not None:
        method = METHODS.get(d.forecast_method, d.forecast_method or "unknown method")
        forecast = versus(d.forecast, d.monthly_target, "the monthly target")
        blocks.append(section(f"*Month-end forecast* ({escape(method)}): {forecast}"))
    blocks.append(section(mover_lines(
        "*Biggest movers by account* (yesterday against the average of the 7 days before)", d.account_movers)))
    blocks.append(section(mover_lines("*Biggest movers by service* (same comparison)", d.service_movers)))
    lines = ["*Biggest savings on the table* (a month, at list prices)"]
    for labels, value in d.savings:
        what = " ".join(x for x in (labels.get("resource_type"), labels.get("resource_id")) if x)
        lines.append(f":moneybag: {usd(value)}: `{escape(labels.get('action', '?'))}` {escape(what)} in "
                     f"*{escape(labels.get('account', '?'))}* ({escape(labels.get('region', '?'))}): "
                     f"{escape(labels.get('reason', ''))}")
    if not d.savings:
        lines.append("_no findings with savings_")
    blocks.append(section("\n".join(lines)))
    blocks.append(context(f"Daily costs are Cost Explorer's UTC days, as Polo exports them; "
                          f"read from {escape(prometheus_url)}. The 30-day chart is in the thread."))
    assert len(blocks) <= MAX_BLOCKS
    text = clip(f"Polo daily digest for {d.day}: {usd(d.cost)} yesterday", 3000)
    return SlackMessage(text, blocks)


def plain_text(message: SlackMessage) -> str:
    """The message as a terminal shows it (for --dry-run)."""
    parts = []
    for block in message.blocks:
        if block["type"] in ("header", "section"):
            parts.append(block["text"]["text"])
        elif block["type"] == "context":
            parts.extend(e["text"] for e in block["elements"])
    return "\n\n".join(parts).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&") + "\n"


def post(client, channel: str, message: SlackMessage, chart: bytes, day: date, record: Path) -> str:
    """The message, then the chart in its thread; the message's ts. `record` remembers, per
    channel, the day posted and whether its chart went too, so a retry by cron posts nothing
    twice: it only adds a chart that failed."""
    posted = _read_record(record)

    def remember(ts: str, slack_channel: str, chart_posted: bool) -> None:
        posted[channel] = {"day": str(day), "ts": ts, "channel": slack_channel, "chart": chart_posted}
        write_atomically(record, [json.dumps(posted)])

    done = posted.get(channel)
    if isinstance(done, dict) and done.get("day") == str(day) and isinstance(done.get("ts"), str):
        if done.get("chart"):
            log.info("the digest for %s was already posted to #%s (ts %s): nothing to do", day, channel, done["ts"])
            return done["ts"]
        ts, slack_channel = done["ts"], done.get("channel", channel)
    else:
        response = client.chat_postMessage(channel=channel, text=message.text, blocks=message.blocks)
        ts, slack_channel = response["ts"], response["channel"]
        remember(ts, slack_channel, chart_posted=False)
    client.files_upload_v2(channel=slack_channel, thread_ts=ts, file=chart,
                           filename=f"polo-costs-{day}.png", title=f"Daily AWS cost, 30 days to {day}",
                           alt_txt="Bar chart of daily AWS cost for the last 30 days against the daily target")
    remember(ts, slack_channel, chart_posted=True)
    return ts


def _read_record(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, RecursionError) as err:
        log.warning("%s unreadable (%s): posting as if it were empty", path, err)
        return {}
    return data if isinstance(data, dict) else {}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROGRAM, formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description="Post a daily AWS cost summary to Slack, read from Prometheus: yesterday against the "
                    "target, month to date against the budget, forecast, biggest movers and savings, and a "
                    "30-day chart. Run it once a day from cron.")
    parser.add_argument("--version", action="version", version=f"{PROGRAM} {__version__}")
    parser.add_argument("--prometheus-url", default="http://localhost:9090",
                        help="the Prometheus that scrapes Polo (also the base of the message's links)")
    parser.add_argument("--channel", help="Slack channel to post to (required unless --dry-run)")
    parser.add_argument("--slack-api-url", default="https://slack.com/api/", help="Slack Web API base URL")
    parser.add_argument("--record-file", default="polo-digest-posted.json",
                        help="remembers the day posted per channel, so a retried run posts nothing twice")
    parser.add_argument("--dry-run", action="store_true", help="print the message and write the chart locally")
    parser.add_argument("--chart-file", default=None,
                        help="where --dry-run writes the chart (default polo-digest-<day>.png)")
    parser.add_argument("--time", default=None, help="evaluate as of this Unix time (default now)")
    parser.add_argument("--log.level", dest="log_level", default="info", choices=["debug", "info", "warning", "error"],
                        help="level of the digest's own log lines")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.log_level)
    try:  # matplotlib is the [digest] extra: the slack image has it, the exporter's does not
        from polo.slack.chart import daily_cost_chart
    except ImportError as err:
        return fail(PROGRAM, f"the chart needs matplotlib ({err}): pip install 'polo[digest]' or use the "
                             "slack image (docker build --target slack)")
    try:
        now = float(args.time) if args.time else time.time()
    except ValueError:
        return fail(PROGRAM, f"--time: {args.time!r} is not a Unix time")
    token = ""
    if not args.dry_run:
        if not args.channel:
            return fail(PROGRAM, "--channel: required unless --dry-run")
        try:
            token = read_secret("SLACK_BOT_TOKEN")
        except SettingError as err:
            return fail(PROGRAM, str(err))
    try:
        digest = collect(PrometheusAPI(args.prometheus_url), now)
    except DigestError as err:
        print(f"{PROGRAM}: {err}", file=sys.stderr)
        return 1
    message = build_message(digest, args.prometheus_url)
    chart = daily_cost_chart(digest.chart_days, digest.chart_costs, digest.daily_target)
    if args.dry_run:
        path = Path(args.chart_file or f"polo-digest-{digest.day}.png")
        path.write_bytes(chart)
        sys.stdout.write(plain_text(message))
        print(f"\n(chart written to {path})")
        return 0
    from slack_sdk.errors import SlackApiError

    from polo.slack.delivery import make_client
    from polo.slack.relay_metrics import RelayMetrics

    client = make_client(args.slack_api_url, token, RelayMetrics(lambda: 0))
    try:
        ts = post(client, args.channel, message, chart, digest.day, Path(args.record_file))
    except SlackApiError as err:
        reason = err.response.get("error", err.response.status_code)
        print(f"{PROGRAM}: Slack refused the digest: {reason}", file=sys.stderr)
        return 1
    except OSError as err:
        print(f"{PROGRAM}: cannot reach Slack at {args.slack_api_url}: {err}", file=sys.stderr)
        return 1
    log.info("posted the digest for %s to #%s (ts %s)", digest.day, args.channel, ts)
    return 0


if __name__ == "__main__":
    sys.exit(main())
