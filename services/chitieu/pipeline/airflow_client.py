"""A small client of Airflow 3's REST API v2 (what `pipeline run` needs: health, DAGs, runs)."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import httpx

from chitieu.errors import ChitieuError

TERMINAL = ("success", "failed")
# A read that times out is asked again: on a busy host the api-server can be silent for a while, and a
# GET changes nothing; a write is never repeated (it might have been applied).
READ_ATTEMPTS = 3


class AirflowError(ChitieuError):
    code = "airflow_failed"


class AirflowClient:
    def __init__(self, base_url: str, username: str, password: str, timeout: float = 30.0):
        self.base_url = base_url.rstrip("/")
        self._auth = (username, password)
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout)
        self._token: str | None = None

    def close(self) -> None:
        self._http.close()

    # --- plumbing ---------------------------------------------------------------------------------
    def wait_healthy(self, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        last: object = None
        while time.monotonic() < deadline:
            try:
                res = self._http.get("/api/v2/monitor/health")
                if res.status_code == 200:
                    return dict(res.json())
                last = res.status_code
            except httpx.HTTPError as exc:
                last = exc
            time.sleep(1.0)
        raise AirflowError(
            f"Airflow api-server not healthy at {self.base_url} after {timeout:.0f}s: {last}",
            f"máy chủ API của Airflow tại {self.base_url} chưa sẵn sàng sau {timeout:.0f}s: {last}",
        )

    def _login(self) -> str:
        res = self._http.post("/auth/token", json={"username": self._auth[0], "password": self._auth[1]})
        if res.status_code >= 300:
            raise AirflowError(
                f"Airflow login failed ({res.status_code}): {res.text[:300]}",
                f"đăng nhập Airflow thất bại ({res.status_code}): {res.text[:300]}",
            )
        token: str = res.json()["access_token"]
        return token

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        if self._token is None:
            self._token = self._login()
        for attempt in range(2):
            res = self._send(method, path, **kwargs)
            if res.status_code == 401 and attempt == 0:
                self._token = self._login()
                continue
            if res.status_code >= 300:
                raise AirflowError(
                    f"Airflow refused {method} {path}: {res.status_code} {res.text[:500]}",
                    f"Airflow từ chối {method} {path}: {res.status_code} {res.text[:500]}",
                )
            return res.json() if res.content else None
        return None

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self._token}"}
        tries = READ_ATTEMPTS if method.upper() == "GET" else 1
        for attempt in range(1, tries + 1):
            try:
                return self._http.request(method, path, headers=headers, **kwargs)
            except httpx.TimeoutException:
                if attempt == tries:
                    raise
                time.sleep(2.0 * attempt)
        raise AssertionError("unreachable")

    # --- DAGs and runs ---------------------------------------------------------------------------
    def dags(self, tag: str | None = None) -> dict[str, dict[str, Any]]:
        params: dict[str, Any] = {"limit": 1000}
        if tag:
            params["tags"] = tag
        data = self.request("GET", "/api/v2/dags", params=params)
        return {d["dag_id"]: d for d in data["dags"]}

    def import_errors(self) -> list[dict[str, Any]]:
        data = self.request("GET", "/api/v2/importErrors", params={"limit": 100})
        return list(data.get("import_errors", []))

    def wait_dags(self, expected: set[str], timeout: float) -> dict[str, dict[str, Any]]:
        deadline = time.monotonic() + timeout
        found: dict[str, dict[str, Any]] = {}
        while time.monotonic() < deadline:
            found = self.dags()
            if expected <= set(found):
                return found
            errors = self.import_errors()
            if errors:
                text = "\n".join(f"{e.get('filename')}: {e.get('stack_trace', '')[-800:]}" for e in errors)
                raise AirflowError(f"DAG import errors:\n{text}", f"lỗi nạp DAG:\n{text}")
            time.sleep(2.0)
        missing = sorted(expected - set(found))
        raise AirflowError(
            f"DAGs not registered after {timeout:.0f}s: {missing}",
            f"DAG chưa được đăng ký sau {timeout:.0f}s: {missing}",
        )

    def unpause(self, dag_id: str) -> None:
        self.request("PATCH", f"/api/v2/dags/{dag_id}", json={"is_paused": False})

    def pause(self, dag_id: str) -> None:
        self.request("PATCH", f"/api/v2/dags/{dag_id}", json={"is_paused": True})

    def trigger(self, dag_id: str, conf: dict[str, Any] | None = None) -> str:
        data = self.request(
            "POST", f"/api/v2/dags/{dag_id}/dagRuns", json={"logical_date": None, "conf": conf or {}}
        )
        return str(data["dag_run_id"])

    def runs(self, dag_id: str, since: datetime | None = None) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"limit": 100, "order_by": "-run_after"}
        if since is not None:
            params["run_after_gte"] = since.isoformat()
        data = self.request("GET", f"/api/v2/dags/{dag_id}/dagRuns", params=params)
        return list(data.get("dag_runs", []))

    def run(self, dag_id: str, run_id: str) -> dict[str, Any]:
        return dict(self.request("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}"))

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        data = self.request(
            "GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances", params={"limit": 1000}
        )
        return list(data.get("task_instances", []))
