"""A simulated AWS with real latency and throttling: a proxy in front of moto servers.

    python -m bench.awsproxy --servers 2 --latency-ms 50      # prints {"port": ...} when ready

Each moto server is its own process (`moto.server.ThreadedMotoServer` on a loopback port), so
several of them scale throughput past one Python interpreter. Moto servers share no state, so
the proxy pins every account to one server:

* STS AssumeRole for account X (the RoleArn in the form body) goes to the server that owns X
  (accounts are dealt to servers round-robin in the order they are first seen);
* the proxy reads the AccessKeyId out of every AssumeRole reply and sends all later requests
  signed with that key (the SigV4 Authorization header names it) to the same server, which is
  the only one that knows the key; any other key is moto's default account 123456789012.

Every request waits `latency_ms` (AWS's round trip) and then takes a token from a bucket keyed
by (account, region, service, operation) - account from the key, region and service from the
SigV4 credential scope, operation from `Action=` in the form body, the `X-Amz-Target` header,
the rpc-v2-cbor path or the REST method and path. An empty bucket answers with that service's
own throttling error, on the wire as AWS sends it:

    EC2                         503 RequestLimitExceeded   (EC2 <Response><Errors> XML)
    ELBv2, RDS, STS, IAM        400 Throttling             (<ErrorResponse> XML)
    CloudWatch (rpc-v2-cbor)    400 ThrottlingException    (CBOR, x-amzn-query-error: Throttling)
    Cost Explorer (JSON)        400 ThrottlingException
    Lambda (REST-JSON)          429 TooManyRequestsException
    S3                          503 SlowDown

Bucket sizes and refill rates are in RATES (docs/benchmarks.md says where they come from).
The proxy counts requests and throttles and can record requests for replay. It is controlled
over HTTP on the same port under /__proxy/ (no AWS API uses that path: S3 bucket names cannot
start with '_'):

    GET  /__proxy/stats        counters (JSON)
    POST /__proxy/config       {"latency_ms": 0, "throttle": false, "override": [burst, rate] | null,
                                "record": true}   (record: true starts a new recording)
    POST /__proxy/reset        zero the counters and refill every bucket
    GET  /__proxy/recorded     recorded requests (JSON, bodies base64)

Loopback only. The proxy and its moto servers stop when the proxy's stdin closes (its parent
exited) or on SIGTERM.
"""
from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

HOST = "127.0.0.1"
DEFAULT_ACCOUNT = "123456789012"  # moto's account for credentials it did not issue
CONTROL = "/__proxy/"
CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/\d{8}/([^/]+)/([^/]+)/aws4_request")
ROLE_ARN_ACCOUNT = re.compile(r"^arn:aws[\w-]*:iam::(\d{12}):role/")
ACCESS_KEY_IN_REPLY = re.compile(rb"<AccessKeyId>([^<]+)</AccessKeyId>")
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer",
              "upgrade", "expect", "content-length"}


@dataclass(frozen=True)
class Rate:
    burst: float  # bucket size: requests that may arrive at once
    rate: float   # tokens added per second
    shared: bool = False  # one bucket for all the service's matching operations (else per operation)


# (service as in the SigV4 scope, operation regex, Rate); the first match wins.
RATES: list[tuple[str, str, Rate]] = [
    # EC2 documents its request-rate buckets per account, region and API action: non-mutating
    # actions (Describe*, Get*, List*, ...) 100 tokens refilled at 20/s; mutating ones far lower.
    ("ec2", r"^(Describe|Get|List|Search)", Rate(100, 20)),
    ("ec2", r".", Rate(50, 5)),
    # RDS documents one account-region bucket for its whole API: 300 burst, 12/s sustained.
    ("rds", r".", Rate(300, 12, shared=True)),
    # ELBv2 publishes no request rates: 10/s with a burst of 40, chosen conservatively.
    ("elasticloadbalancing", r".", Rate(40, 10)),
    # CloudWatch GetMetricData: 50 transactions/s per account and region (documented quota).
    ("monitoring", r".", Rate(50, 50)),
    # Lambda control plane (ListFunctions, ListTags, ...): 15 requests/s per region, shared.
    ("lambda", r".", Rate(15, 15, shared=True)),
    # STS: 600 requests/s per account and region.
    ("sts", r".", Rate(600, 600)),
    # S3: 5,500 GET/HEAD and 3,500 PUT/POST/DELETE per second per prefix.
    ("s3", r"^(Get|Head|List)", Rate(5500, 5500)),
    ("s3", r".", Rate(3500, 3500)),
    # Cost Explorer publishes no request rate either: 5/s, chosen conservatively.
    ("ce", r".", Rate(5, 5)),
    ("iam", r".", Rate(20, 20)),  # only the estate builder calls IAM, with throttling off
    ("", r".", Rate(50, 50)),
]
_COMPILED = [(service, re.compile(pattern), rate) for service, pattern, rate in RATES]


def rate_for(service: str, operation: str) -> tuple[Rate, str]:
    """The bucket's Rate and the name its bucket is keyed by (the operation, or '*' if shared)."""
    for svc, pattern, rate in _COMPILED:
        if (svc == service or svc == "") and pattern.search(operation):
            return rate, ("*" if rate.shared else operation)
    raise AssertionError("the catch-all rule matches everything")


class Bucket:
    __slots__ = ("burst", "rate", "tokens", "stamp", "taken")

    def __init__(self, burst: float, rate: float):
        self.burst, self.rate, self.tokens, self.stamp = burst, rate, burst, time.monotonic()
        self.taken = 0  # requests admitted since the bucket was full

    def floor(self) -> float:
        """Seconds any client needs for `taken` requests through this bucket, starting full."""
        return max(0.0, (self.taken - self.burst) / self.rate)

    def take(self) -> bool:  # caller holds the proxy's lock
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            self.taken += 1
            return True
        return False


# --- what a request is --------------------------------------------------------------------------

@dataclass
class Call:
    access_key: str
    region: str
    service: str
    operation: str
    protocol: str  # ec2, query, json, cbor, rest-json, rest-xml
    role_account: str | None = None  # AssumeRole's target account


def s3_operation(method: str, path: str, query: str) -> str:
    parts = [p for p in path.split("/") if p]
    keys = {k for k in parse_qs(query, keep_blank_values=True)} if query else set()
    verb = {"GET": "Get", "HEAD": "Head", "PUT": "Put", "POST": "Post", "DELETE": "Delete"}.get(method, method)
    if not parts:
        return "ListBuckets" if method == "GET" else verb + "Service"
    for sub, name in (("location", "BucketLocation"), ("tagging", "BucketTagging"),
                      ("publicAccessBlock", "PublicAccessBlock"), ("policy", "BucketPolicy"),
                      ("acl", "BucketAcl"), ("versioning", "BucketVersioning"),
                      ("encryption", "BucketEncryption"), ("lifecycle", "BucketLifecycleConfiguration")):
        if sub in keys:
            return verb + name
    if len(parts) == 1:
        return "ListObjects" if method == "GET" else verb + "Bucket"
    return verb + "Object"


def rest_operation(method: str, path: str) -> str:
    """REST-JSON paths -> operation names: Lambda's by name (the ones Polo and the estate use),
    other services' by method and path shape."""
    p = path.rstrip("/")
    if re.fullmatch(r"/\d{4}-\d{2}-\d{2}/functions", p):
        return "ListFunctions" if method == "GET" else "CreateFunction"
    if re.match(r"/\d{4}-\d{2}-\d{2}/tags/", p):
        return {"GET": "ListTags", "POST": "TagResource", "DELETE": "UntagResource"}.get(method, method)
    if re.fullmatch(r"/\d{4}-\d{2}-\d{2}/functions/[^/]+", p):
        return {"GET": "GetFunction", "DELETE": "DeleteFunction"}.get(method, method)
    return method + " " + re.sub(r"/[^/]+", "/x", p)[:40]


def classify(method: str, path: str, headers, body: bytes) -> Call:
    match = CREDENTIAL.search(headers.get("Authorization", ""))
    access_key, region, service = match.groups() if match else ("", "us-east-1", "")
    split = urlsplit(path)
    target = headers.get("X-Amz-Target")
    if headers.get("Smithy-Protocol", "").lower() == "rpc-v2-cbor":
        return Call(access_key, region, service, split.path.rsplit("/operation/", 1)[-1], "cbor")
    if target:
        return Call(access_key, region, service, target.rsplit(".", 1)[-1], "json")
    if service == "s3":
        return Call(access_key, region, service, s3_operation(method, split.path, split.query), "rest-xml")
    form = parse_qs(body.decode("utf-8", "replace")) if body and method == "POST" else parse_qs(split.query)
    action = (form.get("Action") or [""])[0]
    if not action and service != "ec2":  # Lambda, EKS, OpenSearch...: REST paths, JSON errors
        return Call(access_key, region, service, rest_operation(method, split.path), "rest-json")
    call = Call(access_key, region, service, action or method, "ec2" if service == "ec2" else "query")
    if action == "AssumeRole":
        arn = ROLE_ARN_ACCOUNT.match((form.get("RoleArn") or [""])[0])
        call.role_account = arn.group(1) if arn else None
    return call


# --- throttling errors as each service sends them -----------------------------------------------

def _cbor_text(text: str) -> bytes:
    raw = text.encode()
    assert len(raw) < 256
    return (bytes([0x60 | len(raw)]) if len(raw) < 24 else bytes([0x78, len(raw)])) + raw


def throttle_reply(call: Call) -> tuple[int, dict[str, str], bytes]:
    request_id = f"polo-bench-{time.monotonic_ns():x}"
    body: str | bytes
    if call.protocol == "ec2":
        body = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error>"
                "<Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message>"
                f"</Error></Errors><RequestID>{request_id}</RequestID></Response>")
        return 503, {"Content-Type": "text/xml;charset=UTF-8"}, body.encode()
    if call.protocol == "query":
        body = ("<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code>"
                f"<Message>Rate exceeded</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>")
        return 400, {"Content-Type": "text/xml", "x-amzn-RequestId": request_id}, body.encode()
    if call.protocol == "cbor":
        body = b"\xa2" + _cbor_text("__type") + _cbor_text("ThrottlingException") \
            + _cbor_text("message") + _cbor_text("Rate exceeded")
        return 400, {"Content-Type": "application/cbor", "Smithy-Protocol": "rpc-v2-cbor",
                     "x-amzn-query-error": "Throttling;Sender", "x-amzn-RequestId": request_id}, body
    if call.protocol == "json":
        body = json.dumps({"__type": "ThrottlingException", "message": "Rate exceeded"})
        return 400, {"Content-Type": "application/x-amz-json-1.1", "x-amzn-RequestId": request_id}, body.encode()
    if call.protocol == "rest-json":
        body = json.dumps({"Reason": "CallerRateLimitExceeded", "Type": "User", "message": "Rate exceeded"})
        return 429, {"Content-Type": "application/json", "x-amzn-ErrorType": "TooManyRequestsException",
                     "x-amzn-RequestId": request_id}, body.encode()
    body = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SlowDown</Code>"
            f"<Message>Please reduce your request rate.</Message><RequestId>{request_id}</RequestId></Error>")
    return 503, {"Content-Type": "application/xml", "x-amz-request-id": request_id}, body.encode()


# --- the proxy ----------------------------------------------------------------------------------

class Simulator:
    """State shared by the handler threads: routing, buckets, counters, recording."""

    def __init__(self, backends: list[int], latency_ms: float, throttle: bool = True):
        self.backends = backends
        self.latency = latency_ms / 1000
        self.throttle = throttle
        self.override: Rate | None = None
        self.record = False
        self.lock = threading.Lock()
        self.owner: dict[str, int] = {DEFAULT_ACCOUNT: 0}  # account -> backend index
        self.keys: dict[str, str] = {}  # access key id -> account
        self.buckets: dict[tuple[str, str, str, str], Bucket] = {}
        self.recorded: list[dict] = []
        self._local = threading.local()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.requests: Counter[str] = Counter()   # "service:operation"
            self.throttled: Counter[str] = Counter()
            self.by_backend: Counter[int] = Counter()
            self.errors: Counter[str] = Counter()     # non-throttle HTTP >= 400 from moto, by status
            self.backend_seconds: Counter[str] = Counter()  # time moto took, by "service:operation"
            self.buckets.clear()
            self.started = time.monotonic()

    def configure(self, settings: dict) -> None:
        with self.lock:
            if "latency_ms" in settings:
                self.latency = float(settings["latency_ms"]) / 1000
            if "throttle" in settings:
                self.throttle = bool(settings["throttle"])
            if "override" in settings:
                value = settings["override"]
                self.override = Rate(float(value[0]), float(value[1])) if value else None
                self.buckets.clear()
            if "record" in settings:  # starting a recording drops the previous one
                self.record = bool(settings["record"])
                if self.record:
                    self.recorded = []

    def account_of(self, access_key: str) -> str:
        return self.keys.get(access_key, DEFAULT_ACCOUNT)

    def backend_for(self, account: str) -> int:
        with self.lock:
            if account not in self.owner:
                self.owner[account] = len(self.owner) % len(self.backends)
            return self.owner[account]

    def admit(self, call: Call, account: str) -> bool:
        rate, key_operation = rate_for(call.service, call.operation)
        if self.override is not None:
            rate = Rate(self.override.burst, self.override.rate, rate.shared)
        key = (account, call.region, call.service, key_operation)
        with self.lock:
            name = f"{call.service}:{call.operation}"
            self.requests[name] += 1
            if not self.throttle:
                return True
            bucket = self.buckets.get(key)
            if bucket is None:
                bucket = self.buckets[key] = Bucket(rate.burst, rate.rate)
            if bucket.take():
                return True
            self.throttled[name] += 1
            return False

    def connection(self, index: int) -> http.client.HTTPConnection:
        pool = getattr(self._local, "pool", None)
        if pool is None:
            pool = self._local.pool = {}
        conn = pool.get(index)
        if conn is None:
            conn = pool[index] = http.client.HTTPConnection(HOST, self.backends[index], timeout=300)
        return conn

    def forward(self, index: int, method: str, path: str, headers: dict[str, str], body: bytes):
        for attempt in (1, 2):  # a kept-alive connection the server closed: reconnect once
            conn = self.connection(index)
            try:
                conn.request(method, path, body=body if body or method in ("POST", "PUT") else None,
                             headers=headers)
                response = conn.getresponse()
                data = response.read()
                return response.status, response.getheaders(), data
            except (http.client.HTTPException, ConnectionError, OSError):
                conn.close()
                self._local.pool.pop(index, None)
                if attempt == 2:
                    raise

    def stats(self) -> dict:
        with self.lock:
            key, worst = max(self.buckets.items(), key=lambda kv: kv[1].floor(), default=(None, None))
            floor = worst.floor() if worst else 0.0
            return {
                "bucket_floor_seconds": round(floor, 3),
                "bucket_floor_key": "/".join(key) if key and floor else "",
                "requests": sum(self.requests.values()),
                "throttled": sum(self.throttled.values()),
                "by_operation": dict(self.requests),
                "throttled_by_operation": dict(self.throttled),
                "by_backend": {str(k): v for k, v in self.by_backend.items()},
                "errors": dict(self.errors),
                "backend_seconds": {k: round(v, 4) for k, v in self.backend_seconds.items()},
                "accounts": {a: i for a, i in self.owner.items()},
                "latency_ms": self.latency * 1000,
                "throttle": self.throttle,
                "override": [self.override.burst, self.override.rate] if self.override else None,
                "seconds": time.monotonic() - self.started,
                "backends": len(self.backends),
            }


def make_handler(sim: Simulator):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as botocore's connection pools expect

        def log_message(self, format, *args):  # quiet
            pass

        def _body(self) -> bytes:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                chunks: list[bytes] = []
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        while self.rfile.readline().strip():
                            pass
                        return b"".join(chunks)
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def _send(self, status: int, headers, body: bytes, head: bool = False):
            self.send_response(status)
            length = None
            for name, value in headers:
                lower = name.lower()
                if lower == "content-length":
                    length = value
                if lower in HOP_BY_HOP or lower in ("date", "server"):
                    continue
                self.send_header(name, value)
            self.send_header("Content-Length", length if head and length is not None else str(len(body)))
            self.end_headers()
            if not head and body:
                self.wfile.write(body)

        def _control(self, body: bytes):
            name = urlsplit(self.path).path[len(CONTROL):]
            reply: object
            if name == "stats":
                reply = sim.stats()
            elif name == "config" and self.command == "POST":
                sim.configure(json.loads(body or b"{}"))
                reply = sim.stats()
            elif name == "reset" and self.command == "POST":
                sim.reset()
                reply = sim.stats()
            elif name == "recorded":
                with sim.lock:
                    reply = list(sim.recorded)
            else:
                self._send(404, [("Content-Type", "text/plain")], b"unknown control path\n")
                return
            self._send(200, [("Content-Type", "application/json")], json.dumps(reply).encode())

        def _handle(self):
            body = self._body()
            if self.path.startswith(CONTROL):
                return self._control(body)
            head = self.command == "HEAD"
            call = classify(self.command, self.path, self.headers, body)
            account = sim.account_of(call.access_key)
            if sim.latency:
                time.sleep(sim.latency)
            if not sim.admit(call, account):
                status, headers, reply = throttle_reply(call)
                return self._send(status, list(headers.items()), reply, head)
            index = sim.backend_for(call.role_account or account)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            if sim.record:
                with sim.lock:
                    sim.recorded.append({"method": self.command, "path": self.path, "headers": headers,
                                         "body": base64.b64encode(body).decode(), "backend": index})
            started = time.monotonic()
            try:
                status, reply_headers, reply = sim.forward(index, self.command, self.path, headers, body)
            except Exception as exc:  # the backend is gone: answer like an unreachable endpoint
                return self._send(502, [("Content-Type", "text/plain")], f"backend: {exc}\n".encode())
            with sim.lock:
                sim.by_backend[index] += 1
                sim.backend_seconds[f"{call.service}:{call.operation}"] += time.monotonic() - started
                if status >= 400:
                    sim.errors[f"{call.service}:{call.operation}:{status}"] += 1
            if call.role_account and status == 200:
                found = ACCESS_KEY_IN_REPLY.search(reply)
                if found:
                    with sim.lock:
                        sim.keys[found.group(1).decode()] = call.role_account
            self._send(status, reply_headers, reply, head)

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _handle

    return Handler


class ProxyServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # a sweep opens dozens of connections at once


# --- moto servers, one process each ---------------------------------------------------------------

MOTO_CHILD = """
import logging, sys
logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
from moto.server import ThreadedMotoServer
from polo.demo.price_list import install_price_list
install_price_list()  # the demo's Price List API, which moto lacks, so prices can be swept cold
server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
server.start()
print(server.get_host_and_port()[1], flush=True)
sys.stdin.read()  # until the parent closes it
server.stop()
"""


def moto_environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "MOTO_ACCOUNT_ID")}
    env.update(MOTO_EC2_LOAD_DEFAULT_AMIS="false", AWS_ACCESS_KEY_ID="bench",
               AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1")
    return env


def start_moto_servers(count: int) -> list[tuple[subprocess.Popen, int]]:
    children = []
    try:
        for _ in range(count):
            child = subprocess.Popen([sys.executable, "-c", MOTO_CHILD], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, env=moto_environment(), text=True)
            children.append((child, 0))
        ports = []
        for child, _ in children:
            assert child.stdout is not None  # stdout=PIPE
            line = child.stdout.readline()
            if not line.strip().isdigit():
                raise RuntimeError(f"moto server did not start (exit {child.poll()})")
            ports.append(int(line))
        return [(child, port) for (child, _), port in zip(children, ports)]
    except BaseException:
        stop_children([c for c, _ in children])
        raise


def stop_children(children: list[subprocess.Popen]) -> None:
    for child in children:
        if child.poll() is None and child.stdin:
            try:
                child.stdin.close()
            except OSError:
                pass
    deadline = time.monotonic() + 10
    for child in children:
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.terminate()
            try:
                child.wait(timeout=5)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.awsproxy", description=__doc__.split("\n")[0])
    parser.add_argument("--servers", type=int, default=1, help="moto server processes behind the proxy")
    parser.add_argument("--latency-ms", type=float, default=50.0, help="added to every call (default 50)")
    parser.add_argument("--no-throttle", action="store_true", help="start with throttling off")
    parser.add_argument("--port", type=int, default=0, help="proxy port on 127.0.0.1 (default: any free)")
    args = parser.parse_args(argv)

    children = start_moto_servers(max(1, args.servers))
    sim = Simulator([port for _, port in children], args.latency_ms, throttle=not args.no_throttle)
    server = ProxyServer((HOST, args.port), make_handler(sim))
    stopping = threading.Event()

    def stop(*_):
        if not stopping.is_set():
            stopping.set()
            threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    def watch_stdin():  # the parent went away (or closed our stdin): stop
        try:
            sys.stdin.read()
        finally:
            stop()

    threading.Thread(target=watch_stdin, daemon=True).start()
    print(json.dumps({"port": server.server_address[1], "backends": sim.backends,
                      "pids": [c.pid for c, _ in children]}), flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
        stop_children([c for c, _ in children])
    return 0


if __name__ == "__main__":
    sys.exit(main())


# --- the parent's handle on a proxy process -------------------------------------------------------

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class ProxyClient:
    """The control API of a running proxy."""

    def __init__(self, port: int):
        self.port = port

    @property
    def endpoint(self) -> str:
        return f"http://{HOST}:{self.port}"

    def control(self, name: str, payload: dict | None = None):
        conn = http.client.HTTPConnection(HOST, self.port, timeout=60)
        try:
            if payload is None and name in ("stats", "recorded"):
                conn.request("GET", CONTROL + name)
            else:
                conn.request("POST", CONTROL + name, body=json.dumps(payload or {}),
                             headers={"Content-Type": "application/json"})
            response = conn.getresponse()
            data = response.read()
            if response.status != 200:
                raise RuntimeError(f"proxy control {name}: HTTP {response.status}")
            return json.loads(data)
        finally:
            conn.close()

    def stats(self) -> dict:
        return self.control("stats")

    def configure(self, **settings) -> dict:
        return self.control("config", settings)

    def reset(self) -> dict:
        return self.control("reset", {})

    def recorded(self) -> list[dict]:
        return self.control("recorded")


class ProxyProcess(ProxyClient):
    """Starts `python -m bench.awsproxy` (and so its moto servers) and talks to its control API.

        with ProxyProcess(servers=2, latency_ms=50) as aws:
            config.aws.endpoint_url = aws.endpoint
            aws.configure(latency_ms=0, throttle=False)
            aws.stats()["throttled"]
    """

    def __init__(self, servers: int = 1, latency_ms: float = 50.0, throttle: bool = True):
        super().__init__(0)
        self.args = ["--servers", str(servers), "--latency-ms", str(latency_ms)]
        if not throttle:
            self.args.append("--no-throttle")
        self.process: subprocess.Popen | None = None
        self.info: dict = {}

    @property
    def pids(self) -> list[int]:
        return ([self.process.pid] if self.process else []) + list(self.info.get("pids", []))

    def __enter__(self) -> "ProxyProcess":
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [REPO_ROOT, os.environ.get("PYTHONPATH")])))
        self.process = subprocess.Popen([sys.executable, "-m", "bench.awsproxy", *self.args],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env,
                                        cwd=REPO_ROOT, text=True)
        assert self.process.stdout is not None  # stdout=PIPE
        line = self.process.stdout.readline()
        if not line.startswith("{"):
            code = self.process.poll()
            self.__exit__(None, None, None)
            raise RuntimeError(f"the AWS proxy did not start (exit {code})")
        self.info = json.loads(line)
        self.port = self.info["port"]
        return self

    def __exit__(self, *exc) -> None:
        if self.process is not None:
            stop_children([self.process])
            self.process = None
