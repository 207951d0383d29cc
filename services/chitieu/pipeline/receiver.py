"""A local JSON webhook receiver for demos and tests: the alerts' apprise `json://` channels
(catalog/routes.yaml defaults to json://127.0.0.1:${CHITIEU_DEMO_WEBHOOK_PORT:-8099}/...) deliver
here, each message appended as one JSON line to a file. Binds 127.0.0.1 unless told otherwise
(CHITIEU_DEMO_SERVICES_HOST).

    python -m chitieu.pipeline.receiver --port 8099 --out .local/run/notifications.jsonl
"""

from __future__ import annotations

import argparse
import json
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


class _Handler(BaseHTTPRequestHandler):
    server: WebhookReceiver

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        try:
            payload: Any = json.loads(body.decode("utf-8")) if body else None
        except (UnicodeDecodeError, json.JSONDecodeError):
            payload = body.decode("utf-8", errors="replace")
        self.server.record(
            {"path": self.path, "received_at": datetime.now(UTC).isoformat(), "payload": payload}
        )
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"ok": true}')

    def do_GET(self) -> None:  # a liveness probe for `pipeline up`
        self.send_response(200)
        self.end_headers()
        self.wfile.write(json.dumps({"received": len(self.server.messages)}).encode())

    def log_message(self, format: str, *args: Any) -> None:
        pass


class WebhookReceiver(ThreadingHTTPServer):
    """Usable in-process (`with WebhookReceiver(port=0) as r: ... r.messages`) or as a module."""

    daemon_threads = True

    def __init__(self, port: int = 0, out: Path | None = None, host: str = "127.0.0.1"):
        super().__init__((host, port), _Handler)
        self.messages: list[dict[str, Any]] = []
        self.out = out
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def record(self, message: dict[str, Any]) -> None:
        with self._lock:
            self.messages.append(message)
            if self.out is not None:
                self.out.parent.mkdir(parents=True, exist_ok=True)
                with self.out.open("a", encoding="utf-8") as fh:
                    fh.write(json.dumps(message, ensure_ascii=False) + "\n")

    def __enter__(self) -> WebhookReceiver:
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8099)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    server = WebhookReceiver(args.port, args.out, args.host)
    try:
        server.serve_forever()
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
