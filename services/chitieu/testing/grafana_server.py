"""A local stand-in for the parts of Grafana's HTTP API that `chitieu dashboards push` uses.

It keeps what it is sent, answers like Grafana (404 for unknown uids, ids and versions added on
read, write-only secrets left out), records every request, and refuses with HTTP 400 what a real
Grafana refuses, by the rules written down in chitieu.testing.grafana_rules (each cites the Grafana
source it comes from). Serves on 127.0.0.1 only.
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

from chitieu.testing import grafana_rules as rules

Reply = tuple[int, Any]


def _bad(errors: list[str]) -> Reply:
    return 400, {"message": "; ".join(errors), "errors": errors}


class FakeGrafana:
    def __init__(self) -> None:
        self.folders: dict[str, dict[str, Any]] = {}
        self.datasources: dict[str, dict[str, Any]] = {}
        self.dashboards: dict[str, dict[str, Any]] = {}
        self.rules: dict[str, dict[str, Any]] = {}
        self.group_intervals: dict[tuple[str, str], int] = {}
        self.annotations: list[dict[str, Any]] = []
        self.requests: list[tuple[str, str, Any, str | None]] = []
        self.refused: list[tuple[str, str, Any]] = []
        self._ids = 0

    def next_id(self) -> int:
        self._ids += 1
        return self._ids

    @property
    def writes(self) -> list[tuple[str, str, Any, str | None]]:
        return [r for r in self.requests if r[0] != "GET"]

    def handle(self, method: str, url: str, body: Any) -> Reply:
        parsed = urlparse(url)
        parts = [unquote(p) for p in parsed.path.strip("/").split("/")]
        status, payload = self._route(method, parts, parse_qs(parsed.query), body)
        if status == 400:
            self.refused.append((method, parsed.path, payload))
        return status, payload

    def _route(self, method: str, parts: list[str], query: dict[str, list[str]], body: Any) -> Reply:
        if parts[:2] == ["api", "folders"]:
            return self._folders(method, parts[2:], body)
        if parts[:2] == ["api", "datasources"]:
            return self._datasources(method, parts[2:], body)
        if parts[:2] == ["api", "dashboards"]:
            return self._dashboards(method, parts[2:], body)
        if parts[:2] == ["api", "search"] and method == "GET":
            return 200, [
                {"uid": uid, "type": "dash-db", "title": d["dashboard"]["title"]}
                for uid, d in self.dashboards.items()
            ]
        if parts[:4] == ["api", "v1", "provisioning", "alert-rules"]:
            return self._rule(method, parts[4:], body)
        if parts[:4] == ["api", "v1", "provisioning", "folder"] and parts[5:6] == ["rule-groups"]:
            return self._group(method, parts[4], parts[6], body)
        if parts[:2] == ["api", "annotations"]:
            if method == "GET":
                wanted = set(query.get("tags", []))
                return 200, [a for a in self.annotations if wanted <= set(a["tags"])]
            if method == "POST":
                self.annotations.append({**body, "id": self.next_id()})
                return 200, {"id": self.annotations[-1]["id"], "message": "Annotation added"}
        return 404, {"message": f"not implemented: {method} /{'/'.join(parts)}"}

    def _folders(self, method: str, rest: list[str], body: Any) -> Reply:
        if method == "GET" and not rest:
            return 200, [{"uid": f["uid"], "title": f["title"], "id": f["id"]} for f in self.folders.values()]
        if method == "GET":
            found = self.folders.get(rest[0])
            return (200, found) if found else (404, {"message": "folder not found"})
        if method == "POST":
            uid = body.get("uid") or f"gen{self.next_id()}"
            # pkg/util/shortid_generator.go ValidateUID; pkg/services/folder: title required
            errors = [] if rules.valid_uid(uid) else [f"invalid folder uid {uid!r}"]
            if not str(body.get("title") or "").strip():
                errors.append("folder title cannot be empty")
            if uid in self.folders:
                return 409, {"message": "a folder with the same uid already exists"}
            if errors:
                return _bad(errors)
            self.folders[uid] = {"id": self.next_id(), "uid": uid, "title": body["title"]}
            return 200, self.folders[uid]
        if method == "PUT" and rest and rest[0] in self.folders:
            self.folders[rest[0]]["title"] = body["title"]
            return 200, self.folders[rest[0]]
        return 404, {"message": "folder not found"}

    def _datasources(self, method: str, rest: list[str], body: Any) -> Reply:
        if method == "GET" and rest[:1] == ["uid"]:
            found = self.datasources.get(rest[1])
            if not found:
                return 404, {"message": "Data source not found"}
            shown = {k: v for k, v in found.items() if k != "secureJsonData"}
            return 200, {**shown, "secureJsonFields": {"password": True}, "readOnly": False, "orgId": 1}
        if method == "POST":
            self.datasources[body["uid"]] = {**body, "id": self.next_id()}
            return 200, {"id": self.datasources[body["uid"]]["id"], "message": "Datasource added"}
        if method == "PUT" and rest[:1] == ["uid"] and rest[1] in self.datasources:
            self.datasources[rest[1]] = {**body, "id": self.datasources[rest[1]]["id"]}
            return 200, {"message": "Datasource updated"}
        return 404, {"message": "Data source not found"}

    def _dashboards(self, method: str, rest: list[str], body: Any) -> Reply:
        if method == "GET" and rest[:1] == ["uid"]:
            found = self.dashboards.get(rest[1])
            if not found:
                return 404, {"message": "Dashboard not found"}
            return 200, {
                "dashboard": copy.deepcopy(found["dashboard"]),
                "meta": {"folderUid": found["folderUid"]},
            }
        if method == "POST" and rest == ["db"]:
            dash = copy.deepcopy(body["dashboard"])
            folder = body.get("folderUid")
            errors = [] if rules.valid_uid(str(dash.get("uid") or "")) else ["invalid dashboard uid"]
            if not str(dash.get("title") or "").strip():
                errors.append("Dashboard title cannot be empty")
            if folder and folder not in self.folders:
                return 400, {"message": "folder not found"}
            if errors:
                return _bad(errors)
            previous = self.dashboards.get(dash["uid"])
            dash["id"] = previous["dashboard"]["id"] if previous else self.next_id()
            dash["version"] = previous["dashboard"]["version"] + 1 if previous else 1
            self.dashboards[dash["uid"]] = {"dashboard": dash, "folderUid": folder}
            return 200, {
                "status": "success",
                "uid": dash["uid"],
                "version": dash["version"],
                "id": dash["id"],
            }
        return 404, {"message": "Dashboard not found"}

    def _rule_errors(self, rule: dict[str, Any]) -> list[str]:
        errors = rules.api_rule_errors(rule, self.folders)
        # models/alert_rule.go ErrAlertRuleUniqueConstraintViolation: a title is unique in its folder.
        for other in self.rules.values():
            if (
                other["uid"] != rule.get("uid")
                and other.get("folderUID") == rule.get("folderUID")
                and other.get("title") == rule.get("title")
            ):
                errors.append(
                    f"a conflicting alert rule is found: title {rule.get('title')!r} in the same folder"
                )
        return errors

    def _stored(self, rule: dict[str, Any]) -> dict[str, Any]:
        key = (rule["folderUID"], rule["ruleGroup"])
        # pkg/services/ngalert/provisioning/alert_rules.go CreateAlertRule: the group's interval,
        # else the default for a new group.
        self.group_intervals.setdefault(key, rules.DEFAULT_GROUP_INTERVAL_S)
        return copy.deepcopy(rule)

    def _rule(self, method: str, rest: list[str], body: Any) -> Reply:
        if method == "GET" and len(rest) == 1:
            found = self.rules.get(rest[0])
            if not found:
                return 404, {"message": "rule not found"}
            return 200, {
                **copy.deepcopy(found),
                "id": 7,
                "updated": "2026-01-01T00:00:00Z",
                "provenance": "api",
            }
        if method == "POST" and not rest:
            if body.get("uid") in self.rules:
                return 409, {"message": "rule uid already exists"}
            errors = self._rule_errors(body)
            if errors:
                return _bad(errors)
            self.rules[body["uid"]] = self._stored(body)
            return 201, body
        if method == "PUT" and len(rest) == 1:
            if rest[0] not in self.rules:
                return 404, {"message": "rule not found"}
            errors = self._rule_errors({**body, "uid": rest[0]})
            if errors:
                return _bad(errors)
            self.rules[rest[0]] = self._stored({**body, "uid": rest[0]})
            return 200, body
        return 404, {"message": "rule not found"}

    def _group(self, method: str, folder: str, group: str, body: Any) -> Reply:
        members = [
            r for r in self.rules.values() if r.get("folderUID") == folder and r.get("ruleGroup") == group
        ]
        if method == "GET":
            if not members:
                return 404, {"message": "rule group not found"}
            interval = self.group_intervals[(folder, group)]
            return 200, {
                "title": group,
                "folderUid": folder,
                "interval": interval,
                "rules": copy.deepcopy(members),
            }
        if method == "PUT":
            # pkg/services/ngalert/api/api_provisioning.go RoutePutAlertRuleGroup: the body replaces
            # the group (rules left out are deleted), each rule validated, the interval too.
            errors = rules.interval_errors(float(body.get("interval") or 0), f"group {group!r}")
            if folder not in self.folders:
                errors.append(f"folder {folder} not found")
            incoming = []
            for rule in body.get("rules") or []:
                rule = {**rule, "folderUID": folder, "ruleGroup": group}
                errors.extend(rules.api_rule_errors(rule, self.folders))
                incoming.append(rule)
            if errors:
                return _bad(errors)
            for rule in members:
                del self.rules[rule["uid"]]
            for rule in incoming:
                self.rules[rule["uid"]] = copy.deepcopy(rule)
            self.group_intervals[(folder, group)] = int(body["interval"])
            return 200, {**body, "title": group, "folderUid": folder}
        return 404, {"message": "not found"}


@contextmanager
def serve() -> Iterator[tuple[FakeGrafana, str]]:
    """Run a FakeGrafana on 127.0.0.1 (a free port); yields it and its base URL."""
    fake = FakeGrafana()

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else None
            fake.requests.append((self.command, self.path, body, self.headers.get("Authorization")))
            status, payload = fake.handle(self.command, self.path, body)
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = _serve

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
