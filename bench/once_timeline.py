"""Where a `polo-exporter --once` run's time goes: `python -m bench.once_timeline OUT.json
[polo-exporter arguments]` runs Polo's own main in this process, timing its imports, its
botocore clients' creation and every HTTP request it sends, and writes the breakdown to
OUT.json (the exposition still goes to stdout).

Used by bench.custodian on the small estate, where start-up and chains of calls weigh most.
The hooks wrap botocore's private ClientCreator.create_client and Endpoint._send: a benchmark
may lean on them, Polo does not.
"""
from __future__ import annotations

import json
import statistics
import sys
import threading
import time

STARTED = time.monotonic()


def main(argv: list[str]) -> int:
    out, polo_args = argv[0], argv[1:]
    import botocore.client
    import botocore.endpoint

    requests: list[tuple[float, float]] = []
    clients: list[tuple[float, float]] = []
    lock = threading.Lock()
    send, create_client = botocore.endpoint.Endpoint._send, botocore.client.ClientCreator.create_client

    def timed_send(self, request):
        started = time.monotonic()
        try:
            return send(self, request)
        finally:
            with lock:
                requests.append((started - STARTED, time.monotonic() - STARTED))

    def timed_create_client(self, *args, **kwargs):
        started = time.monotonic()
        try:
            return create_client(self, *args, **kwargs)
        finally:
            with lock:
                clients.append((started - STARTED, time.monotonic() - STARTED))

    botocore.endpoint.Endpoint._send = timed_send
    botocore.client.ClientCreator.create_client = timed_create_client
    from polo.cli import main as polo_main

    imported = time.monotonic() - STARTED
    try:
        code = polo_main(polo_args)
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    ended = time.monotonic() - STARTED
    sys.stdout.flush()
    durations = sorted(end - start for start, end in requests)
    breakdown = {
        "polo_and_botocore_imported_seconds": round(imported, 3),
        "first_request_seconds": round(min((start for start, _ in requests), default=ended), 3),
        "last_response_seconds": round(max((end for _, end in requests), default=ended), 3),
        "ended_seconds": round(ended, 3),
        "clients": len(clients),
        "client_creation_seconds": round(sum(end - start for start, end in clients), 3),
        "requests": len(requests),
        "request_median_ms": round(statistics.median(durations) * 1000, 1) if durations else None,
        "request_p90_ms": round(durations[int(0.9 * (len(durations) - 1))] * 1000, 1) if durations else None,
        "exit_code": code,
    }
    with open(out, "w") as f:
        json.dump(breakdown, f, indent=1)
    return int(code or 0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
