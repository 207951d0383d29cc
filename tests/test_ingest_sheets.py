"""The workbooks of tests/fixtures/sheets/ (built by make_sheets.py), each with the figures a reader
sees in it written out by hand: where each lands, at which scale and period, what is rejected and
why, and where every non-empty cell went (the reconciliation identity)."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest

from chitieu.catalog.indicators import IndicatorRegistry, indicator_from_dict
from chitieu.catalog.jurisdictions import load_jurisdictions
from chitieu.ingest.connectors.spreadsheet import SpreadsheetConnector
from chitieu.ingest.connectors.spreadsheet.cells import Limits
from chitieu.ingest.connectors.spreadsheet.grid import read_workbook
from chitieu.ingest.intake import IngestResult, ingest_payload
from chitieu.ingest.records import ParseError, Payload
from chitieu.ingest.transform import Catalog
from ingest_support import workbook

SHEETS = Path(__file__).resolve().parent / "fixtures" / "sheets"

INDICATORS = [
    {
        "code": "kts_grdp",
        "name_vi": "Tỷ trọng kinh tế số",
        "name_en": "DE share",
        "unit": "% GRDP",
        "value_type": "share_pct",
    },
    {
        "code": "dti_score",
        "name_vi": "Chỉ số DTI",
        "name_en": "DTI",
        "unit": "chỉ số",
        "value_type": "index_0_1",
    },
    {
        "code": "pii_score",
        "name_vi": "Chỉ số PII",
        "name_en": "PII",
        "unit": "điểm",
        "value_type": "score_0_100",
    },
    {
        "code": "population",
        "name_vi": "Dân số",
        "name_en": "Population",
        "unit": "người",
        "value_type": "count",
    },
    {"code": "grdp", "name_vi": "GRDP", "name_en": "GRDP", "unit": "tỷ đồng", "value_type": "amount"},
]


def catalog() -> Catalog:
    items = {d["code"]: indicator_from_dict(d) for d in INDICATORS}
    return Catalog(load_jurisdictions(), IndicatorRegistry(items=items))


def run(name: str, indicator: str | None) -> IngestResult:
    content = (SHEETS / name).read_bytes()
    return ingest_payload(
        None,
        Payload(name=name, content=content, fetched_at=datetime.now(UTC)),
        spec=None,
        connector=SpreadsheetConnector(None, indicator=indicator),
        indicator=indicator,
        dry_run=True,
        catalog=catalog(),
    )


@dataclass
class Case:
    file: str
    indicator: str | None
    # (cell, jurisdiction name, indicator, period, value, status)
    observations: set[tuple[str, str, str, str, float, str]]
    rejected: set[tuple[str, str]] = field(default_factory=set)  # (cell, reason code)
    # cells, label, missing (loaded = observations, rejected = rejections, no duplicates here)
    cells: int = 0
    label: int = 0
    missing: int = 0


NT, KH, GL, BD = "Ninh Thuận", "Khánh Hòa", "Gia Lai", "Bình Định"
KH_NEW = "Khánh Hòa"  # the merged Khánh Hòa (with Ninh Thuận) from 1 July 2025 keeps the name

CASES = [
    Case(
        "percent-format.xlsx",
        "kts_grdp",
        {
            ("C3", NT, "kts_grdp", "2023", 41.5, "final"),  # 0.415 shown as 41,5 %
            ("C4", KH, "kts_grdp", "2023", 40.2, "final"),
            ("D3", NT, "kts_grdp", "2024", 43.2, "final"),
            ("D4", KH, "kts_grdp", "2024", 44.0, "final"),  # 44 shown with a literal '%'
        },
        cells=13,
        label=9,  # title, 4 headers, 2 row numbers, 2 names
    ),
    Case(
        "unit-line.xlsx",
        "population",
        {
            ("B4", NT, "population", "2022", 598_100.0, "final"),
            ("B5", KH, "population", "2022", 1_253_500.0, "final"),
            ("C4", NT, "population", "2023", 601_200.0, "final"),
        },
        cells=12,
        label=8,  # title, unit line, 3 headers, 2 names, source line
        missing=1,
    ),
    Case(
        "unit-row.xlsx",
        "grdp",
        {
            ("B3", NT, "grdp", "2023", 45_000.0, "final"),
            ("B4", BD, "grdp", "2023", 120_500.0, "final"),
            ("C3", NT, "grdp", "2024", 52_345.0, "final"),
        },
        cells=10,
        label=7,
    ),
    Case(
        "unit-column.xlsx",
        None,
        {
            ("D2", NT, "dti_score", "2023", 0.6123, "final"),  # 'Điểm' on a 0-1 index: its own points
            ("D3", NT, "grdp", "2023", 52_345.0, "final"),  # triệu đồng -> tỷ đồng
            ("D4", NT, "population", "2023", 598_100.0, "final"),
            ("D5", NT, "pii_score", "2023", 60.76, "final"),
            ("D7", NT, "kts_grdp", "2023", 12.5, "final"),  # 'Tỷ lệ' 0,125
        },
        {("D6", "unit_unconvertible"), ("D8", "unit_unconvertible")},  # tỷ USD; ha for people
        cells=40,
        label=33,
    ),
    Case(
        "header-units.xlsx",
        "grdp",
        {
            ("C3", NT, "grdp", "2023", 45_000.0, "final"),
            ("D3", NT, "grdp", "2024", 52_000.0, "final"),
        },
        cells=9,
        label=7,
    ),
    Case(
        "year-headers.xlsx",
        "pii_score",
        {
            ("B3", NT, "pii_score", "2021", 41.2, "final"),
            ("C3", NT, "pii_score", "2022", 43.5, "final"),
            ("D3", NT, "pii_score", "2023", 45.0, "provisional"),
            ("E3", NT, "pii_score", "2024", 47.25, "final"),
        },
        {("F3", "plan_figure"), ("G3", "cumulative")},
        cells=16,
        label=10,
    ),
    Case(
        "stacked.xlsx",
        "kts_grdp",
        {
            ("B4", NT, "kts_grdp", "2023", 8.5, "final"),
            ("C4", NT, "kts_grdp", "2024", 8.9, "final"),
            ("B5", KH, "kts_grdp", "2023", 10.2, "final"),
            ("C5", KH, "kts_grdp", "2024", 10.8, "final"),
            ("B10", KH_NEW, "kts_grdp", "2025", 11.4, "provisional"),
            ("B11", GL, "kts_grdp", "2025", 7.9, "provisional"),
        },
        cells=19,
        label=13,
    ),
    Case(
        "side-by-side.xlsx",
        "kts_grdp",
        {
            ("B2", NT, "kts_grdp", "2022", 7.1, "final"),
            ("C2", NT, "kts_grdp", "2023", 7.5, "final"),
            ("B3", KH, "kts_grdp", "2022", 9.0, "final"),
            ("C3", KH, "kts_grdp", "2023", 9.4, "final"),
            ("F2", NT, "kts_grdp", "2024", 8.0, "final"),
            ("F3", BD, "kts_grdp", "2024", 6.2, "final"),
            ("B6", GL, "kts_grdp", "2025", 7.3, "final"),
        },
        cells=19,
        label=12,
    ),
    Case(
        "errors-and-formulas.xlsx",
        "kts_grdp",
        {
            ("B4", GL, "kts_grdp", "2023", 9.5, "final"),
            ("B5", BD, "kts_grdp", "2023", 10.5, "final"),  # a formula with its saved result
        },
        {
            ("B2", "error_cell"),
            ("C5", "error_cell"),
            ("C2", "uncached_formula"),
            ("B3", "external_formula"),  # WEBSERVICE
            ("C3", "external_formula"),  # [1]Sheet1!C3
        },
        cells=15,
        label=7,
        missing=1,
    ),
    Case(
        "yearbook-bilingual.xlsx",
        "kts_grdp",
        {
            ("B4", "Việt Nam", "kts_grdp", "2022", 12.83, "final"),
            ("C4", "Việt Nam", "kts_grdp", "2023", 12.87, "final"),
            ("D4", "Việt Nam", "kts_grdp", "2024", 13.17, "provisional"),
            ("B6", KH, "kts_grdp", "2022", 9.0, "final"),
            ("C6", KH, "kts_grdp", "2023", 9.4, "final"),
            ("D6", KH, "kts_grdp", "2024", 10.1, "provisional"),
        },
        {("B5", "aggregate_row"), ("C5", "aggregate_row"), ("D5", "aggregate_row")},
        cells=18,
        label=9,
    ),
    Case(
        "unrecognised-column.xlsx",
        "kts_grdp",
        {("C2", NT, "kts_grdp", "2023", 8.5, "final"), ("C3", KH, "kts_grdp", "2023", 10.2, "final")},
        {("D2", "unrecognised_column"), ("D3", "unrecognised_column")},
        cells=14,
        label=10,
    ),
    Case(
        "unreadable-period.xlsx",
        "kts_grdp",
        {("C4", KH, "kts_grdp", "2024", 10.8, "final")},
        {("B2", "bad_period"), ("B3", "bad_period")},
        cells=11,
        label=8,
    ),
    Case(
        "long-period-words.xlsx",
        "kts_grdp",
        {("C2", NT, "kts_grdp", "2023", 8.5, "final"), ("C3", NT, "kts_grdp", "2024", 8.9, "provisional")},
        {("B4", "plan_figure")},
        cells=16,
        label=13,
    ),
    Case(
        "ods-percent.ods",
        "kts_grdp",
        {("B2", NT, "kts_grdp", "2023", 41.5, "final"), ("C2", NT, "kts_grdp", "2024", 43.2, "final")},
        cells=6,
        label=4,
    ),
]


def _observed(res: IngestResult) -> set[tuple[str, str, str, str, float, str]]:
    return {
        (
            o["source"]["cell"],
            o["jurisdiction"]["name"].removeprefix("Tỉnh ").removeprefix("Thành phố "),
            o["indicator"],
            o["period"],
            round(o["value"], 6),
            o["status"],
        )
        for o in res.observations
    }


@pytest.mark.parametrize("case", CASES, ids=[c.file for c in CASES])
def test_each_sheet_loads_what_a_reader_sees(case: Case) -> None:
    res = run(case.file, case.indicator)
    assert res.status == "dry_run", res.error
    assert _observed(res) == {(*o[:4], round(o[4], 6), o[5]) for o in case.observations}
    assert {(r["column"], r["reason_code"]) for r in res.rejected} == case.rejected
    assert all(r["reason_vi"] and r["reason_en"] and r["raw"] is not None for r in res.rejected)
    expected = {
        "cells": case.cells,
        "loaded": len(case.observations),
        "unchanged": 0,
        "duplicate": 0,
        "rejected": len(case.rejected),
        "label": case.label,
        "missing": case.missing,
    }
    assert res.reconciliation == expected


@pytest.mark.parametrize("case", CASES, ids=[c.file for c in CASES])
def test_every_cell_is_accounted_for_once(case: Case) -> None:
    """cells = loaded + unchanged + duplicate + rejected + label + missing, with cells counted from
    the file itself (every non-empty cell of its sheets), not from what the reader produced."""
    res = run(case.file, case.indicator)
    r = res.reconciliation
    assert r["cells"] == sum(v for k, v in r.items() if k != "cells")
    assert r["cells"] == _non_empty_cells(SHEETS / case.file)


def _non_empty_cells(path: Path) -> int:
    from python_calamine import CalamineWorkbook

    wb = CalamineWorkbook.from_path(str(path))
    total = 0
    for name in wb.sheet_names:
        for row in wb.get_sheet_by_name(name).to_python():
            total += sum(1 for c in row if not (c == "" or c is None))
    # error cells and formulas without a saved value read as empty through calamine
    if path.suffix == ".xlsx":
        with zipfile.ZipFile(path) as zf:
            xml = zf.read("xl/worksheets/sheet1.xml").decode()
        import re

        total += len(re.findall(r'<c [^>]*t="e"', xml))
        total += len(re.findall(r"<f>[^<]*</f>(?:<v\s*/>|<v></v>|</c>)", xml))
    return total


def test_the_period_of_a_ceased_province_is_named_by_its_cell_never_nan() -> None:
    res = run("unreadable-period.xlsx", "kts_grdp")
    by_cell = {r["column"]: r for r in res.rejected}
    assert by_cell["B2"]["reason_code"] == "bad_period"  # not "not in force for period nan"
    assert "B2" in by_cell["B2"]["reason_en"]
    assert "B2" in by_cell["B2"]["reason_vi"]
    assert not any("nan" in (r["reason_en"] + r["reason_vi"]).lower() for r in res.rejected)


# --- caps on what one file may hold --------------------------------------------------------------------


@contextmanager
def _setting(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> Iterator[None]:
    """A setting given through the environment for the block; the settings cache is read afresh
    on the way in and on the way out."""
    from chitieu.settings import get_settings

    monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    try:
        yield
    finally:
        monkeypatch.delenv(name)
        get_settings.cache_clear()


def _refusal(content: bytes, name: str, limits: Limits) -> ParseError:
    """The ParseError reading the workbook under `limits` must raise."""
    with pytest.raises(ParseError) as err:
        read_workbook(content, "xlsx", name, limits)
    return err.value


def _one_huge_cell(chars: int) -> bytes:
    """A workbook whose single shared string is `chars` long: a few hundred kilobytes compressed."""
    wb, _ = workbook([["Tỉnh", "2024"], ["Ninh Thuận", 1.0]])
    buf = io.BytesIO()
    wb.save(buf)
    src = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(
                    b'<c r="A2" t="inlineStr"><is><t>Ninh Thu&#7853;n</t></is></c>',
                    b'<c r="A2" t="inlineStr"><is><t>' + b"A" * chars + b"</t></is></c>",
                )
            dst.writestr(item, data)
    return out.getvalue()


def test_an_oversized_cell_is_refused_before_the_workbook_is_read() -> None:
    limits = Limits(max_cell_chars=1_000, max_rows=100, max_columns=20, max_cells=1_000)
    content = _one_huge_cell(2_000_000)  # 2 MB of text; compresses to a few kB
    assert len(content) < 100_000
    err = _refusal(content, "bomb.xlsx", limits)
    assert "1,000" in err.en
    assert "1,000" in err.vi
    read_workbook(_one_huge_cell(500), "xlsx", "fine.xlsx", limits)  # under the cap: read


@pytest.mark.parametrize(
    ("limits", "what"),
    [
        (Limits(max_cell_chars=1_000, max_rows=2, max_columns=20, max_cells=1_000), "rows"),
        (Limits(max_cell_chars=1_000, max_rows=100, max_columns=2, max_cells=1_000), "columns"),
        (Limits(max_cell_chars=1_000, max_rows=100, max_columns=20, max_cells=5), "cells"),
    ],
)
def test_row_column_and_cell_counts_are_capped(limits: Limits, what: str) -> None:
    content = (SHEETS / "stacked.xlsx").read_bytes()  # 11 rows, 3 columns, 19 cells
    assert what in _refusal(content, "stacked.xlsx", limits).en


def test_the_caps_are_settings_and_refuse_a_file_through_the_pipeline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with _setting(monkeypatch, "CHITIEU_INGEST_MAX_CELL_CHARS", "100"):
        content = _one_huge_cell(10_000)
        res = ingest_payload(
            None,
            Payload(name="long.xlsx", content=content, fetched_at=datetime.now(UTC)),
            spec=None,
            connector=SpreadsheetConnector(None, indicator="kts_grdp"),
            indicator="kts_grdp",
            dry_run=True,
            catalog=catalog(),
        )
    assert res.status == "rejected"
    assert res.error is not None
    assert "100" in res.error.en
    assert "100" in res.error.vi


def test_a_csv_over_the_caps_is_refused_too(monkeypatch: pytest.MonkeyPatch) -> None:
    content = ("Tỉnh;2024\nNinh Thuận;" + "9" * 200 + "\nKhánh Hòa;5\n").encode()
    for env, value, word in (
        ("CHITIEU_INGEST_MAX_CELL_CHARS", "100", "100 characters"),
        ("CHITIEU_INGEST_MAX_ROWS", "2", "rows"),
    ):
        with _setting(monkeypatch, env, value), pytest.raises(ParseError) as err:
            SpreadsheetConnector(None, indicator="kts_grdp").parse_frame(
                Payload(name="x.csv", content=content, fetched_at=datetime.now(UTC))
            )
        assert word in err.value.en
