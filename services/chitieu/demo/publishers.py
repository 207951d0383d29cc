"""The demo's publisher: one local HTTP server answering in the shapes of the real portals.

None of the real publishers is reachable from build machines, so the demo (`make run`) and the tests
run against this server (the tests through tests/support/publishers.py, which adds failure injection
and request recording), which reproduces (see docs/connectors.md and shared/reference/data-sources.md):

  CKAN     GET  /api/3/action/package_search?q=&rows=&start=
           GET  /api/3/action/datastore_search?resource_id=&limit=&offset=   (with _links.next)
  DKAN     GET  /api/action/datastore/search.json?resource_id=&limit=&offset=
  PX-Web   GET  /pxweb/api/v1/<lang>/<folder>/<table>.px   (metadata)
           POST /pxweb/api/v1/<lang>/<folder>/<table>.px   (json-stat2, csv with a BOM, json)
  DTI      GET  /dti/<year>   (or /dti/<year>.html): the ranking page of that year
  766      POST /jsp/rest.jsp   form field params={"service": "report_tinh_766_service", ...}

Data come from Python structures or from a folder of files in the same layout:

  ckan/packages.json                   [CKAN package objects, with resources[]]
  ckan/datastore/<resource_id>.json    {"fields": [{"id", "type"}], "records": [{...}]}  (or .csv)
  dkan/datastore/<resource_id>.json    the same
  pxweb/<lang>/<folder>/<table>.px.json
      {"title", "contents"?, "source"?, "updated"?,
       "variables": [{"code", "text", "values", "valueTexts", "time"?, "elimination"?}],
       "data": [{"key": [value codes in variable order], "values": ["12.66" | ".." ...]}]}
  dti/<year>.html                      served as is
  portal766/<period>.json              [{"ID", "TEN", "ROW_STT", "TONG_SCORE", ...}]  period: 2024, 2024-H1,
                                       2024-Q2, 2024-06

    with PublisherServer(root=Path("samples/publishers")) as srv:
        srv.url                # http://127.0.0.1:<port>

    python -m chitieu.demo.publishers --root samples/publishers --port 8765
"""

from __future__ import annotations

import argparse
import csv
import html
import io
import json
import re
import signal
import socket
import threading
from collections.abc import Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self
from urllib.parse import parse_qs, urlencode, urlsplit

from chitieu.textnorm import fold

SERVICE_766 = "report_tinh_766_service"
_MISSING = {"..", "...", "-", "–", ""}
_PERIOD_766 = re.compile(r"^\d{4}(-(H[12]|Q[1-4]|0[1-9]|1[0-2]))?$")
Reply = tuple[int, bytes, str]  # status, body, content type
DROP: Reply = (0, b"", "")  # an `intercept` answer: close the connection without a reply


# -- data ------------------------------------------------------------------------------------------
def empty_data() -> dict[str, Any]:
    return {
        "ckan": {"packages": [], "datastore": {}},
        "dkan": {"datastore": {}},
        "pxweb": {},
        "dti": {},
        "portal766": {},
    }


def _read_table(path: Path) -> dict[str, Any]:
    """A datastore table from .json ({fields, records}) or .csv (every value a string)."""
    if path.suffix == ".json":
        return dict(json.loads(path.read_text(encoding="utf-8")))
    with path.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    names = list(rows[0]) if rows else []
    return {"fields": [{"id": n, "type": "text"} for n in names], "records": rows}


def load_root(root: Path) -> dict[str, Any]:
    """Read a publisher folder (layout in the module docstring) into the in-memory structure."""
    data = empty_data()
    root = Path(root)
    if (root / "ckan" / "packages.json").is_file():
        data["ckan"]["packages"] = json.loads((root / "ckan" / "packages.json").read_text(encoding="utf-8"))
    for portal in ("ckan", "dkan"):
        folder = root / portal / "datastore"
        for path in sorted(folder.glob("*")) if folder.is_dir() else []:
            if path.suffix in (".json", ".csv"):
                data[portal]["datastore"][path.stem] = _read_table(path)
    px = root / "pxweb"
    for path in sorted(px.rglob("*.px.json")) if px.is_dir() else []:
        key = path.relative_to(px).as_posix().removesuffix(".json")
        data["pxweb"][key] = json.loads(path.read_text(encoding="utf-8"))
    for path in sorted((root / "dti").glob("*.html")) if (root / "dti").is_dir() else []:
        data["dti"][path.stem] = path.read_bytes()
    folder = root / "portal766"
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        data["portal766"][path.stem] = json.loads(path.read_text(encoding="utf-8"))
    return data


def render_dti_page(
    year: int | str,
    rows: Sequence[Mapping[str, Any]],
    *,
    groups: Sequence[tuple[str, Sequence[str]]],
    province_header: str = "Tỉnh",
    note: str | None = None,
    use_thead: bool = True,
) -> str:
    """A DTI ranking page: header row of pillar groups (colspan) over pillars; Xếp hạng, Tỉnh and
    DTI span both header rows. Each row: {"rank", "name", "pillars": [...], "dti", "href"?}."""
    width = 3 + sum(len(p) for _, p in groups)
    top = [
        '<th rowspan="2">Xếp hạng</th>',
        f'<th rowspan="2">{html.escape(province_header)}</th>',
        *(f'<th colspan="{len(p)}">{html.escape(g)}</th>' for g, p in groups),
        '<th rowspan="2">DTI</th>',
    ]
    second = [f"<th>{html.escape(p)}</th>" for _, ps in groups for p in ps]
    body = []
    for row in rows:
        name = html.escape(str(row["name"]))
        if row.get("href"):
            name = f'<a href="{html.escape(str(row["href"]))}">{name}</a>'
        cells = [str(row["rank"]), name, *(html.escape(str(v)) for v in row["pillars"]), str(row["dti"])]
        body.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    if note:
        body.append(f'<tr><td colspan="{width}"><i>{html.escape(note)}</i></td></tr>')
    header = f"<tr>{''.join(top)}</tr>\n<tr>{''.join(second)}</tr>"
    table = (
        f"<thead>\n{header}\n</thead>\n<tbody>\n" + "\n".join(body) + "\n</tbody>"
        if use_thead
        else header + "\n" + "\n".join(body)
    )
    return (
        '<!DOCTYPE html>\n<html lang="vi">\n<head><meta charset="utf-8">'
        f"<title>Bảng xếp hạng DTI cấp tỉnh năm {year}</title></head>\n<body>\n"
        f"<h1>Chỉ số chuyển đổi số cấp tỉnh (DTI) năm {year}</h1>\n"
        f'<table class="table table-bordered ranking">\n{table}\n</table>\n</body>\n</html>\n'
    )


class _Response(Exception):
    """Raised inside a route to answer with an error status."""

    def __init__(self, status: int, body: Any, content_type: str = "application/json; charset=utf-8"):
        super().__init__(status)
        self.status = status
        self.body = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
        self.content_type = content_type


# -- the server ------------------------------------------------------------------------------------
class PublisherServer:
    def __init__(
        self,
        root: Path | str | None = None,
        data: Mapping[str, Any] | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
    ):
        self.data = load_root(Path(root)) if root is not None else empty_data()
        for section, content in (data or {}).items():
            if isinstance(self.data.get(section), dict) and isinstance(content, Mapping):
                for key, value in content.items():
                    if isinstance(self.data[section].get(key), dict) and isinstance(value, Mapping):
                        self.data[section][key].update(value)
                    else:
                        self.data[section][key] = value
            else:
                self.data[section] = content
        self.host, self.port = host, port
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> Self:
        handler = type("Handler", (_Handler,), {"publisher": self})
        self._httpd = ThreadingHTTPServer((self.host, self.port), handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="publisher", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def intercept(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Reply | None:
        """A reply that replaces routing (DROP: close the connection unanswered); the demo has none."""
        del method, path, headers, body
        return None

    # -- routes ------------------------------------------------------------------------------------
    def route(
        self, method: str, path: str, query: dict[str, list[str]], body: bytes
    ) -> tuple[int, bytes, str]:
        def arg(name: str, default: str | None = None) -> str | None:
            return query.get(name, [default])[0]

        if method == "GET" and path == "/api/3/action/package_search":
            return _json(200, self._package_search(arg("q", ""), arg("rows", "10"), arg("start", "0")))
        if method == "GET" and path == "/api/3/action/datastore_search":
            return _json(200, self._datastore_search(arg("resource_id"), arg("limit"), arg("offset")))
        if method == "GET" and path == "/api/action/datastore/search.json":
            return _json(200, self._dkan_search(arg("resource_id"), arg("limit"), arg("offset")))
        if path.startswith("/pxweb/api/v1/") and path.endswith(".px"):
            return self._pxweb(method, path.removeprefix("/pxweb/api/v1/"), body)
        m = re.fullmatch(r"/dti/(\d{4})(?:\.html)?/?", path)
        if method == "GET" and m:
            page = self.data["dti"].get(m.group(1))
            if page is None:
                missing = "<html><body><h1>404 Không tìm thấy trang</h1></body></html>".encode()
                raise _Response(404, missing, "text/html; charset=utf-8")
            return 200, page if isinstance(page, bytes) else str(page).encode(), "text/html; charset=utf-8"
        if method == "POST" and path == "/jsp/rest.jsp":
            return _json(200, self._portal766(body))
        if method == "GET" and path in ("", "/"):
            return _json(200, self.index())
        raise _Response(404, {"error": f"no route for {method} {path}"})

    def index(self) -> dict[str, Any]:
        """What this server holds, for people poking at the demo."""
        return {
            "ckan": {
                "packages": [p.get("name") for p in self.data["ckan"]["packages"]],
                "datastore": sorted(self.data["ckan"]["datastore"]),
            },
            "dkan": {"datastore": sorted(self.data["dkan"]["datastore"])},
            "pxweb": [f"/pxweb/api/v1/{k}" for k in sorted(self.data["pxweb"])],
            "dti": [f"/dti/{k}" for k in sorted(self.data["dti"])],
            "portal766": {"endpoint": "/jsp/rest.jsp", "periods": sorted(self.data["portal766"])},
        }

    # CKAN ------------------------------------------------------------------------------------------
    def _package_search(self, q: str | None, rows: str | None, start: str | None) -> dict[str, Any]:
        words = fold(q or "").split()
        packages = self.data["ckan"]["packages"]

        def text(p: Mapping[str, Any]) -> str:
            tags = " ".join(t.get("name", "") for t in p.get("tags") or [])
            return fold(" ".join(str(p.get(k) or "") for k in ("name", "title", "notes")) + " " + tags)

        hits = [p for p in packages if all(w in text(p) for w in words)]
        n, s = _int(rows, "rows", 10, maximum=1000), _int(start, "start", 0)
        return {
            "help": f"{self.url}/api/3/action/help_show?name=package_search",
            "success": True,
            "result": {
                "count": len(hits),
                "facets": {},
                "results": hits[s : s + n],
                "sort": "score desc, metadata_modified desc",
                "search_facets": {},
            },
        }

    def _table(self, portal: str, resource_id: str | None) -> dict[str, Any]:
        if not resource_id:
            raise _Response(
                409,
                {
                    "help": f"{self.url}/api/3/action/help_show?name=datastore_search",
                    "success": False,
                    "error": {"resource_id": ["Missing value"], "__type": "Validation Error"},
                },
            )
        table: dict[str, Any] | None = self.data[portal]["datastore"].get(resource_id)
        if table is None:
            raise _Response(
                404,
                {
                    "help": f"{self.url}/api/3/action/help_show?name=datastore_search",
                    "success": False,
                    "error": {
                        "message": f'Not found: Resource "{resource_id}" was not found.',
                        "__type": "Not Found Error",
                    },
                },
            )
        return table

    def _datastore_search(self, rid: str | None, limit: str | None, offset: str | None) -> dict[str, Any]:
        table = self._table("ckan", rid)
        n, o = _int(limit, "limit", 100, maximum=32000), _int(offset, "offset", 0)
        records = [{"_id": i, **r} for i, r in enumerate(table["records"], start=1)]
        base = "/api/3/action/datastore_search"
        result: dict[str, Any] = {
            "include_total": True,
            "limit": n,
            "records_format": "objects",
            "resource_id": rid,
            "total_estimation_threshold": None,
            "records": records[o : o + n],
            "fields": [{"id": "_id", "type": "int"}, *table["fields"]],
            # Like CKAN: `next` is always there, even past the end; the total says when to stop.
            "_links": {
                "start": f"{base}?{urlencode({'limit': n, 'resource_id': rid})}",
                "next": f"{base}?{urlencode({'offset': o + n, 'limit': n, 'resource_id': rid})}",
            },
            "total": len(records),
        }
        if offset is not None:
            result["offset"] = o
        return {
            "help": f"{self.url}/api/3/action/help_show?name=datastore_search",
            "success": True,
            "result": result,
        }

    # DKAN ------------------------------------------------------------------------------------------
    def _dkan_search(self, rid: str | None, limit: str | None, offset: str | None) -> dict[str, Any]:
        table = self._table("dkan", rid)
        n, o = _int(limit, "limit", 100, maximum=10000), _int(offset, "offset", 0)
        records = [{k: _dkan_text(v) for k, v in r.items()} for r in table["records"]]
        return {
            "help": "Search a datastore table. :param resource_id: id or alias of the data to select.",
            "success": True,
            "result": {
                "fields": [{"id": f["id"], "type": f.get("type", "text")} for f in table["fields"]],
                "resource_id": [rid],
                "limit": n,
                "offset": o,
                "total": str(len(records)),  # DKAN 7 gives the total as a string
                "records": records[o : o + n],
            },
        }

    # PX-Web ----------------------------------------------------------------------------------------
    def _pxweb(self, method: str, key: str, body: bytes) -> tuple[int, bytes, str]:
        table = self.data["pxweb"].get(key)
        if table is None:
            raise _Response(404, {"error": "Not Found", "message": f"table {key} does not exist"})
        variables = table["variables"]
        if method == "GET":
            meta = {
                "title": table["title"],
                "variables": [
                    {
                        k: v[k]
                        for k in ("code", "text", "values", "valueTexts", "elimination", "time")
                        if k in v
                    }
                    for v in variables
                ],
            }
            return _json(200, meta)
        if method != "POST":
            raise _Response(405, {"error": "Method Not Allowed"})
        try:
            query = json.loads(body.decode("utf-8"))
            selections = {q["code"]: q["selection"] for q in query["query"]}
            fmt = query.get("response", {}).get("format", "px")
        except (ValueError, KeyError, TypeError) as exc:
            raise _Response(400, {"error": "Bad Request", "message": f"malformed query: {exc}"}) from exc
        unknown = set(selections) - {v["code"] for v in variables}
        if unknown:
            raise _Response(400, {"error": "Bad Request", "message": f"unknown variables {sorted(unknown)}"})
        chosen: list[list[int]] = []
        for var in variables:
            chosen.append(_select(var, selections.get(var["code"])))
        cells = {tuple(d["key"]): d["values"][0] for d in table.get("data", [])}
        combos = _product(
            [[var["values"][i] for i in idx] for var, idx in zip(variables, chosen, strict=True)]
        )
        raw = [cells.get(tuple(c)) for c in combos]
        if fmt == "json-stat2":
            return _json(200, _jsonstat2(table, variables, chosen, raw))
        if fmt == "csv":
            return 200, _px_csv(table, variables, chosen, raw), "text/csv; charset=utf-8"
        if fmt == "json":
            columns = [
                {"code": v["code"], "text": v["text"], "type": "t" if v.get("time") else "d"}
                for v in variables
            ]
            data = [
                {"key": list(c), "values": [v if v is not None else ".."]}
                for c, v in zip(combos, raw, strict=True)
            ]
            return _json(200, {"columns": columns, "comments": [], "data": data})
        raise _Response(400, {"error": "Bad Request", "message": f"unsupported format {fmt!r}"})

    # 766 -------------------------------------------------------------------------------------------
    def _portal766(self, body: bytes) -> list[dict[str, Any]]:
        form = parse_qs(body.decode("utf-8"), keep_blank_values=True)
        try:
            params = json.loads(form["params"][0])
        except (KeyError, IndexError, ValueError) as exc:
            raise _Response(400, {"error_code": "400", "message": "missing or malformed params"}) from exc
        if params.get("service") != SERVICE_766:
            raise _Response(
                400, {"error_code": "400", "message": f"unknown service {params.get('service')!r}"}
            )
        year = int(params.get("p_nam") or 0)
        half, quarter, month = (int(params.get(k) or 0) for k in ("p_6thang", "p_quy", "p_thang"))
        period = (
            f"{year}-H{half}"
            if half
            else f"{year}-Q{quarter}"
            if quarter
            else f"{year}-{month:02d}"
            if month
            else str(year)
        )
        rows = self.data["portal766"].get(period, [])
        index = max(1, int(params.get("pageIndex") or 1))
        size = max(1, int(params.get("pageSize") or 10))
        return list(rows[(index - 1) * size : index * size])


def _json(status: int, obj: Any) -> tuple[int, bytes, str]:
    return status, json.dumps(obj, ensure_ascii=False).encode("utf-8"), "application/json; charset=utf-8"


def _int(text: str | None, name: str, default: int, maximum: int | None = None) -> int:
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError as exc:
        raise _Response(
            409, {"success": False, "error": {name: ["Invalid integer"], "__type": "Validation Error"}}
        ) from exc
    if value < 0:
        raise _Response(
            409, {"success": False, "error": {name: ["Must be >= 0"], "__type": "Validation Error"}}
        )
    return min(value, maximum) if maximum is not None else value


def _dkan_text(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _select(var: Mapping[str, Any], selection: Mapping[str, Any] | None) -> list[int]:
    values = list(var["values"])
    if selection is None:
        if len(values) == 1 or var.get("elimination"):
            return list(range(len(values)))
        raise _Response(
            400, {"error": "Bad Request", "message": f"variable {var['code']!r} must be selected"}
        )
    kind, wanted = selection.get("filter"), [str(v) for v in selection.get("values") or []]
    if kind == "all" and wanted == ["*"]:
        return list(range(len(values)))
    if kind == "top":
        n = int(wanted[0]) if wanted else 0
        return list(range(max(0, len(values) - n), len(values)))
    if kind == "item":
        missing = [w for w in wanted if w not in values]
        if missing:
            raise _Response(
                400, {"error": "Bad Request", "message": f"{var['code']!r} has no values {missing}"}
            )
        return [values.index(w) for w in wanted]
    raise _Response(400, {"error": "Bad Request", "message": f"unsupported filter {kind!r}"})


def _product(lists: list[list[str]]) -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = [()]
    for items in lists:
        out = [(*prefix, item) for prefix in out for item in items]
    return out


def _number(text: str | None) -> int | float | None:
    if text is None or text.strip() in _MISSING:
        return None
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return None  # served as null with the text as its status symbol


def _jsonstat2(
    table: Mapping[str, Any], variables: list[dict[str, Any]], chosen: list[list[int]], raw: list[str | None]
) -> dict[str, Any]:
    dimension: dict[str, Any] = {}
    for var, idx in zip(variables, chosen, strict=True):
        texts = var.get("valueTexts") or var["values"]
        dimension[var["code"]] = {
            "label": var["text"],
            "category": {
                "index": {var["values"][i]: n for n, i in enumerate(idx)},
                "label": {var["values"][i]: texts[i] for i in idx},
            },
            "extension": {"elimination": bool(var.get("elimination", False)), "show": "value"},
        }
    status = {str(i): (v if v is not None else "..") for i, v in enumerate(raw) if _number(v) is None}
    ds: dict[str, Any] = {
        "class": "dataset",
        "label": table["title"],
        "source": table.get("source", "Tổng cục Thống kê"),
        "updated": table.get("updated", "2025-06-30T00:00:00Z"),
        "role": {"time": [v["code"] for v in variables if v.get("time")]},
        "id": [v["code"] for v in variables],
        "size": [len(idx) for idx in chosen],
        "dimension": dimension,
        "extension": {"px": {"decimals": table.get("decimals", 2), "official-statistics": True}},
        "value": [_number(v) for v in raw],
    }
    if status:
        ds["status"] = status
    return ds


def _px_csv(
    table: Mapping[str, Any], variables: list[dict[str, Any]], chosen: list[list[int]], raw: list[str | None]
) -> bytes:
    """PX-Web's csv: stub variables down the rows, the time variable across; a BOM; CRLF."""
    heading = [i for i, v in enumerate(variables) if v.get("time")][-1:] or [len(variables) - 1]
    h = heading[0]
    stub = [i for i in range(len(variables)) if i != h]
    contents = table.get("contents")
    texts = [v.get("valueTexts") or v["values"] for v in variables]
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\r\n")
    writer.writerow(
        [variables[i]["text"] for i in stub]
        + [f"{contents} {texts[h][j]}" if contents else texts[h][j] for j in chosen[h]]
    )
    sizes = [len(idx) for idx in chosen]
    strides = [1] * len(sizes)
    for i in range(len(sizes) - 2, -1, -1):
        strides[i] = strides[i + 1] * sizes[i + 1]
    for stub_pos in _product([[str(n) for n in range(sizes[i])] for i in stub]):
        labels = [texts[i][chosen[i][int(p)]] for i, p in zip(stub, stub_pos, strict=True)]
        row: list[Any] = list(labels)
        for k in range(sizes[h]):
            pos = sum(int(p) * strides[i] for i, p in zip(stub, stub_pos, strict=True)) + k * strides[h]
            number = _number(raw[pos])
            row.append(number if number is not None else (raw[pos] or ".."))
        writer.writerow(row)
    return b"\xef\xbb\xbf" + out.getvalue().encode("utf-8")


class _Handler(BaseHTTPRequestHandler):
    publisher: PublisherServer
    protocol_version = "HTTP/1.1"
    server_version = "FakePublisher/1.0"

    def log_message(self, format: str, *args: Any) -> None:
        pass  # stderr noise helps nobody; tests assert on the requests they record

    def _handle(self, method: str) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        reply = self.publisher.intercept(method, self.path, headers, body)
        if reply is DROP:
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if reply is not None:
            self._send(*reply)
            return
        try:
            status, payload, content_type = self.publisher.route(
                method, parts.path, parse_qs(parts.query, keep_blank_values=True), body
            )
        except _Response as resp:
            status, payload, content_type = resp.status, resp.body, resp.content_type
        self._send(status, payload, content_type)

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m chitieu.demo.publishers",
        description="Serve fake CKAN, DKAN, PX-Web, DTI and 766 endpoints from a folder (127.0.0.1 only).",
    )
    parser.add_argument(
        "--root", type=Path, required=True, help="publisher folder (see the module docstring)"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args(argv)
    if not args.root.is_dir():
        parser.error(f"--root {args.root} is not a folder")
    server = PublisherServer(root=args.root, host=args.host, port=args.port).start()
    print(f"fake publishers serving {args.root} at {server.url}", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()
