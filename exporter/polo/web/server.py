"""The HTTP server shell that polo-exporter and polo-slack-relay share: binding (IPv4, IPv6, a
host name), TLS and basic auth (polo.web.web_config), a deadline for each request's headers, a
cap on open connections, and quiet handling of clients that go away.

Why a deadline and not only a socket timeout: a timeout applies per read, so a client sending
one byte every few seconds (slowloris) held a thread and a descriptor forever. Here a request's
headers must be complete within HEADER_TIMEOUT of its first byte, a kept-alive connection may
wait IDLE_TIMEOUT for its next request, and a body must arrive within IDLE_TIMEOUT as a whole.
Connections beyond MAX_CONNECTIONS are answered 503 at once and closed, before descriptors or
threads run out.
"""
from __future__ import annotations

import io
import logging
import socket
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from polo.config import ConfigError
from polo.render.exposition import Family, label_string
from polo.web.web_config import WebConfig, secured

log = logging.getLogger(__name__)
HEADER_TIMEOUT = 10.0
IDLE_TIMEOUT = 30.0
MAX_CONNECTIONS = 256
# Every reason is exported from the start, at 0, so rate() and alerts see it at once.
CONNECTION_ERRORS = ("client_disconnected", "header_timeout", "too_many_connections", "tls_handshake_failed")
_OVER_CAPACITY = (b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
                  b"Content-Length: 22\r\nRetry-After: 1\r\nConnection: close\r\n\r\ntoo many connections\r\n")


class ConnectionErrors:
    """Counts of connections that ended badly, by reason: the metric polo_http_connection_errors_total."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter({reason: 0 for reason in CONNECTION_ERRORS})

    def inc(self, reason: str) -> None:
        with self._lock:
            self._counts[reason] += 1

    def value(self, reason: str) -> int:
        with self._lock:
            return self._counts[reason]

    def family(self) -> Family:
        family = Family("polo_http_connection_errors_total", "counter",
                        "HTTP connections that ended badly, by reason: client_disconnected (went away "
                        "mid-response), header_timeout, too_many_connections (answered 503), "
                        "tls_handshake_failed.")
        with self._lock:
            for reason in sorted(self._counts):
                family.add(label_string(["reason"], [reason]), self._counts[reason])
        return family


class _DeadlineReader(io.RawIOBase):
    """The request side of a connection, read against a deadline for the whole phase rather
    than a timeout per read."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.deadline = 0.0
        self.awaiting_first_byte = False
        self.reading_headers = False

    def readable(self) -> bool:
        return True

    def next_request(self) -> None:
        self.deadline = time.monotonic() + IDLE_TIMEOUT
        self.awaiting_first_byte = self.reading_headers = True

    def headers_done(self) -> None:
        self.deadline = time.monotonic() + IDLE_TIMEOUT
        self.awaiting_first_byte = self.reading_headers = False

    def readinto(self, buffer) -> int:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("deadline passed")
        self.sock.settimeout(remaining)
        try:
            count = self.sock.recv_into(buffer)
        finally:  # writes keep the handler's own timeout, not what was left of this deadline
            self.sock.settimeout(IDLE_TIMEOUT)
        if count and self.awaiting_first_byte:
            self.awaiting_first_byte = False
            self.deadline = min(self.deadline, time.monotonic() + HEADER_TIMEOUT)
        return count


class Handler(BaseHTTPRequestHandler):
    """Base of both programs' request handlers."""

    timeout = IDLE_TIMEOUT  # also bounds each write to a client that stops reading

    def setup(self) -> None:
        super().setup()
        self._reader = _DeadlineReader(self.connection)
        self.rfile = io.BufferedReader(self._reader)

    def handle_one_request(self) -> None:
        self._reader.next_request()
        super().handle_one_request()

    def parse_request(self) -> bool:
        """Reads the headers (within the header deadline); the body then gets its own."""
        parsed = super().parse_request()
        self._reader.headers_done()
        return parsed

    def log_error(self, format, *args) -> None:
        """The standard library reports timeouts and bad request lines here."""
        reader = self._reader
        if args and isinstance(args[0], TimeoutError) and reader.reading_headers and not reader.awaiting_first_byte:
            self.server.connection_errors.inc("header_timeout")  # type: ignore[attr-defined]
        log.debug("%s: %s", self.address_string(), format % args)

    def log_message(self, format, *args) -> None:
        log.debug("%s %s", self.address_string(), format % args)


class Server(ThreadingHTTPServer):
    """A listen backlog of 128, not the standard library's 5: with 5, a burst of concurrent
    scrapes left most connections in SYN retries for up to a minute (tests/e2e/test_drills.py)."""

    request_queue_size = 128
    daemon_threads = True
    max_connections = MAX_CONNECTIONS

    def __init__(self, address, handler_class):
        self.connection_errors = ConnectionErrors()
        self._slots = threading.BoundedSemaphore(self.max_connections)
        super().__init__(address, handler_class)

    def process_request(self, request, client_address) -> None:
        if not self._slots.acquire(blocking=False):
            self.connection_errors.inc("too_many_connections")
            try:
                request.setblocking(False)
                request.send(_OVER_CAPACITY)
            except OSError:
                pass
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request, client_address) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def handle_error(self, request, client_address) -> None:
        """A client that disconnects mid-response is routine: one DEBUG line and a count, not
        a traceback on stderr."""
        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionError, TimeoutError)):
            self.connection_errors.inc("client_disconnected")
            log.debug("%s went away: %r", client_address[0], error)
        else:
            log.exception("error serving %s", client_address[0])


def listen(handler_class: type[Handler], host: str, port: int, web_config: WebConfig | None = None,
           exempt: tuple[tuple[str, str], ...] = (), server_class: type[Server] = Server,
           connection_errors: ConnectionErrors | None = None) -> Server:
    """Bind now, so a taken port fails fast (OSError); the caller runs serve_forever. An IPv6
    host ('::', '::1') binds an IPv6 socket, a host name its first address. `web_config` adds
    TLS and basic auth; `exempt` lists (method, path prefix) pairs the handler authenticates by
    other means."""
    family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0][0]
    bound_class, handler = secured(type(server_class.__name__, (server_class,), {"address_family": family}),
                                   handler_class, web_config, exempt)
    server = bound_class((host, port), handler)
    if connection_errors is not None:  # counted where the program's /metrics reads them
        server.connection_errors = connection_errors
    return server


def cannot_listen(program: str, where: str, key: str, host: str, port: int, err: OSError) -> int:
    """The one line and exit code (2, a config error) of a port in use or a host not ours."""
    problem = f"cannot listen on {host}:{port}: {err.strerror or err}"
    print(f"{program}: config error: {ConfigError(where, key, problem)}", file=sys.stderr)
    return 2
