"""The Airflow client asks a timed-out read again and never repeats a write (a real HTTP server on
127.0.0.1 that stays silent on its first answer)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from chitieu.pipeline.airflow_client import AirflowClient


class _SilentOnce(BaseHTTPRequestHandler):
    calls: list[str] = []  # noqa: RUF012 - shared by the server's handler instances on purpose

    def _answer(self) -> None:
        if self.path != "/auth/token":
            self.calls.append(self.command)
            if len(self.calls) == 1:
                time.sleep(1.0)  # longer than the client's timeout
        body = json.dumps({"access_token": "t", "ok": True}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    _SilentOnce.calls = []
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _SilentOnce)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()


def test_a_read_that_times_out_is_asked_again(server: str) -> None:
    client = AirflowClient(server, "u", "p", timeout=0.3)
    assert client.request("GET", "/api/v2/dags") == {"access_token": "t", "ok": True}
    assert _SilentOnce.calls == ["GET", "GET"]


def test_a_write_that_times_out_is_not_repeated(server: str) -> None:
    client = AirflowClient(server, "u", "p", timeout=0.3)
    with pytest.raises(httpx.TimeoutException):
        client.request("POST", "/api/v2/dags/x/dagRuns", json={})
    assert _SilentOnce.calls == ["POST"]
