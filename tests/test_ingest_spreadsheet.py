"""The spreadsheet connector on files built here: formats, encodings, layouts, broken files."""

from __future__ import annotations

import csv
import io
import unicodedata
from typing import ClassVar

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chitieu.ingest.connectors import CONNECTORS, UnknownConnectorError, connector_class, get_connector
from chitieu.ingest.connectors.spreadsheet import SpreadsheetConnector, sniff_kind
from chitieu.ingest.intake import ingest_payload
from chitieu.ingest.records import ParseError
from chitieu.ingest.specs import SourceSpec
from ingest_support import payload, test_catalog, to_cp1258, xlsx_bytes

LONG_ROWS = [
    ["BÁO CÁO SỐ LIỆU CHỈ TIÊU NGHỊ QUYẾT 57"],
    ["(kèm theo Công văn số 123/UBND)"],
    [],
    ["STT", "Tỉnh/Thành phố", "Mã chỉ tiêu", "Kỳ", "Giá trị", "Đơn vị tính", "Trạng thái"],
    [1, "Tỉnh Ninh Thuận", "kts_grdp", "2023", "10,5", "%", "chính thức"],
    [2, "T. Ninh Thuận", "kts_grdp", "Năm 2024", "11,25", "%", "ước tính"],
    [3, "NINH THUẬN", "dti_score", 2024, "0.5123", None, None],
    [],
    [4, "Bình Định", "pii_rank", "2024", "22", "hạng", None],
    [5, "Gia Lai", "kts_grdp", "6 tháng đầu năm 2024", "-", "%", None],
    ["Ghi chú: số liệu năm 2024 là số ước tính."],
    ["Nguồn: Sở KH&CN"],
]


def run(content: bytes, name: str, *, indicator: str | None = None):  # type: ignore[no-untyped-def]
    return ingest_payload(
        None,
        payload(content, name),
        spec=None,
        connector=SpreadsheetConnector(None, indicator=indicator),
        indicator=indicator,
        dry_run=True,
        catalog=test_catalog(),
    )


def by_cell(result) -> dict[str, dict]:  # type: ignore[no-untyped-def, type-arg]
    return {o["source"]["cell"]: o for o in result.observations}


def test_long_layout_below_title_rows() -> None:
    res = run(xlsx_bytes(LONG_ROWS, title="Số liệu"), "bao-cao.xlsx")
    assert res.status == "dry_run"
    assert res.rows_rejected == 0, res.rejected
    obs = by_cell(res)
    assert set(obs) == {"E5", "E6", "E7", "E9"}  # real sheet rows; E10 is '-' (missing, skipped)
    assert res.rows_missing == 1
    e5, e6, e7, e9 = obs["E5"], obs["E6"], obs["E7"], obs["E9"]
    assert (e5["jurisdiction"], e5["period"], e5["value"], e5["status"]) == (
        {"name": "Ninh Thuận", "code": "58"},
        "2023",
        10.5,
        "final",
    )
    assert (e6["period"], e6["value"], e6["status"]) == ("2024", 11.25, "provisional")
    assert (e7["indicator"], e7["value"]) == ("dti_score", pytest.approx(0.5123))
    assert e9["jurisdiction"]["code"] == "52"
    assert e9["source"]["jurisdiction_id"] == "old-52"
    assert e5["source"]["sheet"] == "Số liệu"
    assert e5["source"]["row"] == 5


def test_wide_layout_with_merged_two_row_header() -> None:
    rows = [
        ["TỶ TRỌNG KINH TẾ SỐ TRONG GRDP CÁC TỈNH"],
        ["STT", "Tỉnh/Thành phố", "Tỷ trọng (%)", None, None, None, None],
        [None, None, "2021", "Năm 2022", "2023 (ước)", "6 tháng đầu năm 2024", "Quý II/2024"],
        [1, "Ninh Thuận", "8,1", 8.9, "9,45", "x", "5"],
        [2, "Khánh Hòa", 9.1, "..", 10.2, "4,1", None],
        [None, None, None, None, None, None, None],
        ["(*) Số liệu sơ bộ"],
    ]
    content = xlsx_bytes(rows, merges=["A2:A3", "B2:B3", "C2:G2"])
    res = run(content, "wide.xlsx", indicator="kts_grdp")
    assert res.rows_rejected == 0, res.rejected
    obs = by_cell(res)
    assert set(obs) == {"C4", "D4", "E4", "G4", "C5", "E5", "F5"}
    assert obs["E4"]["period"] == "2023"
    assert obs["E4"]["status"] == "provisional"
    assert obs["C4"]["status"] == "final"
    assert obs["G4"]["period"] == "2024-Q2"
    assert obs["F5"]["period"] == "2024-H1"
    assert obs["D4"]["value"] == 8.9
    assert obs["C5"]["jurisdiction"]["name"] == "Khánh Hòa"
    assert res.rows_missing == 2  # 'x' and '..'


def test_ods_workbook() -> None:
    frame = pd.DataFrame(
        {"Tỉnh": ["Ninh Thuận", "Khánh Hòa"], "Năm 2022": ["7,5", "8,25"], "Năm 2023": [8.0, 9.0]}
    )
    buf = io.BytesIO()
    frame.to_excel(buf, engine="odf", index=False, sheet_name="KTS")
    res = run(buf.getvalue(), "kts.ods", indicator="kts_grdp")
    assert res.rows_rejected == 0, res.rejected
    values = sorted((o["jurisdiction"]["name"], o["period"], o["value"]) for o in res.observations)
    assert values == [
        ("Khánh Hòa", "2022", 8.25),
        ("Khánh Hòa", "2023", 9.0),
        ("Ninh Thuận", "2022", 7.5),
        ("Ninh Thuận", "2023", 8.0),
    ]
    assert by_cell(res)["B2"]["value"] == 7.5


def test_xls_workbook() -> None:
    """A real BIFF8 .xls, written by xlwt (the Excel 97-2003 writer), read back through python-calamine."""
    import xlwt  # a dev dependency: a missing writer must fail the test, not skip it

    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("Báo cáo")
    rows = [
        ["BÁO CÁO CHỈ SỐ DTI"],
        [],
        ["Tỉnh/Thành phố", "Mã chỉ tiêu", "Năm", "Giá trị"],
        ["Ninh Thuận", "dti_score", 2023, 0.4871],
        ["Khánh Hòa", "dti_score", "Năm 2023", "0,5012"],
    ]
    for r, row in enumerate(rows):
        for c, cell in enumerate(row):
            sheet.write(r, c, cell)
    buf = io.BytesIO()
    book.save(buf)
    content = buf.getvalue()
    assert content.startswith(b"\xd0\xcf\x11\xe0")  # an OLE compound file, as real .xls files are
    assert sniff_kind(content, "bao-cao.xls") == "xls"
    res = run(content, "bao-cao.xls")
    assert res.rows_rejected == 0, res.rejected
    got = {(o["jurisdiction"]["name"], o["source"]["cell"]): o["value"] for o in res.observations}
    assert got == {("Ninh Thuận", "D4"): pytest.approx(0.4871), ("Khánh Hòa", "D5"): pytest.approx(0.5012)}


CSV_TEXT = (
    "Báo cáo chỉ tiêu kinh tế số\n"
    "\n"
    "Mã tỉnh{d}Tỉnh/Thành phố{d}Năm{d}Giá trị\n"
    '58{d}Tỉnh Ninh Thuận{d}2022{d}"12,5"\n'
    '56{d}Khánh Hòa{d}2022{d}"13,75"\n'
    "{d}Nguồn: Cục Thống kê{d}{d}\n"
)


@pytest.mark.parametrize(
    ("encoding", "delimiter"),
    [
        ("utf-8", ","),
        ("utf-8-sig", ";"),
        ("utf-16", "\t"),
        ("utf-16-le", ";"),
        ("cp1258", ";"),
        ("utf-8", "|"),
        ("nfd-utf-8", ","),
    ],
)
def test_csv_encodings_and_delimiters(encoding: str, delimiter: str) -> None:
    text = CSV_TEXT.format(d=delimiter)
    if encoding == "cp1258":
        content = to_cp1258(text)
    elif encoding == "nfd-utf-8":
        content = unicodedata.normalize("NFD", text).encode("utf-8")
    else:
        content = text.encode(encoding)
    res = run(content, "kts.csv", indicator="kts_grdp")
    assert res.rows_rejected == 0, res.rejected
    obs = sorted((o["jurisdiction"]["code"], o["value"], o["source"]["cell"]) for o in res.observations)
    assert obs == [("56", 13.75, "D5"), ("58", 12.5, "D4")]


def test_unknown_jurisdiction_reports_the_label_and_its_cell() -> None:
    rows = [["Tỉnh", "Năm", "Giá trị"], ["Tỉnh Không Tồn Tại", "2022", "5"], ["Ninh Thuận", "2022", "abc"]]
    res = run(xlsx_bytes(rows), "x.xlsx", indicator="kts_grdp")
    rej = {r["reason_code"]: r for r in res.rejected}
    assert rej["unknown_jurisdiction"]["raw"] == "Tỉnh Không Tồn Tại"
    assert rej["unknown_jurisdiction"]["column"] == "A2"
    assert rej["unparsable_value"]["raw"] == "abc"
    assert rej["unparsable_value"]["column"] == "C3"
    out = res.to_dict()["rejected"]
    assert set(out[0]) == {"sheet", "row", "column", "raw", "reason_code", "reason_vi", "reason_en"}
    assert {r["reason_code"] for r in out} == {"unknown_jurisdiction", "unparsable_value"}
    assert all(r["reason_vi"] and r["reason_en"] and r["reason_vi"] != r["reason_en"] for r in out)


@pytest.mark.parametrize("eol", ["\n", "\r\n", "\r"])
def test_csv_rows_are_the_lines_an_editor_shows_after_quoted_line_breaks(eol: str) -> None:
    lines = [
        "Tỉnh,Năm,Giá trị,Ghi chú",
        f'Ninh Thuận,2022,5,"số liệu sơ bộ,{eol}cập nhật sau"',
        "",
        "Bình Định,2022,abc,",
        "Quảng Nam,2022,7,",
    ]
    res = run(eol.join(lines).encode(), "ghi-chu.csv", indicator="kts_grdp")
    assert [(r["row"], r["column"], r["raw"]) for r in res.rejected] == [(5, "C5", "abc")]
    assert sorted(o["source"]["cell"] for o in res.observations) == ["C2", "C6"]


def test_a_spec_declares_the_decimal_point_of_an_english_export() -> None:
    rows = [["Province", "Year", "Value"], ["Ninh Thuận", "2023", "1.500"], ["Khánh Hòa", "2023", "2,5"]]
    spec = SourceSpec(
        id="english-export", kind="spreadsheet", title="t", path="x.xlsx", options={"decimal_mark": "."}
    )
    common = {"connector": SpreadsheetConnector(None, indicator="can_bo_nc"), "indicator": "can_bo_nc"}
    kw = {**common, "dry_run": True, "catalog": test_catalog()}
    res = ingest_payload(None, payload(xlsx_bytes(rows), "x.xlsx"), spec=spec, **kw)
    assert [o["value"] for o in res.observations] == [1.5]
    assert [(r["column"], r["reason_code"]) for r in res.rejected] == [("C3", "unparsable_value")]
    # without the declaration the Vietnamese rules apply: a thousands dot, a decimal comma
    res = ingest_payload(None, payload(xlsx_bytes(rows), "x.xlsx"), spec=None, **kw)
    assert sorted(o["value"] for o in res.observations) == [2.5, 1500.0]


def test_merged_provinces_resolve_by_period() -> None:
    rows = [
        ["Mã tỉnh", "Kỳ", "Giá trị"],
        ["52", "2024", "7"],  # Bình Định
        ["52", "2025-H2", "8"],  # the merged Gia Lai reuses code 52
        ["Ninh Thuận", "2025-H2", "9"],  # merged into Khánh Hòa on 1 July 2025: not in force
        ["Khánh Hòa", "2025-H2", "10"],
        ["Khánh Hòa", "2024", "11"],  # the pre-merger Khánh Hòa
    ]
    res = run(xlsx_bytes(rows), "m.xlsx", indicator="kts_grdp")
    ids = {o["source"]["cell"]: o["source"]["jurisdiction_id"] for o in res.observations}
    assert ids == {"C2": "old-52", "C3": "new-52", "C5": "new-56", "C6": "old-56"}
    (rej,) = res.rejected
    assert rej["reason_code"] == "jurisdiction_not_in_force"
    assert rej["raw"] == "Ninh Thuận"
    assert "2025-H2" in rej["reason_en"]


def test_units_convert_to_stored_scale() -> None:
    rows = [
        ["Tỉnh", "Chỉ tiêu", "Năm", "Giá trị", "ĐVT"],
        ["Ninh Thuận", "KTS/GRDP", "2022", "0,125", "Tỷ lệ"],  # a ratio: 12.5 %
        ["Ninh Thuận", "kts_grdp", "2023", "13,5%", None],
        ["Ninh Thuận", "DTI", "2023", "51,23%", None],  # an index written as percent
        ["Ninh Thuận", "can_bo_nc", "2023", "0,9", "người/1.000 dân"],
        ["Ninh Thuận", "dn_cong_nghe_so", "2023", "1,2", "nghìn doanh nghiệp"],
    ]
    res = run(xlsx_bytes(rows), "u.xlsx")
    got = {(o["indicator"], o["period"]): o["value"] for o in res.observations}
    assert got[("kts_grdp", "2022")] == pytest.approx(12.5)
    assert got[("kts_grdp", "2023")] == pytest.approx(13.5)
    assert got[("dti_score", "2023")] == pytest.approx(0.5123)
    assert got[("can_bo_nc", "2023")] == pytest.approx(9.0)
    assert got[("dn_cong_nghe_so", "2023")] == pytest.approx(1200.0)


@pytest.mark.parametrize(
    ("indicator", "value", "ok"),
    [
        ("kts_grdp", "100,5", False),
        ("kts_grdp", "100", True),
        ("kts_grdp", "-0,1", False),
        ("dti_score", "1.2", False),
        ("dti_score", "0.99", True),
        ("pii_rank", "0", False),
        ("pii_rank", "1", True),
        ("dn_cong_nghe_so", "(3)", False),
        ("dn_cong_nghe_so", "0", True),
    ],
)
def test_out_of_range_values(indicator: str, value: str, ok: bool) -> None:
    rows = [["Tỉnh", "Năm", "Giá trị"], ["Ninh Thuận", "2023", value]]
    res = run(xlsx_bytes(rows), "r.xlsx", indicator=indicator)
    assert (res.rows_rejected == 0) is ok
    if not ok:
        assert res.rejected[0]["reason_code"] == "out_of_range"


def test_conflicting_duplicates_reject_all_rows_exact_duplicates_load_once() -> None:
    rows = [
        ["Tỉnh", "Năm", "Giá trị"],
        ["Ninh Thuận", "2022", "10"],
        ["T. Ninh Thuận", "2022", "11"],  # same figure, other value: conflict
        ["Khánh Hòa", "2022", "9"],
        ["Tỉnh Khánh Hòa", "2022", "9,0"],  # same figure, same value: fine
    ]
    res = run(xlsx_bytes(rows), "d.xlsx", indicator="kts_grdp")
    assert sorted(r["row"] for r in res.rejected) == [2, 3]
    assert {r["reason_code"] for r in res.rejected} == {"conflicting_duplicate"}
    assert "2, 3" in res.rejected[0]["reason_en"]
    assert [(o["jurisdiction"]["name"], o["value"]) for o in res.observations] == [("Khánh Hòa", 9.0)]


def test_multiple_sheets_and_a_sheet_without_table() -> None:
    content = xlsx_bytes(
        [["Tỉnh", "2022"], ["Ninh Thuận", "5"]],
        title="A",
        extra_sheets={
            "Hướng dẫn": [["Điền số liệu vào trang A"]],
            "B": [["Tỉnh", "2023"], ["Ninh Thuận", "6"]],
        },
    )
    res = run(content, "s.xlsx", indicator="kts_grdp")
    assert sorted((o["source"]["sheet"], o["period"]) for o in res.observations) == [
        ("A", "2022"),
        ("B", "2023"),
    ]
    assert any("Hướng dẫn" in n for n in res.notes)


def test_missing_indicator_rejects_the_file_clearly() -> None:
    res = run(xlsx_bytes([["Tỉnh", "2022"], ["Ninh Thuận", "5"]]), "noind.xlsx")
    assert res.status == "rejected"
    assert res.error is not None
    assert res.error.code == "missing_indicator"
    assert "--indicator" in res.error.en
    assert "--indicator" in res.error.vi


def _encrypted_xlsx() -> bytes:
    from msoffcrypto.format.ooxml import OOXMLFile

    plain = io.BytesIO(xlsx_bytes([["Tỉnh", "2022"], ["Ninh Thuận", "5"]]))
    out = io.BytesIO()
    OOXMLFile(plain).encrypt("mat-khau", out)
    return out.getvalue()


PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde"


@pytest.mark.parametrize(
    ("name", "content", "needle"),
    [
        ("empty.xlsx", b"", "empty"),
        ("blank.csv", b"\r\n\r\n  \n", "empty"),
        ("truncated.xlsx", xlsx_bytes([["Tỉnh", "2022"], ["Ninh Thuận", "5"]])[:300], "cannot be read"),
        ("zip.xlsx", b"PK\x03\x04" + b"\x00" * 200, "ZIP"),
        ("locked.xlsx", None, "password"),
        ("text.xlsx", "Tỉnh,2022\nNinh Thuận,5\n".encode(), "content is CSV"),
        ("image.csv", PNG, "PNG"),
        ("binary.csv", bytes(range(256)) * 4, "binary"),
        ("notable.csv", b"hello world\nno table here\n", "no table"),
    ],
)
def test_unreadable_files_are_rejected_whole_with_a_clear_error(
    name: str, content: bytes | None, needle: str
) -> None:
    data = _encrypted_xlsx() if content is None else content
    res = run(data, name, indicator="kts_grdp")
    assert res.status == "rejected"
    assert res.error is not None
    assert needle.lower() in res.error.en.lower(), res.error.en
    assert res.rejected[0]["reason_code"] == "unreadable_file"
    assert not res.observations


def test_sniffing_by_content() -> None:
    assert sniff_kind(xlsx_bytes([["a"]]), "upload") == "xlsx"
    assert sniff_kind(b"a;b\n1;2\n", "") == "csv"
    with pytest.raises(ParseError):
        sniff_kind(PNG, "x.csv")


def test_connector_allow_list() -> None:
    assert connector_class("spreadsheet") is SpreadsheetConnector
    assert set(CONNECTORS) == {"spreadsheet", "ckan", "dkan", "pxweb", "html_table", "json_766"}
    with pytest.raises(UnknownConnectorError):
        connector_class("os:system")

    class Spec:
        kind = "spreadsheet"
        resources: ClassVar[list[str]] = []
        url = None

        def resolved_path(self) -> None:
            return None

    assert isinstance(get_connector(Spec()), SpreadsheetConnector)


def test_raw_records_protocol() -> None:
    """parse() yields RawRecords with the same positions the frame path uses."""
    conn = SpreadsheetConnector(None)
    recs = list(conn.parse(payload(xlsx_bytes(LONG_ROWS), "b.xlsx")))
    assert [(r.row, r.column) for r in recs][:3] == [(5, "E5"), (6, "E6"), (7, "E7")]
    assert recs[0].jurisdiction == "Tỉnh Ninh Thuận"
    assert recs[0].period == "2023"


messy_cell = st.one_of(
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=12),
    st.text(alphabet="0123456789.,-()% xướcsơbộ–", max_size=10),
    st.sampled_from(["-", "x", "..", "", "12,5", "1.500.000", "(3)", "ước", "2024", "abc"]),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(messy_cell, messy_cell, messy_cell), min_size=1, max_size=8))
def test_messy_rows_never_crash_the_pipeline(rows: list[tuple[str, str, str]]) -> None:
    """Whatever the cells, every row is loaded, skipped as missing, or rejected with a reason."""
    buf = io.StringIO()
    csv.writer(buf, delimiter=";").writerows([["Tỉnh", "Năm", "Giá trị"], *rows])
    res = run(buf.getvalue().encode("utf-8"), "messy.csv", indicator="kts_grdp")
    if res.status == "rejected":  # only a file-level reason, stated
        assert res.error
        assert res.rejected[0]["reason_code"] == "unreadable_file"
        return
    assert all(r["reason_vi"] and r["reason_en"] for r in res.rejected)
    accounted = len(res.observations) + res.rows_rejected + res.rows_missing
    duplicates = res.rows_read - accounted  # exact duplicates load once
    assert 0 <= duplicates <= res.rows_read
    assert res.rows_read <= len(rows)


@pytest.mark.parametrize(("date1904", "serial"), [(False, 45474), (True, 45474 - 1462)])
def test_excel_date_systems(date1904: bool, serial: int) -> None:
    """Dates in period cells, typed as dates or left as raw serials, in both Excel date systems."""
    from datetime import datetime

    from openpyxl import Workbook
    from openpyxl.utils.datetime import CALENDAR_MAC_1904

    wb = Workbook()
    if date1904:
        wb.epoch = CALENDAR_MAC_1904
    ws = wb.active
    assert ws is not None
    ws.append(["Tỉnh", "Kỳ", "Giá trị"])
    ws.append(["Ninh Thuận", datetime(2024, 6, 30), "5"])  # noqa: DTZ001 -- a cell's date-time has no zone
    ws.append(["Khánh Hòa", serial, "6"])  # 2024-07-01 in the workbook's own system
    buf = io.BytesIO()
    wb.save(buf)
    res = run(buf.getvalue(), "dates.xlsx", indicator="kts_grdp")
    assert res.rows_rejected == 0, res.rejected
    assert {o["jurisdiction"]["name"]: o["period"] for o in res.observations} == {
        "Ninh Thuận": "2024-06",
        "Khánh Hòa": "2024-07",
    }
