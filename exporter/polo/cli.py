"""polo-exporter: the only place that decides between real AWS and the simulated demo."""
from __future__ import annotations

import argparse
import contextlib
import gc
import logging
import os
import signal
import sys
import tempfile
import threading
from dataclasses import replace
from importlib import resources

from polo import __version__
from polo.actions.source import ActionSource
from polo.aws import AwsAccess
from polo.config import Config, ConfigError, load_config, split_listen_address
from polo.costs.source import CostSource
from polo.price_list_source import PriceListSource
from polo.pricing import PriceTable
from polo.resource_costs import ResourceCostSource
from polo.service import Exporter
from polo.source import Source
from polo.webconfig import WebConfig, load_web_config, scheme

log = logging.getLogger("polo")
SHUTDOWN_GRACE_SECONDS = 3.0
EXIT_CONFIG = 2
# Allocations between two young-generation collections (CPython's default: 700). See below.
GC_YOUNG_THRESHOLD = 50_000


def example_config_path() -> str:
    return str(resources.files("polo") / "polo.example.yml")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="polo-exporter", description=__doc__)
    parser.add_argument("--version", action="version", version=f"polo-exporter {__version__}")
    parser.add_argument("--config", help="YAML config file (default with --demo: the bundled example)")
    parser.add_argument("--web.listen-address", dest="listen_address", metavar="HOST:PORT",
                        help="address to serve /metrics on (overrides web.listen_address)")
    parser.add_argument("--web.config.file", dest="web_config_file", metavar="FILE",
                        help="exporter-toolkit web config: TLS and basic auth (bcrypt) for every endpoint")
    parser.add_argument("--demo", action="store_true",
                        help="run against an in-process simulated AWS (moto): no credentials, no network")
    parser.add_argument("--once", action="store_true",
                        help="run one sweep, print the exposition, exit 1 if any collector failed")
    parser.add_argument("--log.level", dest="log_level", default="info",
                        choices=["debug", "info", "warning", "error"])
    sub = parser.add_subparsers(dest="command")
    backfill = sub.add_parser("backfill", help="write daily cost history as OpenMetrics for promtool")
    backfill.add_argument("--since", required=True, help="first day, YYYY-MM-DD")
    backfill.add_argument("--out", required=True, help="OpenMetrics file to write")
    return parser


def load(args, demo_state_dir: str | None = None) -> Config:
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
    if args.demo:  # the demo never writes state next to the user's files
        config = replace(config, state_dir=demo_state_dir or tempfile.mkdtemp(prefix="polo-demo-"))
    return config


def make_exporter(config: Config) -> Exporter:
    access = AwsAccess(config.aws, home_region=config.regions[0],
                       max_pool_connections=max(10, config.sweep.workers))
    # Sharded: one Cost Explorer reader (shard 0), since the payer's view covers every account.
    sources: list[Source] = (
        [CostSource(config, access)] if config.costs.enabled and config.shard.index == 0 else [])
    prices = PriceTable.load()
    # The Price List source goes after the sources that price resources: it takes the price
    # keys they asked for in the same render.
    price_list = PriceListSource(config, access, prices) if config.pricing.price_list else None
    if price_list is not None:
        prices = price_list.table
    sources += [ResourceCostSource(config, prices), ActionSource(config, prices)]
    sources += [price_list] if price_list is not None else []
    return Exporter(config, access, sources)


def run_once(exporter: Exporter) -> None:
    """--once: costs, one sweep, then the prices that sweep needs (a few rounds: a price found
    can reveal the next one needed, such as gp3 IOPS after gp3 storage), then the output."""
    exporter.run_sources_once()
    exporter.sweep_once()
    for source in exporter.sources:
        if isinstance(source, PriceListSource):
            for _round in range(3):
                if not source.fetch_due():
                    break
                exporter.publish()


def configure_logging(level: str) -> None:
    """--log.level applies to Polo's loggers only. The root, and so every library, stays at
    WARNING: botocore logs AssumeRole's external id and the temporary credentials at DEBUG."""
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    log.setLevel(level.upper())


def tune_garbage_collector() -> None:
    """A cold sweep builds a heap of millions of long-lived objects (botocore's models and a
    client per account, service and region: 2.6 million for 16 accounts x 4 regions), and
    with CPython's default thresholds the cyclic collector rescans all of it 15 times on the
    way: 4.4 to 5.2 of the 13 to 15 CPU seconds of `--once` (docs/benchmarks.md). Rarer
    young collections leave cycles still collected, a little later."""
    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])


def main(argv: list[str] | None = None) -> int:
    tune_garbage_collector()
    args = build_parser().parse_args(argv)
    configure_logging(args.log_level)
    try:
        config = load(args)
        web_config = load_web_config(args.web_config_file) if args.web_config_file else None
    except ConfigError as err:
        print(f"polo-exporter: config error: {err}", file=sys.stderr)
        return EXIT_CONFIG
    log.debug("config %s: %d accounts, %d regions, collectors %s", config.path, len(config.accounts),
              len(config.regions), ", ".join(config.collectors))

    with contextlib.ExitStack() as stack:
        if args.demo:
            try:  # moto and polo.demo are only in the demo build (image target `demo`, extra [demo])
                from polo.demo.simulated import simulated_aws
            except ImportError as err:
                print(f"polo-exporter: --demo is not available in this build ({err}); use the demo "
                      "image (docker build --target demo) or pip install 'polo[demo]'", file=sys.stderr)
                return EXIT_CONFIG
            stack.enter_context(simulated_aws(config))
        if args.command == "backfill":
            from polo.costs.backfill import run_backfill
            return run_backfill(config, args.since, args.out)
        exporter = make_exporter(config)
        exporter.loader = lambda: load(args, demo_state_dir=config.state_dir)  # --web.listen-address etc. still apply
        if args.once:
            run_once(exporter)
            sys.stdout.buffer.write(exporter.payload.plain)
            return 1 if exporter.failed_tasks() else 0
        return serve_forever(exporter, "--web.listen-address" if args.listen_address else "web.listen_address",
                             web_config)


def serve_forever(exporter: Exporter, listen_key: str = "web.listen_address",
                  web_config: WebConfig | None = None) -> int:
    from polo.server import serve

    host, port = split_listen_address(exporter.config.listen_address)
    try:
        server = serve(exporter, host, port, web_config=web_config)
    except OSError as err:  # a port in use, a host that does not resolve or is not ours
        where = "(command line)" if listen_key.startswith("--") else exporter.config.path
        problem = f"cannot listen on {host}:{port}: {err.strerror or err}"
        print(f"polo-exporter: config error: {ConfigError(where, listen_key, problem)}", file=sys.stderr)
        return EXIT_CONFIG
    stopping = threading.Event()

    def on_signal(signum, _frame):
        log.info("%s received: shutting down", signal.Signals(signum).name)
        stopping.set()

    # Explicit handlers: as PID 1 in a container SIGTERM is otherwise ignored, and SIGINT's
    # KeyboardInterrupt would land in whatever the main thread happens to run.
    previous = {signum: signal.signal(signum, on_signal) for signum in (signal.SIGTERM, signal.SIGINT)}
    previous[signal.SIGHUP] = signal.signal(signal.SIGHUP, lambda *_: exporter.reload())  # like Prometheus
    exporter.start()
    threading.Thread(target=server.serve_forever, name="polo-http", daemon=True).start()
    log.info("listening on %s://%s:%d/ (%d accounts, %d regions, sweep every %.0fs)", scheme(web_config), host, port,
             len(exporter.config.accounts), len(exporter.config.regions), exporter.config.sweep.interval)
    try:
        stopping.wait()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        server.shutdown()
        server.server_close()
        finished = exporter.stop(timeout=SHUTDOWN_GRACE_SECONDS)
    if not finished:
        # A call stuck in a socket read cannot be interrupted, and the thread pool's exit hook
        # would wait for it. State files are written atomically, so abandoning is safe.
        log.warning("abandoning in-flight AWS calls to exit now")
        logging.shutdown()
        sys.stdout.flush()
        os._exit(0)
    return 0
