"""A fake Slack Web API on loopback, for slack-sdk pointed at it with `base_url`.

It speaks the few methods Polo calls (auth.test, chat.postMessage, chat.update, and
files.getUploadURLExternal + the upload URL + files.completeUploadExternal that
files_upload_v2 uses), checks the bot token, enforces Slack's message limits, and keeps
messages, threads and files in memory for assertions. Switches: `rate_limit(calls, retry_after)`
answers 429 with Retry-After; `down()` stops listening (connections are refused) and `up()`
listens again on the same port."""
from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_TEXT = 40000


@dataclass
class Message:
    channel: str
    ts: str
    text: str
    blocks: list[dict]
    thread_ts: str | None = None
    edits: list[dict] = field(default_factory=list)  # previous versions, oldest first

    def block_text(self) -> str:
        """All the text of the blocks, for assertions."""
        return json.dumps(self.blocks, ensure_ascii=False)


@dataclass
class Call:
    method: str
    status: int
    at: float


class FakeSlack:
    def __init__(self, token: str = "xoxb-fake-token", port: int = 0):
        self.token = token
        self.lock = threading.Lock()
        self.channels: dict[str, str] = {}  # name -> id
        self.messages: list[Message] = []
        self.files: dict[str, dict[str, Any]] = {}
        self.calls: list[Call] = []
        self._rate_limited = 0
        self._retry_after = 1
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = port
        self.up()

    # -- switches ------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    def up(self) -> None:
        server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        server.daemon_threads = True
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, daemon=True)
        self._thread.start()

    def down(self) -> None:
        """Stop listening: new connections are refused until `up()`."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def stop(self) -> None:
        self.down()

    def rate_limit(self, calls: int, retry_after: int) -> None:
        """Answer the next `calls` API calls with 429 and Retry-After: `retry_after` seconds."""
        with self.lock:
            self._rate_limited, self._retry_after = calls, retry_after

    # -- assertions --------------------------------------------------------------------------
    def channel_id(self, name: str) -> str:
        with self.lock:
            return self._channel_id(name)

    def top_level(self, channel: str) -> list[Message]:
        cid = self.channel_id(channel)
        with self.lock:
            return [m for m in self.messages if m.channel == cid and m.thread_ts is None]

    def replies(self, message: Message) -> list[Message]:
        with self.lock:
            return [m for m in self.messages if m.channel == message.channel and m.thread_ts == message.ts]

    def wait_for(self, condition, timeout: float = 90.0, interval: float = 0.05):
        """Poll `condition()` until it returns something truthy; that value."""
        deadline = time.monotonic() + timeout
        while True:
            value = condition()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"fake Slack: condition not met within {timeout}s; calls: "
                                     f"{[(c.method, c.status) for c in self.calls[-10:]]}")
            time.sleep(interval)

    # -- the API -----------------------------------------------------------------------------
    def _channel_id(self, name_or_id: str) -> str:
        if name_or_id in self.channels.values():
            return name_or_id
        name = name_or_id.lstrip("#")
        if name not in self.channels:
            self.channels[name] = f"C{len(self.channels) + 1:08d}"
        return self.channels[name]

    def _next_ts(self) -> str:
        return f"{1764554400 + len(self.messages)}.{len(self.messages):06d}"

    @staticmethod
    def _check_blocks(args: dict) -> str | None:
        blocks = args.get("blocks")
        if isinstance(blocks, str):
            blocks = json.loads(blocks)
            args["blocks"] = blocks
        blocks = blocks or []
        if len(blocks) > MAX_BLOCKS:
            return "invalid_blocks"
        for block in blocks:
            text = (block.get("text") or {}).get("text", "")
            if block.get("type") == "section" and len(text) > MAX_SECTION_TEXT:
                return "invalid_blocks"
            if block.get("type") == "header" and len(text) > 150:
                return "invalid_blocks"
        if len(args.get("text") or "") > MAX_TEXT:
            return "msg_too_long"
        if not blocks and not args.get("text"):
            return "no_text"
        return None

    def _api(self, method: str, args: dict) -> dict:
        if method == "auth.test":
            return {"ok": True, "user_id": "UPOLO", "team_id": "TPOLO", "bot_id": "BPOLO"}
        if method == "chat.postMessage":
            error = self._check_blocks(args)
            if error:
                return {"ok": False, "error": error}
            channel = self._channel_id(str(args.get("channel", "")))
            thread_ts = args.get("thread_ts")
            if thread_ts and not any(m.ts == thread_ts and m.channel == channel for m in self.messages):
                return {"ok": False, "error": "thread_not_found"}
            message = Message(channel, self._next_ts(), args.get("text", ""), args.get("blocks") or [], thread_ts)
            self.messages.append(message)
            return {"ok": True, "channel": channel, "ts": message.ts, "message": {"text": message.text}}
        if method == "chat.update":
            error = self._check_blocks(args)
            if error:
                return {"ok": False, "error": error}
            channel = str(args.get("channel", ""))
            if channel not in self.channels.values():
                return {"ok": False, "error": "channel_not_found"}  # chat.update wants an id
            for message in self.messages:
                if message.channel == channel and message.ts == args.get("ts"):
                    message.edits.append({"text": message.text, "blocks": message.blocks})
                    message.text, message.blocks = args.get("text", ""), args.get("blocks") or []
                    return {"ok": True, "channel": channel, "ts": message.ts}
            return {"ok": False, "error": "message_not_found"}
        if method == "files.getUploadURLExternal":
            file_id = f"F{len(self.files) + 1:08d}"
            self.files[file_id] = {"filename": args.get("filename"), "length": int(args.get("length", 0)),
                                   "alt_txt": args.get("alt_txt"), "data": None}
            return {"ok": True, "file_id": file_id,
                    "upload_url": f"http://127.0.0.1:{self.port}/upload/{file_id}"}
        if method == "files.completeUploadExternal":
            shared = []
            for entry in json.loads(args.get("files", "[]")):
                record = self.files.get(entry.get("id"))
                if record is None or record["data"] is None:
                    return {"ok": False, "error": "file_not_found"}
                record.update(title=entry.get("title"), channel=args.get("channel_id"),
                              thread_ts=args.get("thread_ts"), initial_comment=args.get("initial_comment"))
                shared.append({"id": entry["id"], "title": entry.get("title"), "name": record["filename"]})
            return {"ok": True, "files": shared}
        return {"ok": False, "error": "unknown_method"}

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                path = self.path.split("?", 1)[0]
                if path.startswith("/upload/"):
                    file_id = path.rsplit("/", 1)[-1]
                    with fake.lock:
                        record = fake.files.get(file_id)
                        if record is not None:
                            record["data"] = body
                        fake.calls.append(Call("upload", 200 if record else 404, time.time()))
                    self._reply(200 if record else 404, b"OK - " + str(len(body)).encode(), "text/plain")
                    return
                method = path.removeprefix("/api/")
                with fake.lock:
                    if fake._rate_limited > 0:
                        fake._rate_limited -= 1
                        fake.calls.append(Call(method, 429, time.time()))
                        self._reply(429, b'{"ok":false,"error":"ratelimited"}', "application/json",
                                    {"Retry-After": str(fake._retry_after)})
                        return
                    auth = self.headers.get("Authorization", "")
                    if not auth:
                        answer: dict = {"ok": False, "error": "not_authed"}
                    elif auth != f"Bearer {fake.token}":
                        answer = {"ok": False, "error": "invalid_auth"}
                    else:
                        answer = fake._api(method, self._args(body))
                    fake.calls.append(Call(method, 200, time.time()))
                self._reply(200, json.dumps(answer).encode(), "application/json")

            def _args(self, body: bytes) -> dict:
                kind = self.headers.get("Content-Type", "")
                if kind.startswith("application/json"):
                    return json.loads(body or b"{}")
                return {k: v[0] for k, v in parse_qs(body.decode()).items()}

            def _reply(self, status, body, kind, headers=None):
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format, *args):
                pass

        return Handler
