"""TLS and basic auth for Polo's HTTP servers (the exporter and the Slack relay), configured
with the Prometheus exporter-toolkit's web configuration file (`--web.config.file`):

    tls_server_config:
      cert_file: server.crt          # paths relative to this file
      key_file: server.key
      client_auth_type: RequireAndVerifyClientCert   # optional, with client_ca_file
      client_ca_file: ca.crt
      min_version: TLS12             # optional: TLS10 .. TLS13
    basic_auth_users:
      prometheus: $2b$12$...         # bcrypt hashes only

Everything the toolkit accepts that Polo cannot honour (Go cipher suite names, curve
preferences, HTTP/2 and header settings) is refused by name, never silently ignored.

TLS handshakes run in the request's own thread, so a slow or plain-HTTP client cannot stall
the accept loop; a plain-HTTP request to a TLS port fails the handshake and is closed. With
basic auth, every request needs a valid user and password except `GET /healthz` (liveness
probes and the container HEALTHCHECK; it reveals only health) and whatever the server exempts
(the relay's `POST /alerts/...`, which carries Alertmanager's bearer token instead).
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import socket
import ssl
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bcrypt
import yaml

from polo.config import ConfigError
from polo.config_yaml import YamlProblem, load_yaml

log = logging.getLogger(__name__)
HANDSHAKE_TIMEOUT = 10.0
CLIENT_AUTH = {
    "NoClientCert": ssl.CERT_NONE,
    "RequestClientCert": ssl.CERT_OPTIONAL,
    "VerifyClientCertIfGiven": ssl.CERT_OPTIONAL,
    "RequireAndVerifyClientCert": ssl.CERT_REQUIRED,
}
VERSIONS = {"TLS10": ssl.TLSVersion.TLSv1, "TLS11": ssl.TLSVersion.TLSv1_1,
            "TLS12": ssl.TLSVersion.TLSv1_2, "TLS13": ssl.TLSVersion.TLSv1_3}
UNSUPPORTED = {"cipher_suites", "curve_preferences", "prefer_server_cipher_suites", "max_version",
               "client_allowed_sans"}
BCRYPT_MAX_BYTES = 72  # bcrypt 5 raises beyond this; Go's bcrypt refuses it too


@dataclass
class WebConfig:
    path: str
    tls: ssl.SSLContext | None = None
    users: dict[str, bytes] = field(default_factory=dict)  # user -> bcrypt hash
    # Checked for unknown users, at the configured cost, so that a wrong user name costs as much
    # time as a wrong password and user names cannot be guessed from the answer's delay.
    dummy_hash: bytes = b""
    _verified: set[bytes] = field(default_factory=set)  # digests of checked (user, password, hash)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    # One bcrypt check at a time, as in the exporter-toolkit: a flood of wrong passwords then
    # takes one core, not all of them, and cached good credentials never wait for it.
    _hashing: threading.Lock = field(default_factory=threading.Lock)

    def check(self, user: str, password: str) -> bool:
        """bcrypt is slow on purpose: successes are remembered by a digest, failures never are."""
        hashed = self.users.get(user)
        secret = password.encode()
        digest = hashlib.sha256(b"\0".join((user.encode(), secret, hashed or b""))).digest()
        with self._lock:
            if hashed is not None and digest in self._verified:
                return True
        if len(secret) > BCRYPT_MAX_BYTES:
            return False
        with self._hashing:
            ok = bcrypt.checkpw(secret, hashed or self.dummy_hash) and hashed is not None
        if ok:
            with self._lock:
                if len(self._verified) > 1000:
                    self._verified.clear()
                self._verified.add(digest)
        return ok


def load_web_config(path: str) -> WebConfig:
    """Raises ConfigError naming the file, the key and the problem (the CLI exits 2)."""
    try:
        data = load_yaml(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(path, "", "file not found") from None
    except YamlProblem as problem:
        raise ConfigError(path, problem.key, problem.problem) from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
        raise ConfigError(path, "", f"cannot read: {str(err).splitlines()[0]}") from None
    data = {} if data is None else data
    if not isinstance(data, dict):
        raise ConfigError(path, "", "must be a mapping")
    for key in data:
        if key == "http_server_config":
            raise ConfigError(path, key, "not supported by Polo (HTTP/2 and response headers)")
        if key not in ("tls_server_config", "basic_auth_users"):
            raise ConfigError(path, str(key), "unknown key (expected tls_server_config, basic_auth_users)")
    base = Path(path).parent
    config = WebConfig(path=path)
    if data.get("tls_server_config") is not None:
        config.tls = _tls_context(path, base, data["tls_server_config"])
    users = data.get("basic_auth_users") or {}
    if not isinstance(users, dict):
        raise ConfigError(path, "basic_auth_users", "must map user names to bcrypt hashes")
    for user, hashed in users.items():
        key = f"basic_auth_users.{user}"
        if not isinstance(hashed, str) or not hashed.startswith(("$2a$", "$2b$", "$2y$")):
            raise ConfigError(path, key, "must be a bcrypt hash ($2b$...), e.g. from htpasswd -nBC 10 \"\" | tr -d ':'")
        try:
            bcrypt.checkpw(b"", hashed.encode())
        except ValueError:
            raise ConfigError(path, key, "is not a valid bcrypt hash") from None
        config.users[str(user)] = hashed.encode()
    if config.users:
        cost = max(int(hashed[4:6]) for hashed in config.users.values())
        config.dummy_hash = bcrypt.hashpw(b"polo", bcrypt.gensalt(rounds=cost))
    return config


def _tls_context(path: str, base: Path, raw: Any) -> ssl.SSLContext:
    if not isinstance(raw, dict):
        raise ConfigError(path, "tls_server_config", "must be a mapping")
    for key in raw:
        if key in UNSUPPORTED:
            raise ConfigError(path, f"tls_server_config.{key}", "not supported by Polo")
        if key not in ("cert_file", "key_file", "client_auth_type", "client_ca_file", "min_version"):
            raise ConfigError(path, f"tls_server_config.{key}", "unknown key")
    for key in ("cert_file", "key_file"):
        if not raw.get(key):
            raise ConfigError(path, f"tls_server_config.{key}", "is required")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(base / raw["cert_file"], base / raw["key_file"])
    except (OSError, ssl.SSLError) as err:
        raise ConfigError(path, "tls_server_config.cert_file",
                          f"cannot load {raw['cert_file']} with {raw['key_file']}: {err.strerror or err}") from None
    auth = raw.get("client_auth_type", "NoClientCert")
    if auth not in CLIENT_AUTH:
        raise ConfigError(path, "tls_server_config.client_auth_type",
                          f"must be one of {', '.join(CLIENT_AUTH)}, got {auth!r}")
    context.verify_mode = CLIENT_AUTH[auth]
    if raw.get("client_ca_file"):
        try:
            context.load_verify_locations(base / raw["client_ca_file"])
        except (OSError, ssl.SSLError) as err:
            raise ConfigError(path, "tls_server_config.client_ca_file", f"cannot load: {err}") from None
    elif context.verify_mode != ssl.CERT_NONE:
        raise ConfigError(path, "tls_server_config.client_ca_file", f"is required with {auth}")
    if "min_version" in raw:
        if raw["min_version"] not in VERSIONS:
            raise ConfigError(path, "tls_server_config.min_version",
                              f"must be one of {', '.join(VERSIONS)}, got {raw['min_version']!r}")
        context.minimum_version = VERSIONS[raw["min_version"]]
    return context


class SecureServer:
    """Mixin, first among a socketserver class's bases: TLS per connection from `web_config`."""

    web_config: WebConfig | None = None

    def finish_request(self, request, client_address):
        tls = self.web_config.tls if self.web_config else None
        if tls is None:
            return super().finish_request(request, client_address)
        # The handshake as a whole gets HANDSHAKE_TIMEOUT: a client trickling its hello a byte
        # at a time would pass a per-read timeout forever.
        request.settimeout(HANDSHAKE_TIMEOUT)
        deadline = threading.Timer(HANDSHAKE_TIMEOUT, _shut, (request,))
        deadline.start()
        try:
            secure = tls.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as err:  # plain HTTP, a bad client certificate, a stall
            errors = getattr(self, "connection_errors", None)
            if errors is not None:
                errors.inc("tls_handshake_failed")
            log.debug("TLS handshake with %s failed: %s", client_address[0], getattr(err, "reason", None) or err)
            return
        finally:
            deadline.cancel()
        try:
            super().finish_request(secure, client_address)
        finally:
            _shut(secure)
            secure.close()


def _shut(sock) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


class BasicAuthHandler:
    """Mixin, first among a BaseHTTPRequestHandler subclass's bases: answers 401 before any
    method runs unless the request carries a valid user and password (see the module doc)."""

    exempt: tuple[tuple[str, str], ...] = ()  # (method, path prefix) the server authenticates itself

    def auth_exempt(self) -> bool:
        path = self.path.split("?", 1)[0]  # type: ignore[attr-defined]
        if self.command in ("GET", "HEAD") and path == "/healthz":  # type: ignore[attr-defined]
            return True
        return any(self.command == method and path.startswith(prefix)  # type: ignore[attr-defined]
                   for method, prefix in self.exempt)

    def parse_request(self) -> bool:
        if not super().parse_request():  # type: ignore[misc]
            return False
        config = self.server.web_config  # type: ignore[attr-defined]
        if config is None or not config.users or self.auth_exempt():
            return True
        user, password = _credentials(self.headers.get("Authorization", ""))  # type: ignore[attr-defined]
        if user is not None and config.check(user, password):
            return True
        log.warning("%s %s from %s: 401 %s", self.command, self.path[:200], self.client_address[0],  # type: ignore[attr-defined]
                    "wrong user or password" if user is not None else "no basic auth credentials")
        body = b"Unauthorized\n"
        self.send_response(401)  # type: ignore[attr-defined]
        self.send_header("WWW-Authenticate", 'Basic realm="polo"')  # type: ignore[attr-defined]
        self.send_header("Content-Type", "text/plain; charset=utf-8")  # type: ignore[attr-defined]
        self.send_header("Content-Length", str(len(body)))  # type: ignore[attr-defined]
        self.end_headers()  # type: ignore[attr-defined]
        if self.command != "HEAD":  # type: ignore[attr-defined]
            self.wfile.write(body)  # type: ignore[attr-defined]
        self.close_connection = True  # the request body, if any, is left unread
        return False


def _credentials(header: str) -> tuple[str | None, str]:
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None, ""
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None, ""
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else (None, "")


def secured(server_class: type, handler_class: type, web_config: WebConfig | None,
            exempt: tuple[tuple[str, str], ...] = ()) -> tuple[type, type]:
    """The server and handler classes with TLS and basic auth from `web_config` mixed in;
    `exempt` lists (method, path prefix) pairs the handler authenticates by other means."""
    server = type(server_class.__name__, (SecureServer, server_class), {"web_config": web_config})
    handler = type(handler_class.__name__, (BasicAuthHandler, handler_class), {"exempt": exempt})
    return server, handler


def scheme(web_config: WebConfig | None) -> str:
    return "https" if web_config is not None and web_config.tls is not None else "http"

