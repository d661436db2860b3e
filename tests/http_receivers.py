"""Small HTTP receivers on loopback for the outbound tests: a Slack incoming webhook and a
customer's webhook endpoint. Each records every request (path, headers, raw body) and answers
with the next status of ``statuses`` (then ``default``)."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver:
    def __init__(self, statuses=(), default: int = 200):
        self.statuses = list(statuses)
        self.default = default
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with receiver.lock:
                    status = receiver.statuses.pop(0) if receiver.statuses else receiver.default
                    receiver.requests.append(
                        {
                            "path": self.path,
                            "headers": dict(self.headers),
                            "body": body,
                            "status": status,
                        }
                    )
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def ok(self) -> list[dict]:
        with self.lock:
            return [r for r in self.requests if r["status"] < 300]

    def json_bodies(self, ok_only: bool = True) -> list[dict]:
        rows = self.ok() if ok_only else list(self.requests)
        return [json.loads(r["body"]) for r in rows]


def signature_valid(secret: str, request: dict, tolerance: int = 300) -> bool:
    import time

    headers = {k.lower(): v for k, v in request["headers"].items()}
    header = headers.get("coachhub-signature", "")
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    t, v1 = parts.get("t", ""), parts.get("v1", "")
    if not t.isdigit() or abs(time.time() - int(t)) > tolerance:
        return False
    expected = hmac.new(secret.encode(), f"{t}.".encode() + request["body"], hashlib.sha256)
    return hmac.compare_digest(expected.hexdigest(), v1)
