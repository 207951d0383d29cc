"""PX-Web API v1 (the statistics office's database): metadata GET, data POST, json-stat2 or csv.

A GET on the table URL lists the variables (codes with diacritics: `Địa phương`, `Năm`) and their
value codes/texts; a POST of a query on the same URL returns the data. The data payload is kept as
received; the metadata and the query ride along in Payload.meta so parse() can tell stub columns
from heading columns in csv answers.

spec.url: the table (`.../pxweb/api/v1/vi/<folder>/<table>.px`), or a folder with options.tables.
spec.options:
  tables: [..]                table paths relative to spec.url (or spec.resources; else spec.url is
                              the table)
  format: json-stat2 | csv    (default json-stat2)
  query: {variable: [values] | "*" | {filter, values}}   variables not named: every value
  jurisdiction_variable / period_variable / indicator_variable: which variable is which (by code
                              or text; default: guessed from the metadata's `time` flag and names)
  indicator_map: {value code or text: indicator code}
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import urljoin

import httpx

from chitieu.ingest.connectors.ckan import _match
from chitieu.ingest.connectors.http import (
    ConfigError,
    FetchError,
    PortalConnector,
    SpecLike,
    as_text,
    load_json,
    utcnow,
)
from chitieu.ingest.records import ParseError, Payload, RawRecord
from chitieu.textnorm import fold_key

FORMATS = ("json-stat2", "csv")
_JURISDICTION_NAMES = {
    "dia phuong",
    "tinh",
    "tinh thanh pho",
    "tinh thanh",
    "dia ban",
    "vung",
    "region",
    "province",
}
_PERIOD_NAMES = {"nam", "ky", "thoi gian", "thoi ky", "quy", "thang", "year", "time", "period"}
_INDICATOR_NAMES = {"chi tieu", "chi so", "noi dung", "contents", "contentscode", "indicator"}


def _role(names: Sequence[str], labels: Mapping[str, str], guesses: set[str]) -> str | None:
    for name in names:
        if fold_key(name) in guesses or fold_key(labels.get(name, "")) in guesses:
            return name
    return None


class PxWebConnector(PortalConnector):
    kind = "pxweb"

    def __init__(self, spec: SpecLike, *, http: httpx.Client | None = None):
        super().__init__(spec, http=http)
        self.format = str(self.options.get("format", "json-stat2"))
        if self.format not in FORMATS:
            raise ConfigError(
                f"pxweb format must be one of {FORMATS}, not {self.format!r}",
                f"định dạng pxweb phải là một trong {FORMATS}, không phải {self.format!r}",
            )
        self.indicator_map: dict[str, str] = {
            str(k): str(v) for k, v in (self.options.get("indicator_map") or {}).items()
        }

    # -- fetching ----------------------------------------------------------------------------------
    def resources(self) -> list[str]:
        return self.listed_resources("tables") or [self._own_table()]

    def _own_table(self) -> str:
        return self.require_url().rstrip("/").rsplit("/", 1)[-1]

    def _table_url(self, resource: str) -> str:
        url = self.require_url()
        if url.rstrip("/").endswith(".px"):
            return url  # the spec names one table
        return urljoin(url if url.endswith("/") else url + "/", resource)

    def fetch(self, resource: str | None = None) -> Iterator[Payload]:
        for table in [resource] if resource else self.resources():
            yield self._fetch_table(table)

    def _fetch_table(self, table: str) -> Payload:
        url = self._table_url(table)
        fetched_at = utcnow()
        metadata_bytes = self.request("GET", url).content
        try:
            variables = json.loads(metadata_bytes)["variables"]
        except (ValueError, KeyError, TypeError) as exc:
            raise FetchError(
                f"{url}: the table metadata is not PX-Web JSON (no 'variables')",
                f"{url}: siêu dữ liệu của bảng không phải JSON PX-Web (thiếu 'variables')",
                url=url,
            ) from exc
        query = {"query": self._query(variables, url), "response": {"format": self.format}}
        response = self.request("POST", url, json=query)
        stem = table.rsplit("/", 1)[-1].removesuffix(".px")
        return Payload(
            name=f"pxweb-{stem}.{'csv' if self.format == 'csv' else 'json'}",
            content=response.content,
            fetched_at=fetched_at,
            url=url,
            media_type="text/csv" if self.format == "csv" else "application/json",
            resource=table,
            meta={
                "format": self.format,
                "query": json.dumps(query, ensure_ascii=False),
                "metadata": metadata_bytes.decode("utf-8-sig", "replace"),
            },
        )

    def _query(self, variables: list[dict[str, Any]], url: str) -> list[dict[str, Any]]:
        wanted: Mapping[str, Any] = self.options.get("query") or {}
        by_name: dict[str, Any] = {}
        for name, selection in wanted.items():
            key = _match(name, [v["code"] for v in variables]) or _match(name, [v["text"] for v in variables])
            if key is None:
                names = [v["code"] for v in variables]
                raise ConfigError(
                    f"{url}: the table has no variable {name!r} (variables: {names})",
                    f"{url}: bảng không có biến {name!r} (các biến: {names})",
                )
            var = next(v for v in variables if key in (v["code"], v["text"]))
            by_name[var["code"]] = selection
        query: list[dict[str, Any]] = []
        for var in variables:
            selection = by_name.get(var["code"])
            if isinstance(selection, dict):
                query.append({"code": var["code"], "selection": selection})
            elif selection == "*":
                query.append({"code": var["code"], "selection": {"filter": "all", "values": ["*"]}})
            else:
                values = list(var["values"]) if selection is None else self._codes(var, selection, url)
                query.append({"code": var["code"], "selection": {"filter": "item", "values": values}})
        return query

    @staticmethod
    def _codes(var: Mapping[str, Any], selection: Any, url: str) -> list[str]:
        """Value codes for the requested values, which may be given as codes or as texts."""
        codes, texts = list(var["values"]), list(var.get("valueTexts") or var["values"])
        chosen = []
        for value in [selection] if isinstance(selection, str | int) else selection:
            key = _match(str(value), codes)
            if key is None:
                text = _match(str(value), texts)
                key = None if text is None else codes[texts.index(text)]
            if key is None:
                raise ConfigError(
                    f"{url}: variable {var['code']!r} has no value {value!r}",
                    f"{url}: biến {var['code']!r} không có giá trị {value!r}",
                )
            chosen.append(key)
        return chosen

    # -- parsing -------------------------------------------------------------------------------------
    def parse(self, payload: Payload) -> Iterator[RawRecord]:
        body = payload.content
        fmt = payload.meta.get("format")
        if fmt is None:
            is_csv = (payload.media_type or "").endswith("csv") or payload.name.lower().endswith(".csv")
            fmt = "csv" if is_csv else "json-stat2"
        if fmt == "csv":
            yield from self._parse_csv(payload)
        else:
            yield from self._parse_jsonstat(payload, load_json(body, f"PX-Web table {payload.name}"))

    def _variable_option(self, option: str, names: Sequence[str], labels: Mapping[str, str]) -> str | None:
        given = self.options.get(option)
        if not given:
            return None
        key = _match(str(given), names) or _match(str(given), [labels.get(n, n) for n in names])
        if key is None:
            raise ParseError(
                f"options.{option} {given!r} is not a dimension of the table ({list(names)})",
                f"options.{option} {given!r} không phải một chiều của bảng ({list(names)})",
            )
        return key if key in names else next(n for n in names if labels.get(n) == key)

    def _indicator(self, code: str, label: str) -> str:
        return self.indicator_map.get(code) or self.indicator_map.get(label) or label

    def _parse_jsonstat(self, payload: Payload, ds: Any) -> Iterator[RawRecord]:
        what = f"PX-Web table {payload.name}"
        if not isinstance(ds, dict) or not isinstance(ds.get("id"), list) or "dimension" not in ds:
            raise ParseError(
                f"{what}: not a json-stat2 dataset (no id/dimension)",
                f"{what}: không phải tập dữ liệu json-stat2 (thiếu id/dimension)",
            )
        ids: list[str] = ds["id"]
        try:
            sizes = [int(s) for s in ds["size"]]
            dims = {d: ds["dimension"][d] for d in ids}
            orders: dict[str, list[str]] = {}
            for d in ids:
                index = dims[d]["category"].get("index")
                labels = dims[d]["category"].get("label") or {}
                if index is None:
                    index = list(labels)
                orders[d] = list(index) if isinstance(index, list) else sorted(index, key=index.__getitem__)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ParseError(
                f"{what}: malformed json-stat2 dimensions ({exc})",
                f"{what}: các chiều json-stat2 không đúng cấu trúc ({exc})",
            ) from exc
        if [len(orders[d]) for d in ids] != sizes:
            raise ParseError(
                f"{what}: dimension sizes {sizes} do not match the categories",
                f"{what}: kích thước các chiều {sizes} không khớp với danh mục",
            )
        count = math.prod(sizes)
        values = ds.get("value")
        if isinstance(values, dict):
            cells: list[Any] = [values.get(str(i)) for i in range(count)]
        elif isinstance(values, list) and len(values) == count:
            cells = values
        else:
            got = len(values) if isinstance(values, list) else repr(values)[:40]
            raise ParseError(
                f"{what}: expected {count} values, got {got}",
                f"{what}: cần {count} giá trị, nhận được {got}",
            )
        status = ds.get("status")
        dim_labels = {d: as_text(dims[d].get("label", d)) for d in ids}
        role = ds.get("role") or {}
        jdim = (
            self._variable_option("jurisdiction_variable", ids, dim_labels)
            or next(iter(role.get("geo") or []), None)
            or _role(ids, dim_labels, _JURISDICTION_NAMES)
        )
        pdim = (
            self._variable_option("period_variable", ids, dim_labels)
            or next(iter(role.get("time") or []), None)
            or _role(ids, dim_labels, _PERIOD_NAMES)
        )
        idim = (
            self._variable_option("indicator_variable", ids, dim_labels)
            or next(iter(role.get("metric") or []), None)
            or _role(ids, dim_labels, _INDICATOR_NAMES)
        )
        if jdim is None or pdim is None:
            raise ParseError(
                f"{what}: cannot tell which dimension is the place and which the period ({ids});"
                " set options.jurisdiction_variable and options.period_variable",
                f"{what}: không xác định được chiều địa phương và chiều thời gian ({ids});"
                " hãy khai báo options.jurisdiction_variable và options.period_variable",
            )
        extra = [d for d, n in zip(ids, sizes, strict=True) if d not in (jdim, pdim, idim) and n > 1]
        if extra and idim is None:
            idim, extra = extra[0], extra[1:]
        if extra:
            raise ParseError(
                f"{what}: dimension(s) {extra} have several categories; narrow them with options.query",
                f"{what}: chiều {extra} có nhiều giá trị; hãy giới hạn bằng options.query",
            )
        sheet = payload.resource or payload.name
        for pos in range(count):
            coords: dict[str, str] = {}
            rest = pos
            for d, size in zip(reversed(ids), reversed(sizes), strict=True):
                rest, i = divmod(rest, size)
                coords[d] = orders[d][i]

            def label(d: str, coords: dict[str, str] = coords) -> str:
                code = coords[d]
                return as_text((dims[d]["category"].get("label") or {}).get(code, code))

            symbol = status.get(str(pos)) if isinstance(status, dict) else None
            if isinstance(status, list) and pos < len(status):
                symbol = status[pos]
            elif isinstance(status, str):
                symbol = status
            raw = " | ".join(f"{dim_labels[d]}={label(d)}" for d in ids)
            yield RawRecord(
                jurisdiction=label(jdim),
                period=label(pdim),
                value=cells[pos],
                indicator=None if idim is None else self._indicator(coords[idim], label(idim)),
                sheet=sheet,
                row=pos + 1,
                column=f"value[{pos}]",
                raw=raw if symbol is None else f"{raw} | status={symbol}",
                jurisdiction_code_hint=coords[jdim],
            )

    def _parse_csv(self, payload: Payload) -> Iterator[RawRecord]:
        what = f"PX-Web table {payload.name}"
        content = payload.content
        try:
            if content.startswith((b"\xff\xfe", b"\xfe\xff")):
                text = content.decode("utf-16")
            else:
                text = content.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ParseError(
                f"{what}: csv is not UTF-8 text ({exc.reason} at byte {exc.start})",
                f"{what}: tệp csv không phải văn bản UTF-8 ({exc.reason} tại byte {exc.start})",
            ) from exc
        first_line = text.split("\n", 1)[0]
        delimiter = max(",;\t", key=first_line.count)
        rows = [r for r in csv.reader(io.StringIO(text), delimiter=delimiter)]
        while rows and not any(c.strip() for c in rows[0]):
            rows.pop(0)
        if len(rows) < 1 or len(rows[0]) < 2:
            raise ParseError(
                f"{what}: csv has no header row with at least two columns",
                f"{what}: tệp csv không có dòng tiêu đề với ít nhất hai cột",
            )
        header = rows[0]
        variables: list[dict[str, Any]] = []
        if payload.meta.get("metadata"):
            try:
                variables = json.loads(payload.meta["metadata"]).get("variables") or []
            except ValueError:
                variables = []
        var_names = [n for v in variables for n in (v.get("code", ""), v.get("text", ""))]
        stub = int(self.options.get("stub_columns", 0))
        if not stub:
            if var_names:
                while stub < len(header) - 1 and _match(header[stub], var_names) is not None:
                    stub += 1
            stub = max(stub, 1)
        stub_labels = {h: h for h in header[:stub]}
        jcol = self._variable_option("jurisdiction_variable", header[:stub], stub_labels) or _role(
            header[:stub], stub_labels, _JURISDICTION_NAMES
        )
        jcol = jcol or header[0]
        icol = self._variable_option("indicator_variable", header[:stub], stub_labels) or _role(
            header[:stub], stub_labels, _INDICATOR_NAMES
        )
        time_texts = [
            as_text(t)
            for v in variables
            if v.get("time")
            for t in (v.get("valueTexts") or v.get("values") or [])
        ]
        other_texts = [
            as_text(t)
            for v in variables
            if not v.get("time") and _match(v.get("text", ""), header[:stub]) is None
            for t in (v.get("valueTexts") or [])
        ]
        headings: list[tuple[int, str, str | None]] = []
        for i, h in enumerate(header[stub:], start=stub):
            period, prefix = h.strip(), ""
            for t in sorted(time_texts, key=len, reverse=True):
                if h.strip().endswith(t):
                    period, prefix = t, h.strip()[: -len(t)].strip()
                    break
            indicator = None
            if prefix and other_texts and prefix in other_texts:
                indicator = prefix
            headings.append((i, period, indicator))
        sheet = payload.resource or payload.name
        jidx = header.index(jcol)
        iidx = None if icol is None else header.index(icol)
        for number, row in enumerate(rows[1:], start=2):
            if not any(c.strip() for c in row):
                continue
            for i, period, heading_indicator in headings:
                indicator = row[iidx] if iidx is not None and iidx < len(row) else heading_indicator
                yield RawRecord(
                    jurisdiction=row[jidx] if jidx < len(row) else "",
                    period=period,
                    value=row[i] if i < len(row) else None,
                    indicator=None if indicator is None else self._indicator(indicator, indicator),
                    sheet=sheet,
                    row=number,
                    column=header[i],
                    raw=delimiter.join(row),
                )
