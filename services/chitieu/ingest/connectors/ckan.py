"""CKAN open-data portals: package_search to find datastore resources, datastore_search to read them.

A resource's pages are kept verbatim (a JSON array of the page bodies as received) so the archive
holds exactly what the portal sent; parse() reads the records through a column mapping.

spec.url: the portal root (`https://opendata.example.gov.vn/`).
spec.resources, or spec.options.resource_ids: read these resources (else: package_search).
spec.columns (field -> column), spec.period (constant period) as in every SourceSpec.
spec.options:
  query / fq / rows           package_search parameters (q, fq, page size); default q='' rows=100
  page_size                   datastore_search limit (default 1000)
  columns: {field: column}    when spec.columns is empty: jurisdiction, period, value, indicator, unit,
                              status, jurisdiction_code (these keys directly in options work too);
                              fields left unmapped are guessed
                              from common Vietnamese/English headers (Tỉnh, Năm, Giá trị, Mã chỉ tiêu)
  period_columns: [..]|auto   wide records: one column per period (the column name is the period)
  period                      a constant period when the records have no period column
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode, urljoin

import httpx

from chitieu.ingest.connectors.http import (
    ConfigError,
    FetchError,
    PortalConnector,
    SpecLike,
    as_text,
    load_json,
    paged_payload,
    utcnow,
)
from chitieu.ingest.records import ParseError, Payload, RawRecord
from chitieu.textnorm import fold_key, nfc

MAX_PAGES = 10_000
FIELDS = ("jurisdiction", "period", "value", "indicator", "unit", "status", "jurisdiction_code")

# Headers seen in provincial exports, folded (fold_key) — used only when the spec maps nothing.
_GUESSES: dict[str, tuple[str, ...]] = {
    "jurisdiction": ("tinh", "tinh thanh pho", "ten tinh", "dia phuong", "don vi hanh chinh", "province"),
    "period": ("nam", "ky", "ky bao cao", "thoi gian", "period", "year"),
    "value": ("gia tri", "so lieu", "value"),
    "indicator": ("ma chi tieu", "chi tieu", "indicator", "indicator code"),
    "unit": ("don vi tinh", "don vi", "dvt", "unit"),
    "status": ("trang thai", "tinh trang so lieu", "ghi chu", "status"),
    "jurisdiction_code": ("ma tinh", "ma dia phuong", "province code"),
}
_YEAR_RE = re.compile(r"(?<!\d)(19|20)\d\d(?!\d)")


def _match(name: str, keys: Iterable[str]) -> str | None:
    """The key that is `name`, up to Unicode normalization, case and diacritics (exact wins)."""
    keys = list(keys)
    if name in keys:
        return name
    for key in keys:
        if nfc(key) == nfc(name):
            return key
    folded = fold_key(name)
    for key in keys:
        if fold_key(key) == folded:
            return key
    return None


@dataclass(frozen=True)
class ColumnMap:
    """How the keys of a record map to RawRecord fields (names as given in the spec)."""

    mapping: Mapping[str, str]
    period_columns: tuple[str, ...] | str = ()  # names, or 'auto'
    constant_period: str | None = None
    constant_indicator: bool = False  # the spec names the indicator: no indicator column is guessed

    @classmethod
    def from_options(
        cls,
        options: Mapping[str, Any],
        columns: Mapping[str, str] | None = None,
        period: str | None = None,
        indicator: str | None = None,
    ) -> ColumnMap:
        given = (
            columns
            or options.get("columns")
            or {k: options[k] for k in FIELDS if isinstance(options.get(k), str)}
        )
        unknown = set(given) - set(FIELDS)
        if unknown:
            raise ConfigError(
                f"unknown column mapping field(s) {sorted(unknown)}; known: {list(FIELDS)}",
                f"trường ánh xạ cột không hợp lệ {sorted(unknown)}; hợp lệ: {list(FIELDS)}",
            )
        wide = options.get("period_columns") or ()
        period_columns: tuple[str, ...] | str = wide if wide == "auto" else tuple(str(c) for c in wide)
        constant = period if period is not None else options.get("period")
        return cls(
            mapping=dict(given),
            period_columns=period_columns,
            constant_period=None if constant is None else str(constant),
            constant_indicator=indicator is not None,
        )

    def resolve(self, keys: list[str], where: str) -> tuple[dict[str, str], list[str]]:
        """Actual keys for each field, and the period columns of wide records."""
        resolved: dict[str, str] = {}
        for field_name, wanted in self.mapping.items():
            key = _match(wanted, keys)
            if key is None:
                raise ParseError(
                    f"{where}: column {wanted!r} (mapped to {field_name}) not found; columns are {keys}",
                    f"{where}: không thấy cột {wanted!r} (ánh xạ cho {field_name}); các cột hiện có: {keys}",
                )
            resolved[field_name] = key
        for field_name, guesses in _GUESSES.items():
            # A constant the spec gives is not second-guessed from a column that merely looks right.
            if field_name in resolved or (field_name == "indicator" and self.constant_indicator):
                continue
            if field_name == "period" and self.constant_period is not None:
                continue
            squeezed = {g.replace(" ", "") for g in guesses}  # 'GiaTri', 'MaChiTieu'
            for key in keys:
                if fold_key(key).replace(" ", "") in squeezed and key not in resolved.values():
                    resolved[field_name] = key
                    break
        period_columns: list[str] = []
        # Without a value column, columns named like periods ('Năm 2022', '2023 (ước)') are the values.
        wide = self.period_columns == "auto" or (not self.period_columns and "value" not in resolved)
        if wide:
            used = set(resolved.values())
            period_columns = [k for k in keys if k not in used and _YEAR_RE.search(k)]
        elif self.period_columns:
            for wanted in self.period_columns:
                key = _match(wanted, keys)
                if key is None:
                    raise ParseError(
                        f"{where}: period column {wanted!r} not found; columns are {keys}",
                        f"{where}: không thấy cột kỳ {wanted!r}; các cột hiện có: {keys}",
                    )
                period_columns.append(key)
        missing = [f for f in ("jurisdiction",) if f not in resolved]
        if period_columns:
            resolved.pop("period", None)
            resolved.pop("value", None)
        else:
            missing += [f for f in ("value",) if f not in resolved]
            if "period" not in resolved and self.constant_period is None:
                missing.append("period")
        if missing:
            raise ParseError(
                f"{where}: no column for {missing}; map them in the source spec (columns are {keys})",
                f"{where}: không xác định được cột cho {missing}; hãy khai báo trong đặc tả nguồn"
                f" (các cột hiện có: {keys})",
            )
        return resolved, period_columns

    def records(
        self, rows: Iterable[tuple[int, Mapping[str, Any]]], keys: list[str], sheet: str
    ) -> Iterator[RawRecord]:
        cols, period_columns = self.resolve(keys, sheet)

        def get(rec: Mapping[str, Any], field_name: str) -> Any:
            key = cols.get(field_name)
            return None if key is None else rec.get(key)

        for row, rec in rows:
            raw = json.dumps(rec, ensure_ascii=False)
            indicator = get(rec, "indicator")
            unit = get(rec, "unit")
            status = get(rec, "status")
            code = get(rec, "jurisdiction_code")
            common: dict[str, Any] = {
                "jurisdiction": as_text(get(rec, "jurisdiction")),
                "indicator": _optional(indicator),
                "unit": _optional(unit),
                "status": _optional(status),
                "sheet": sheet,
                "row": row,
                "raw": raw,
                "jurisdiction_code_hint": _optional(code),
            }
            if period_columns:
                for key in period_columns:
                    yield RawRecord(period=key, value=_cell(rec.get(key)), column=key, **common)
            else:
                period = get(rec, "period")
                yield RawRecord(
                    period=as_text(period) if "period" in cols else as_text(self.constant_period),
                    value=_cell(get(rec, "value")),
                    column=cols["value"],
                    **common,
                )


def _optional(value: Any) -> str | None:
    """An optional label: an empty cell says nothing, so it is None rather than ''."""
    text = as_text(value).strip()
    return text or None


def _cell(value: Any) -> str | float | int | None:
    if value is None or (isinstance(value, str | int | float) and not isinstance(value, bool)):
        return value
    return json.dumps(value, ensure_ascii=False)


def datastore_pages(payload: Payload, what: str) -> list[dict[str, Any]]:
    """The `result` objects of the datastore pages in a payload (CKAN and DKAN share the shape)."""
    body = load_json(payload.content, what)
    pages = body if isinstance(body, list) else [body]
    results: list[dict[str, Any]] = []
    for number, page in enumerate(pages, start=1):
        if isinstance(page, dict) and page.get("success") is False:
            error = page.get("error")
            message = error.get("message") if isinstance(error, dict) else error
            raise ParseError(
                f"{what}, page {number}: the portal reported an error: {message}",
                f"{what}, trang {number}: cổng dữ liệu báo lỗi: {message}",
            )
        result = page.get("result") if isinstance(page, dict) else None
        if not isinstance(result, dict) or not isinstance(result.get("records"), list):
            raise ParseError(
                f"{what}, page {number}: not a datastore_search response (no result.records)",
                f"{what}, trang {number}: không phải kết quả datastore_search (thiếu result.records)",
            )
        results.append(result)
    return results


def datastore_payload(
    kind: str, rid: str, pages: list[bytes], *, fetched_at: datetime, url: str, total: int | None
) -> Payload:
    """One resource's datastore pages, kept verbatim as one archived payload (CKAN and DKAN)."""
    return paged_payload(
        f"{kind}-{rid}.json",
        rid,
        pages,
        fetched_at=fetched_at,
        url=url,
        total="" if total is None else str(total),
    )


def parse_datastore(payload: Payload, columns: ColumnMap, what: str) -> Iterator[RawRecord]:
    results = datastore_pages(payload, what)
    keys: list[str] = []
    for result in results:
        for f in result.get("fields") or []:
            key = f.get("id") if isinstance(f, dict) else None
            if isinstance(key, str) and key != "_id" and key not in keys:
                keys.append(key)
    rows: list[tuple[int, Mapping[str, Any]]] = []
    for result in results:
        for rec in result["records"]:
            if not isinstance(rec, dict):
                raise ParseError(
                    f"{what}: record {len(rows) + 1} is not an object (records_format must be 'objects')",
                    f"{what}: bản ghi {len(rows) + 1} không phải đối tượng JSON"
                    " (cần records_format 'objects')",
                )
            rows.append((len(rows) + 1, rec))
            for key in rec:
                if key != "_id" and key not in keys:
                    keys.append(key)
    if not rows:
        return
    sheet = payload.resource or payload.name
    yield from columns.records(rows, keys, sheet)


class CkanConnector(PortalConnector):
    kind = "ckan"
    action_path = "api/3/action/"

    def __init__(self, spec: SpecLike, *, http: httpx.Client | None = None):
        super().__init__(spec, http=http)
        self.columns = ColumnMap.from_options(
            self.options, self.spec_columns, self.spec_period, self.spec.indicator
        )
        self.page_size = int(self.options.get("page_size", 1000))

    def _action(self, name: str) -> str:
        base = self.require_url()
        return urljoin(base if base.endswith("/") else base + "/", self.action_path + name)

    def _json(self, url: str, **params: Any) -> Any:
        response = self.request("GET", url, params=params or None)
        try:
            return response.json()
        except ValueError as exc:
            raise FetchError(
                f"{response.url} did not answer JSON",
                f"{response.url} không trả về JSON",
                url=str(response.url),
                status=response.status_code,
            ) from exc

    def resources(self) -> list[str]:
        given = self.listed_resources("resource_ids", "resource_id")
        if given:
            return given
        url = self._action("package_search")
        rows = int(self.options.get("rows", 100))
        params: dict[str, Any] = {"q": self.options.get("query", self.options.get("q", "")), "rows": rows}
        if self.options.get("fq"):
            params["fq"] = self.options["fq"]
        found: list[str] = []
        start = 0
        for _ in range(MAX_PAGES):
            body = self._json(url, **params, start=start)
            result = body.get("result") if isinstance(body, dict) else None
            if not isinstance(result, dict) or not isinstance(result.get("results"), list):
                raise FetchError(
                    f"{url}: not a package_search response (no result.results)",
                    f"{url}: không phải kết quả package_search (thiếu result.results)",
                    url=url,
                )
            for package in result["results"]:
                for res in package.get("resources") or []:
                    if res.get("datastore_active") and res.get("id") and res["id"] not in found:
                        found.append(res["id"])
            start += len(result["results"])
            if not result["results"] or start >= int(result.get("count") or 0):
                break
        return found

    def fetch(self, resource: str | None = None) -> Iterator[Payload]:
        for rid in [resource] if resource else self.resources():
            yield self._fetch_resource(rid)

    def _fetch_resource(self, rid: str) -> Payload:
        base = self._action("datastore_search")
        first = f"{base}?{urlencode({'resource_id': rid, 'limit': self.page_size, 'offset': 0})}"
        fetched_at = utcnow()
        pages: list[bytes] = []
        seen = 0
        total: int | None = None
        url: str | None = first
        while url and len(pages) < MAX_PAGES:
            body = self.request("GET", url).content
            pages.append(body)
            try:
                result = json.loads(body)["result"]
                records = result["records"]
                total = int(result["total"]) if result.get("total") is not None else None
            except (ValueError, KeyError, TypeError):
                break  # kept verbatim: parse() will say what is wrong with it
            seen += len(records)
            if not records or (total is not None and seen >= total):
                break
            link = (result.get("_links") or {}).get("next")
            following = urljoin(url, link) if link else None
            # Some portals repeat the same link; fall back to counting offsets ourselves.
            if following is None or following == url:
                query = {"resource_id": rid, "limit": self.page_size, "offset": seen}
                following = f"{base}?{urlencode(query)}"
            url = following
        return datastore_payload(self.kind, rid, pages, fetched_at=fetched_at, url=first, total=total)

    def parse(self, payload: Payload) -> Iterator[RawRecord]:
        yield from parse_datastore(payload, self.columns, f"CKAN resource {payload.resource or payload.name}")
