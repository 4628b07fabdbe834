"""HTTP edge: /metrics (pre-rendered bytes, gzip on request), /healthz and a landing page."""
from __future__ import annotations

import html
from typing import Any

from polo import __version__
from polo.render.exposition import CONTENT_TYPE
from polo.web.server import ConnectionErrors, Handler, Server, listen
from polo.web.web_config import WebConfig


def landing_page(exporter) -> bytes:
    """Links and a config summary. Deliberately omits role ARNs, external ids and endpoints."""
    config = exporter.config
    healthy, reason = exporter.health()
    rows = "".join(
        f"<tr><td>{html.escape(a.id)}</td><td>{html.escape(a.name)}</td><td>{html.escape(a.environment)}</td></tr>"
        for a in config.own_accounts)
    body = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>Polo exporter</title></head>
<body>
<h1>Polo exporter {html.escape(__version__)}</h1>
<p>AWS inventory, costs and cleanup actions for Prometheus.</p>
<ul><li><a href="metrics">/metrics</a></li><li><a href="healthz">/healthz</a> ({html.escape(reason)})</li></ul>
<h2>Configuration</h2>
<table>
<tr><th>sweep interval</th><td>{config.sweep.interval:.0f}s</td></tr>
<tr><th>workers</th><td>{config.sweep.workers} ({config.sweep.per_region_workers} per account-region)</td></tr>
<tr><th>prune window</th><td>{config.sweep.prune_window:.0f}s</td></tr>
<tr><th>shard</th><td>{config.shard.index} of {config.shard.total}</td></tr>
<tr><th>regions</th><td>{html.escape(", ".join(config.regions))}</td></tr>
<tr><th>collectors</th><td>{html.escape(", ".join(config.collectors))}</td></tr>
<tr><th>tag labels</th><td>{html.escape(", ".join(config.tag_labels) or "none")}</td></tr>
<tr><th>series exported</th><td>{exporter.payload.series}</td></tr>
</table>
<h2>Accounts ({len(config.own_accounts)})</h2>
<table><tr><th>id</th><th>name</th><th>environment</th></tr>{rows}</table>
</body></html>
"""
    return body.encode("utf-8", "replace")


def accepts_gzip(accept_encoding: str) -> bool:
    """RFC 9110 content coding negotiation for gzip alone: `gzip;q=0` refuses it, `*` accepts
    it unless gzip is named with q=0; malformed q-values count as refusals."""
    weights: dict[str, float] = {}
    for item in accept_encoding.split(","):
        coding, *params = (part.strip() for part in item.split(";"))
        weight = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        if coding:
            weights[coding.lower()] = weight
    weight = weights.get("gzip", weights.get("x-gzip", weights.get("*", 0.0)))
    return weight > 0


class ExporterServer(Server):
    app: Any  # what is served: an Exporter, or a Starting stand-in until the exporter runs


def make_handler():
    class ExporterHandler(Handler):
        """Serves `self.server.app`: the running Exporter, or a Starting stand-in while the
        demo builds its simulated estate."""

        server_version = f"polo-exporter/{__version__}"
        server: ExporterServer

        def do_HEAD(self):  # load balancer health checks
            self.do_GET(head=True)

        def do_GET(self, head: bool = False):
            self._head = head
            app = self.server.app
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                payload = app.payload  # one atomic read of the current snapshot
                headers = {"Content-Type": CONTENT_TYPE, "Vary": "Accept-Encoding"}
                if accepts_gzip(self.headers.get("Accept-Encoding", "")):
                    self._send(200, payload.gzipped, headers | {"Content-Encoding": "gzip"})
                else:  # only the gzip body is kept: inflate it piece by piece onto the socket
                    self._send_pieces(200, payload.iter_plain(), payload.plain_size, headers)
            elif path == "/healthz":
                healthy, reason = app.health()
                self._send(200 if healthy else 503, (reason + "\n").encode(),
                           {"Content-Type": "text/plain; charset=utf-8"})
            elif path == "/":
                self._send(200, landing_page(app), {"Content-Type": "text/html; charset=utf-8"})
            elif path == "/-/reload":
                self._send(405, b"method not allowed: use POST\n",
                           {"Content-Type": "text/plain; charset=utf-8", "Allow": "POST"})
            else:
                self._send(404, b"not found\n", {"Content-Type": "text/plain; charset=utf-8"})

        def do_POST(self):
            self._head = False
            app = self.server.app
            path, text = self.path.split("?", 1)[0], {"Content-Type": "text/plain; charset=utf-8"}
            if path == "/-/reload":  # like Prometheus: re-read the config file (the body is ignored)
                ok, reason = app.reload()
                body = reason if ok else f"failed to reload config: {reason}"
                self._send(200 if ok else 500, body.encode() + b"\n", text)
            elif path in ("/", "/metrics", "/healthz"):
                self._send(405, b"method not allowed\n", text | {"Allow": "GET, HEAD"})
            else:
                self._send(404, b"not found\n", text)

        def _send(self, status: int, body: bytes, headers: dict[str, str]):
            self._send_pieces(status, (body,), len(body), headers)

        def _send_pieces(self, status: int, pieces, length: int, headers: dict[str, str]):
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(length))
            self.end_headers()
            if self._head:
                return
            for piece in pieces:
                self.wfile.write(piece)

    return ExporterHandler


def serve(app, host: str, port: int, web_config: WebConfig | None = None,
          connection_errors: ConnectionErrors | None = None) -> ExporterServer:
    """Bind now (so a taken port fails fast); the caller runs serve_forever."""
    server = listen(make_handler(), host, port, web_config, server_class=ExporterServer,
                    connection_errors=connection_errors)
    assert isinstance(server, ExporterServer)
    server.app = app
    return server
