"""Shared helpers of the ingestion tests (tests/test_ingest_*.py): a small indicator dictionary,
the real jurisdiction registry, and builders for workbooks and payloads."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

from openpyxl import Workbook

from chitieu.catalog.indicators import IndicatorRegistry, indicator_from_dict
from chitieu.catalog.jurisdictions import load_jurisdictions
from chitieu.ingest.records import Payload
from chitieu.ingest.transform import Catalog

TEST_INDICATORS = [
    {
        "code": "kts_grdp",
        "name_vi": "Tỷ trọng kinh tế số trong GRDP",
        "name_en": "Digital economy share of GRDP",
        "unit": "%",
        "value_type": "share_pct",
        "aliases": ["KTS/GRDP", "kinh tế số"],
    },
    {
        "code": "dti_score",
        "name_vi": "Chỉ số chuyển đổi số DTI",
        "name_en": "DTI score",
        "unit": "điểm (0-1)",
        "value_type": "index_0_1",
        "aliases": ["DTI"],
    },
    {
        "code": "pii_rank",
        "name_vi": "Xếp hạng PII",
        "name_en": "PII rank",
        "unit": "hạng",
        "value_type": "rank",
    },
    {
        "code": "dn_cong_nghe_so",
        "name_vi": "Số doanh nghiệp công nghệ số",
        "name_en": "Digital tech firms",
        "unit": "doanh nghiệp",
        "value_type": "count",
    },
    {
        "code": "can_bo_nc",
        "name_vi": "Cán bộ nghiên cứu trên 1 vạn dân",
        "name_en": "Researchers per 10,000",
        "unit": "người/10.000 dân",
        "value_type": "rate_per_10k",
    },
]


def test_catalog() -> Catalog:
    items = {d["code"]: indicator_from_dict(d) for d in TEST_INDICATORS}
    return Catalog(load_jurisdictions(), IndicatorRegistry(items=items))


test_catalog.__test__ = False  # type: ignore[attr-defined]  # not a test


def workbook(rows: list[list[Any]], title: str = "Sheet1") -> tuple[Workbook, Any]:
    """A workbook whose first sheet, named `title`, holds `rows`; and that sheet."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = title
    for r in rows:
        ws.append(r)
    return wb, ws


def xlsx_bytes(
    rows: list[list[Any]],
    title: str = "Sheet1",
    extra_sheets: dict[str, list[list[Any]]] | None = None,
    merges: list[str] | None = None,
) -> bytes:
    wb, ws = workbook(rows, title)
    for m in merges or []:
        ws.merge_cells(m)
    for name, more in (extra_sheets or {}).items():
        sh = wb.create_sheet(name)
        for r in more:
            sh.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def payload(content: bytes, name: str) -> Payload:
    return Payload(name=name, content=content, fetched_at=datetime.now(UTC))


def to_cp1258(text: str) -> bytes:
    """Vietnamese text as Windows-1258 writes it: â/ă/ơ/ư precomposed, tone marks combining."""
    import unicodedata

    out = bytearray()
    for ch in unicodedata.normalize("NFC", text):
        try:
            out += ch.encode("cp1258")
            continue
        except UnicodeEncodeError:
            pass
        decomposed = unicodedata.normalize("NFD", ch)
        base, marks = decomposed[0], decomposed[1:]
        for i, mark in enumerate(marks):
            head = unicodedata.normalize("NFC", base + mark)
            rest = marks[:i] + marks[i + 1 :]
            try:
                out += head.encode("cp1258") + rest.encode("cp1258")
                break
            except UnicodeEncodeError:
                continue
        else:
            out += decomposed.encode("cp1258")
    return bytes(out)
