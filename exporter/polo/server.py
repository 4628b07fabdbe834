"""HTTP edge: /metrics (pre-rendered bytes, gzip on request), /healthz and a landing page."""
from __future__ import annotations

import html
import logging
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from polo import __version__
from polo.exposition import CONTENT_TYPE

log = logging.getLogger(__name__)


def landing_page(exporter) -> bytes:
    """Links and a config summary. Deliberately omits role ARNs, external ids and endpoints."""
    config = exporter.config
    healthy, reason = exporter.health()
    rows = "".join(
        f"<tr><td>{html.escape(a.id)}</td><td>{html.escape(a.name)}</td><td>{html.escape(a.environment)}</td></tr>"
        for a in config.accounts)
    body = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>Polo exporter</title></head>
<body>
<h1>Polo exporter {html.escape(__version__)}</h1>
<p>AWS inventory, costs and cleanup actions for Prometheus.</p>
<ul><li><a href="metrics">/metrics</a></li><li><a href="healthz">/healthz</a> ({html.escape(reason)})</li></ul>
<h2>Configuration</h2>
<table>
<tr><th>sweep interval</th><td>{config.sweep.interval:.0f}s</td></tr>
<tr><th>workers</th><td>{config.sweep.workers} ({config.sweep.per_account_workers} per account)</td></tr>
<tr><th>prune window</th><td>{config.sweep.prune_window:.0f}s</td></tr>
<tr><th>regions</th><td>{html.escape(", ".join(config.regions))}</td></tr>
<tr><th>collectors</th><td>{html.escape(", ".join(config.collectors))}</td></tr>
<tr><th>tag labels</th><td>{html.escape(", ".join(config.tag_labels) or "none")}</td></tr>
<tr><th>series exported</th><td>{exporter.payload.series}</td></tr>
</table>
<h2>Accounts ({len(config.accounts)})</h2>
<table><tr><th>id</th><th>name</th><th>environment</th></tr>{rows}</table>
</body></html>
"""
    return body.encode()


def make_handler(exporter):
    class Handler(BaseHTTPRequestHandler):
        server_version = f"polo-exporter/{__version__}"

        def do_GET(self):
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                payload = exporter.payload  # one atomic read of the current snapshot
                if "gzip" in self.headers.get("Accept-Encoding", ""):
                    self._send(200, payload.gzipped, {"Content-Type": CONTENT_TYPE, "Content-Encoding": "gzip"})
                else:  # only the gzip body is kept: inflate it piece by piece onto the socket
                    self._send_pieces(200, payload.iter_plain(), payload.plain_size,
                                      {"Content-Type": CONTENT_TYPE})
            elif path == "/healthz":
                healthy, reason = exporter.health()
                self._send(200 if healthy else 503, (reason + "\n").encode(),
                           {"Content-Type": "text/plain; charset=utf-8"})
            elif path == "/":
                self._send(200, landing_page(exporter), {"Content-Type": "text/html; charset=utf-8"})
            else:
                self._send(404, b"not found\n", {"Content-Type": "text/plain; charset=utf-8"})

        def _send(self, status: int, body: bytes, headers: dict[str, str]):
            self._send_pieces(status, (body,), len(body), headers)

        def _send_pieces(self, status: int, pieces, length: int, headers: dict[str, str]):
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(length))
            self.end_headers()
            for piece in pieces:
                self.wfile.write(piece)

        def log_message(self, format, *args):
            log.debug("%s %s", self.address_string(), format % args)

    return Handler


def serve(exporter, host: str, port: int) -> ThreadingHTTPServer:
    """Bind now (so a taken port fails fast); the caller runs serve_forever."""
    server = ThreadingHTTPServer((host, port), make_handler(exporter))
    server.daemon_threads = True
    return server
