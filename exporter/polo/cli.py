"""polo-exporter's command line: the only place that decides between real AWS and the
simulated demo."""
from __future__ import annotations

import argparse
import contextlib
import functools
import datetime as dt
import gc
import importlib.util
import logging
import shutil
import sys
import tempfile
import threading
from dataclasses import replace
from importlib import resources
from typing import TYPE_CHECKING

from polo import __version__
from polo.config import Config, ConfigError, load_config, split_listen_address
from polo.web.server import ConnectionErrors, cannot_listen
from polo.web.signals import SHUTDOWN_DEADLINE_SECONDS, Signals, exit_after, exit_now, hold_reloads
from polo.web.web_config import WebConfig, load_web_config, scheme

if TYPE_CHECKING:  # the exporter (and boto3) load after main has SIGHUP in hand
    from polo.exporter import Exporter

log = logging.getLogger("polo")
SHUTDOWN_GRACE_SECONDS = 3.0  # for the sweeper to stop cleanly
EXIT_CONFIG = 2
# Allocations between two young-generation collections (CPython's default: 700). See below.
GC_YOUNG_THRESHOLD = 50_000


def example_config_path() -> str:
    return str(resources.files("polo") / "polo.example.yml")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="polo-exporter", formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description="Sweep every account and region of an AWS estate in the background with read-only "
                    "calls, and serve what runs, what it costs and what to clean up as Prometheus metrics.",
        epilog="Reload the config with SIGHUP or POST /-/reload. Metrics: docs/metrics.md.")
    parser.add_argument("--version", action="version", version=f"polo-exporter {__version__}")
    parser.add_argument("--config", help="YAML config file (with --demo: the bundled example)")
    parser.add_argument("--web.listen-address", dest="listen_address", metavar="HOST:PORT",
                        help="address to serve /metrics on (overrides the config's web.listen_address)")
    parser.add_argument("--web.config.file", dest="web_config_file", metavar="FILE",
                        help="exporter-toolkit web config: TLS and basic auth (bcrypt) for every endpoint")
    parser.add_argument("--demo", action="store_true",
                        help="run against an in-process simulated AWS (moto): no credentials, no network")
    parser.add_argument("--once", action="store_true",
                        help="run one sweep, print the exposition, exit 1 if any collector failed")
    parser.add_argument("--log.level", dest="log_level", default="info",
                        choices=["debug", "info", "warning", "error"], help="level of Polo's own log lines")
    sub = parser.add_subparsers(dest="command")
    backfill = sub.add_parser("backfill", help="write daily cost history as OpenMetrics for promtool")
    backfill.add_argument("--since", required=True, help="first day, YYYY-MM-DD")
    backfill.add_argument("--out", required=True, help="OpenMetrics file to write")
    return parser


def load(args, demo_state_dir: str | None = None) -> Config:
    """The config from --config (or, with --demo alone, the bundled example with its state in
    `demo_state_dir`), command-line overrides applied; with --demo, reading the demo's billing
    export unless the config names one."""
    path = args.config or (example_config_path() if args.demo else None)
    if path is None:
        raise ConfigError("(command line)", "--config", "is required (or use --demo)")
    config = load_config(path)
    if args.listen_address:
        try:
            split_listen_address(args.listen_address)
        except ValueError as err:
            raise ConfigError("(command line)", "--web.listen-address", str(err)) from None
        config = replace(config, listen_address=args.listen_address)
    if args.demo and not args.config and demo_state_dir:
        config = replace(config, state_dir=demo_state_dir)
    if args.demo and config.billing_export is None:
        from polo.demo.billing_export import demo_settings

        config = replace(config, billing_export=demo_settings(config))
    return config


def run_once(exporter: Exporter) -> None:
    """--once: costs, one sweep, then the prices that sweep needs (a few rounds: a price found
    can reveal the next one needed, such as gp3 IOPS after gp3 storage), then the output. The
    prices each finished task needs are fetched while the rest of the sweep runs."""
    from concurrent.futures import ThreadPoolExecutor, wait

    from polo.prices.price_list_source import PriceListSource

    exporter.run_sources_once()
    prices = [source for source in exporter.sources if isinstance(source, PriceListSource)]
    fetched_while_sweeping = 0  # some may come after the sweep's own publish
    with ThreadPoolExecutor(1, thread_name_prefix="polo-once") as pool:
        sweep = pool.submit(exporter.sweep_once)
        while not sweep.done():
            answered = sum(source.fetch_due() for source in prices)
            fetched_while_sweeping += answered
            if not answered:
                wait([sweep], timeout=0.1)  # until the next task's keys
        sweep.result()
    for _round in range(3):
        if not sum(source.fetch_due() for source in prices) and not fetched_while_sweeping:
            break
        fetched_while_sweeping = 0
        exporter.publish()


def configure_logging(level: str) -> None:
    """--log.level applies to Polo's loggers only. The root, and so every library, stays at
    WARNING: botocore logs AssumeRole's external id and the temporary credentials at DEBUG."""
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    log.setLevel(level.upper())
    # Its refresh failures come with a traceback each (73 in one sweep with AWS unreachable);
    # Polo reports the same failure once per sweep and in polo_account_up.
    logging.getLogger("botocore.credentials").setLevel(logging.ERROR)


def tune_garbage_collector() -> None:
    """A cold sweep builds a heap of millions of long-lived objects (botocore's models and a
    client per account, service and region: 2.6 million for 16 accounts x 4 regions), and
    with CPython's default thresholds the cyclic collector rescans all of it 15 times on the
    way: 4.4 to 5.2 of the 13 to 15 CPU seconds of `--once` (docs/benchmarks.md). Rarer
    young collections leave cycles still collected, a little later."""
    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])


def demo_state(args, config: Config, stack: contextlib.ExitStack) -> Config:
    """With --demo and no --config, state goes to a temporary folder that `stack` removes: the
    demo never writes next to the user's files, nor leaves 5 MB behind at every run."""
    if not args.demo or args.config:
        return config
    folder = tempfile.mkdtemp(prefix="polo-demo-")
    stack.callback(shutil.rmtree, folder, True)
    return replace(config, state_dir=folder)


def demo_unavailable() -> str | None:
    """moto and polo.demo are only in the demo build (image target `demo`, extra [demo])."""
    missing = [name for name in ("moto", "polo.demo") if importlib.util.find_spec(name) is None]
    if missing:
        return (f"polo-exporter: --demo is not available in this build (no {' or '.join(missing)}); use the "
                "demo image (docker build --target demo) or pip install 'polo[demo]'")
    return None


def simulated(config: Config, billing_later: bool = False) -> contextlib.AbstractContextManager:
    from polo.demo.simulated import simulated_aws

    return simulated_aws(config, billing_later=billing_later)


def main(argv: list[str] | None = None) -> int:
    reload_asked = hold_reloads()
    tune_garbage_collector()
    args = build_parser().parse_args(argv)
    configure_logging(args.log_level)
    if args.command == "backfill":  # before anything is built: a typo must not cost a demo estate
        from polo.costs.backfill import since_error

        problem = since_error(args.since, dt.datetime.now(dt.timezone.utc).date())
        if problem is not None:
            print(problem, file=sys.stderr)
            return EXIT_CONFIG
    if args.demo and (problem := demo_unavailable()) is not None:
        print(problem, file=sys.stderr)
        return EXIT_CONFIG
    with contextlib.ExitStack() as stack:
        try:
            config = load(args)
            web_config = load_web_config(args.web_config_file) if args.web_config_file else None
        except ConfigError as err:
            print(f"polo-exporter: config error: {err}", file=sys.stderr)
            return EXIT_CONFIG
        log.debug("config %s: %d accounts, %d regions, collectors %s", config.path, len(config.accounts),
                  len(config.regions), ", ".join(config.collectors))
        if args.command == "backfill" or args.once:
            config = demo_state(args, config, stack)
            if args.demo:
                stack.enter_context(simulated(config))
            if args.command == "backfill":
                from polo.costs.backfill import run_backfill
                history = None
                if config.billing_export is not None:
                    from polo.billing.history import backfill_lines

                    history = functools.partial(backfill_lines, config)
                return run_backfill(config, args.since, args.out, billing_history=history)
            from polo.exporter import Exporter

            exporter = Exporter(config)
            run_once(exporter)
            sys.stdout.buffer.write(exporter.payload.plain)
            return 1 if exporter.failed_tasks() else 0
        return serve_forever(args, config, web_config, stack, reload_asked)


def serve_forever(args, config: Config, web_config: WebConfig | None, stack: contextlib.ExitStack,
                  reload_asked: threading.Event) -> int:
    """Listen at once (a Starting stand-in answers while the demo builds its estate), start the
    exporter on a thread, and wait for SIGTERM or SIGINT (polo.web.signals): SIGTERM always
    wins, within SHUTDOWN_DEADLINE_SECONDS whatever is running."""
    from polo.exporter import Exporter, Starting
    from polo.web.exporter_http import serve

    host, port = split_listen_address(config.listen_address)
    connection_errors = ConnectionErrors()
    task = (f"building the simulated AWS estate ({len(config.accounts)} accounts x {len(config.regions)} "
            "regions)") if args.demo else "creating the AWS clients"
    try:
        server = serve(Starting(config, task), host, port, web_config, connection_errors)
    except OSError as err:  # a port in use, a host that does not resolve or is not ours
        where, key = (("(command line)", "--web.listen-address") if args.listen_address
                      else (config.path, "web.listen_address"))
        return cannot_listen("polo-exporter", where, key, host, port, err)
    released, failed = threading.Event(), threading.Event()
    signals = Signals(reload=lambda: server.app.request_reload())
    if reload_asked.is_set():
        server.app.request_reload()
    config = demo_state(args, config, stack)  # made once SIGTERM is ours, so never left behind

    def start() -> None:
        try:
            with contextlib.ExitStack() as simulation:
                aws = None
                if args.demo:
                    log.info("demo: %s; /healthz answers 503 until the first sweep", task)
                    aws = simulation.enter_context(simulated(config, billing_later=True))
                exporter = Exporter(config, http_errors=connection_errors,
                                    loader=lambda: load(args, config.state_dir if args.demo else None))
                starting, server.app = server.app, exporter
                exporter.start()
                if aws is not None:
                    from polo.billing.source import BillingSource

                    aws.deliver_billing_exports(  # billing what the first sweep found
                        after=exporter.swept, then=lambda: exporter.refresh_now(BillingSource),
                        swept=lambda: exporter.snapshot.resources if exporter.snapshot is not None else None)
                if starting.reload_requested:
                    exporter.request_reload()
                released.wait()  # the simulation lives until the exporter has stopped
        except Exception:
            log.exception("the exporter failed to start")
            failed.set()
            signals.interrupt()

    threading.Thread(target=server.serve_forever, name="polo-http", daemon=True).start()
    log.info("listening on %s://%s:%d/ (%d accounts, %d regions, sweep every %.0fs)", scheme(web_config), host, port,
             len(config.accounts), len(config.regions), config.sweep.interval)
    starter = threading.Thread(target=start, name="polo-start", daemon=True)
    starter.start()
    received = signals.wait()
    if received:
        log.info("%s received: shutting down", received)
    exit_code = 1 if failed.is_set() else 0
    exit_after(SHUTDOWN_DEADLINE_SECONDS, exit_code)
    signals.restore()
    server.shutdown()
    server.server_close()
    app = server.app
    finished = app.stop(timeout=SHUTDOWN_GRACE_SECONDS) if isinstance(app, Exporter) else False
    released.set()  # the demo's simulation may go now, then its temporary state
    starter.join(SHUTDOWN_DEADLINE_SECONDS - SHUTDOWN_GRACE_SECONDS - 0.5)
    stack.close()
    if not finished:
        # A call stuck in a socket read cannot be interrupted, and the thread pool's exit hook
        # would wait for it. State files are written atomically, so abandoning is safe.
        exit_now(exit_code, "abandoning in-flight work to exit now")
    return exit_code
