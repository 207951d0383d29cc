"""The National Public Service Portal's Decision 766 index (`report_tinh_766_service`).

The portal's pages are fed by one JSON endpoint: a POST whose form field `params` holds JSON
({service, p_nam, p_6thang, p_quy, p_thang, pageIndex, pageSize}); the answer is a JSON array of
provinces with every value as a string (`"TONG_SCORE": "86.35"`). Pages run until a short one.

spec.url: the endpoint (`https://dichvucong.gov.vn/jsp/rest.jsp`).
spec.options:
  periods: ["2024", "2024-H1", "2025-Q2", "2025-06"]   one resource each (or spec.resources, or
                            options.years)
  page_size                 default 100
  indicators: {KEY: code}   added to TONG_SCORE -> public_service_index_score, e.g.
                            {"CKMB": "psi_transparency_score", "ROW_STT": "public_service_index_rank"}
  id_is_province_code       treat ID as a province code hint (default false: ID is the portal's own)
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import httpx

from chitieu.ingest.connectors.http import (
    ConfigError,
    PortalConnector,
    SpecLike,
    as_text,
    load_json,
    paged_payload,
    utcnow,
)
from chitieu.ingest.records import ParseError, Payload, RawRecord

SERVICE = "report_tinh_766_service"
DEFAULT_INDICATORS = {"TONG_SCORE": "public_service_index_score"}
GROUP_KEYS = ("CKMB", "TDGQ", "TTTT", "CLGQ", "MDHL", "MDSH")
MAX_PAGES = 1000
_PERIOD_RE = re.compile(
    r"^(?P<year>\d{4})(?:-(?:H(?P<half>[12])|Q(?P<quarter>[1-4])|(?P<month>0[1-9]|1[0-2])))?$"
)


def period_params(period: str) -> dict[str, int]:
    """'2024-H1' -> {p_nam: 2024, p_6thang: 1, p_quy: 0, p_thang: 0}; 0 means 'not this split'."""
    m = _PERIOD_RE.match(period.strip())
    if not m:
        raise ConfigError(
            f"period {period!r} is not one of YYYY, YYYY-H1, YYYY-Q2, YYYY-MM",
            f"kỳ {period!r} không đúng dạng YYYY, YYYY-H1, YYYY-Q2, YYYY-MM",
        )
    return {
        "p_nam": int(m["year"]),
        "p_6thang": int(m["half"] or 0),
        "p_quy": int(m["quarter"] or 0),
        "p_thang": int(m["month"] or 0),
    }


class Json766Connector(PortalConnector):
    kind = "json_766"

    def __init__(self, spec: SpecLike, *, http: httpx.Client | None = None):
        super().__init__(spec, http=http)
        self.page_size = int(self.options.get("page_size", 100))
        self.indicators = {**DEFAULT_INDICATORS, **(self.options.get("indicators") or {})}

    def resources(self) -> list[str]:
        periods = self.listed_resources("periods", "years")
        if not periods:
            raise ConfigError(
                f"source {self.spec.id!r} (json_766) needs options.periods or options.years",
                f"nguồn {self.spec.id!r} (json_766) cần khai báo options.periods hoặc options.years",
            )
        for period in periods:
            period_params(period)  # fail on the spec now, not halfway through a run
        return periods

    def fetch(self, resource: str | None = None) -> Iterator[Payload]:
        url = self.require_url()
        for period in [resource] if resource else self.resources():
            fetched_at = utcnow()
            pages: list[bytes] = []
            for index in range(1, MAX_PAGES + 1):
                params: dict[str, Any] = {
                    "service": SERVICE,
                    **period_params(period),
                    "pageIndex": index,
                    "pageSize": self.page_size,
                }
                body = self.request("POST", url, data={"params": json.dumps(params)}).content
                pages.append(body)
                try:
                    rows = json.loads(body)
                except ValueError:
                    break  # kept verbatim: parse() will say what is wrong with it
                if not isinstance(rows, list) or len(rows) < self.page_size:
                    break
            yield paged_payload(
                f"portal766-{period}.json", period, pages, fetched_at=fetched_at, url=url, service=SERVICE
            )

    def parse(self, payload: Payload) -> Iterator[RawRecord]:
        what = f"766 index {payload.resource or payload.name}"
        body = load_json(payload.content, what)
        # fetch() wraps the pages in an array; a single page saved by hand is the bare array of objects.
        wrapped = isinstance(body, list) and (
            "pages" in payload.meta or any(isinstance(p, list) for p in body)
        )
        pages = body if wrapped else [body]
        period = payload.resource or payload.name.removeprefix("portal766-").removesuffix(".json")
        if not _PERIOD_RE.match(period):
            raise ParseError(
                f"{what}: the payload does not say which period it covers",
                f"{what}: không xác định được kỳ báo cáo của dữ liệu",
            )
        row = 0
        for number, page in enumerate(pages, start=1):
            if not isinstance(page, list):
                raise ParseError(
                    f"{what}, page {number}: expected a JSON array of provinces, got {type(page).__name__}",
                    f"{what}, trang {number}: cần một mảng JSON các tỉnh, nhận được {type(page).__name__}",
                )
            for item in page:
                row += 1
                if not isinstance(item, dict) or "TEN" not in item:
                    raise ParseError(
                        f"{what}: record {row} has no TEN (province name)",
                        f"{what}: bản ghi {row} thiếu TEN (tên tỉnh)",
                    )
                code = item.get("ID") if self.options.get("id_is_province_code") else None
                raw = json.dumps(item, ensure_ascii=False)
                for key, indicator in self.indicators.items():
                    if key not in item:
                        continue
                    value = item[key]
                    yield RawRecord(
                        jurisdiction=as_text(item["TEN"]),
                        period=period,
                        value=value if value is None or isinstance(value, str | int | float) else str(value),
                        indicator=indicator,
                        sheet=payload.resource or payload.name,
                        row=row,
                        column=key,
                        raw=raw,
                        jurisdiction_code_hint=None if code in (None, "") else as_text(code),
                    )
