"""Generate the demo inputs in samples/ (deterministic: the same files on every run).

    uv run python samples/make_samples.py

Every figure is SYNTHETIC (made up for the demo, marked so in each file) except those cited from
the seed programmes and ../shared/reference (listed in CITED below and in samples/README.md).
Jurisdictions follow the 1 July 2025 merger: the nine provinces before it (the four seed provinces
and those merged with them) for 2020 to mid-2025, the four merged provinces after it.
"""

from __future__ import annotations

import hashlib
import random
import sys
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SYNTHETIC_VI = "Số liệu mô phỏng phục vụ minh hoạ, không phải số liệu chính thức"
SYNTHETIC_EN = "synthetic demo figures, not official statistics"

# (GSO code of the period, name) — the four seed provinces and those merged with them (until 30/06/2025)
OLD_PROVINCES = [
    ("58", "Ninh Thuận"), ("56", "Khánh Hòa"),
    ("49", "Quảng Nam"), ("48", "Đà Nẵng"),
    ("37", "Ninh Bình"), ("35", "Hà Nam"), ("36", "Nam Định"),
    ("52", "Bình Định"), ("64", "Gia Lai"),
]  # fmt: skip
# the merged provinces from 01/07/2025 (codes of Decision 19/2025/QĐ-TTg)
NEW_PROVINCES = [("56", "Khánh Hòa"), ("48", "Đà Nẵng"), ("37", "Ninh Bình"), ("52", "Gia Lai")]

# Figures taken from the seeds and ../shared/reference, never synthesised.
CITED: dict[tuple[str, str, int], tuple[float, str]] = {
    ("vn", "digital_economy_share_grdp", 2020): (12.66, "GSO"),
    ("vn", "digital_economy_share_grdp", 2021): (12.87, "GSO"),
    ("vn", "digital_economy_share_grdp", 2022): (12.83, "GSO"),
    ("vn", "digital_economy_share_grdp", 2023): (12.87, "GSO"),
    ("vn", "digital_economy_share_grdp", 2024): (13.17, "GSO"),
    ("Ninh Thuận", "pii_rank", 2024): (18, "PII 2024 (Bộ KH&CN), 319-CTr/TU"),
    ("Bình Định", "pii_rank", 2024): (22, "PII 2024 (Bộ KH&CN), chương trình hành động Bình Định"),
    ("Ninh Thuận", "tfp_contribution_growth", 2024): (42.86, "319-CTr/TU"),
    ("Hà Nội", "dti_score", 2024): (0.8241, "DTI 2024, công bố 21/10/2025"),
}

# code -> (Vietnamese name, unit, first value range, yearly change range, decimals, cap)
INDICATORS: dict[str, tuple[str, str, tuple[float, float], tuple[float, float], int, float]] = {
    "digital_economy_share_grdp": ("Tỷ trọng kinh tế số trong GRDP", "%", (4, 11), (0.3, 1.3), 2, 60),
    "online_public_service_usage_rate": (
        "Tỷ lệ người dân và doanh nghiệp sử dụng dịch vụ công trực tuyến",
        "%",
        (18, 40),
        (4, 10),
        1,
        99,
    ),
    "cashless_transaction_share": ("Tỷ lệ giao dịch không dùng tiền mặt", "%", (20, 40), (3, 8), 1, 99),
    "rnd_spending_share_grdp": (
        "Chi cho nghiên cứu và phát triển so với GRDP",
        "%",
        (0.2, 0.6),
        (0.0, 0.08),
        2,
        5,
    ),
    "innovative_enterprise_share": (
        "Tỷ lệ doanh nghiệp có hoạt động đổi mới sáng tạo",
        "%",
        (10, 24),
        (0.5, 3),
        1,
        90,
    ),
    "rnd_personnel_per_10k": (
        "Số cán bộ nghiên cứu trên một vạn dân",
        "người/vạn dân",
        (3, 8),
        (0.1, 0.6),
        1,
        50,
    ),
    "scientific_publications": ("Số công bố khoa học quốc tế", "bài", (30, 160), (0.02, 0.12), 0, 1e6),
    "patent_applications": ("Số đơn đăng ký sáng chế", "đơn", (4, 30), (0.0, 0.2), 0, 1e6),
    "households_fiber_share": ("Tỷ lệ hộ gia đình có cáp quang", "%", (55, 75), (2, 5), 1, 99.5),
    "smartphone_subscription_share": ("Tỷ lệ thuê bao điện thoại thông minh", "%", (60, 74), (1.5, 4), 1, 99),
    "villages_mobile_coverage": ("Tỷ lệ thôn có sóng di động", "%", (88, 96), (0.3, 1.2), 2, 100),
    "pii_score": ("Điểm chỉ số đổi mới sáng tạo cấp địa phương (PII)", "điểm", (28, 40), (0.5, 2.5), 2, 100),
}
GROWTH = {"scientific_publications", "patent_applications"}  # change is a yearly growth rate


def rng(*key: object) -> random.Random:
    digest = hashlib.sha256("|".join(map(str, key)).encode("utf-8")).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def series(place: str, indicator: str, years: range) -> dict[int, float]:
    """A plausible synthetic series, cited figures kept. Deterministic per place and indicator and
    walked from 2018 whatever years are asked, so every file agrees on a (place, indicator, year)."""
    _, _, first, step, decimals, cap = INDICATORS[indicator]
    r = rng(place, indicator)
    value = r.uniform(*first)
    out: dict[int, float] = {}
    for year in range(min(2018, years.start), years.stop):
        cited = CITED.get((place, indicator, year))
        if cited is not None:
            value = cited[0]
        out[year] = round(min(value, cap), decimals) if decimals else float(round(min(value, cap)))
        change = r.uniform(*step)
        value = value * (1 + change) if indicator in GROWTH else value + change
    return {y: out[y] for y in years}


def vn_number(value: float, decimals: int) -> str:
    """'60,76' — the decimal comma of Vietnamese reports."""
    text = f"{value:.{decimals}f}" if decimals else f"{int(value)}"
    return text.replace(".", ",")


# --- spreadsheets dropped into the inbox ------------------------------------------------------------


def _title(ws: Any, lines: list[str], width: int) -> None:
    for i, line in enumerate(lines, start=1):
        ws.cell(row=i, column=1, value=line).font = Font(bold=i == 1)
        ws.merge_cells(start_row=i, start_column=1, end_row=i, end_column=width)
        ws.cell(row=i, column=1).alignment = Alignment(horizontal="center")


def wide_report(
    path: Path,
    provinces: list[tuple[str, str]],
    periods: list[tuple[str, int]],
    indicators: list[str],
    title: str,
    key_prefix: str = "",
) -> None:
    """The wide layout of a provincial report: jurisdiction x indicator rows, one column per period,
    title rows above, a two-row merged header, footnotes below."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Báo cáo"
    head = ["STT", "Tỉnh/Thành phố", "Mã chỉ tiêu", "Chỉ tiêu", "Đơn vị"]
    width = len(head) + len(periods)
    _title(
        ws,
        [
            "ỦY BAN NHÂN DÂN TỈNH — BÁO CÁO KẾT QUẢ THỰC HIỆN CHỈ TIÊU NGHỊ QUYẾT 57-NQ/TW",
            title,
            f"({SYNTHETIC_VI} / {SYNTHETIC_EN})",
        ],
        width,
    )
    header_row = 5
    for col, text in enumerate(head, start=1):
        ws.cell(row=header_row, column=col, value=text)
        ws.merge_cells(start_row=header_row, start_column=col, end_row=header_row + 1, end_column=col)
    ws.cell(row=header_row, column=len(head) + 1, value="Kết quả thực hiện")
    ws.merge_cells(start_row=header_row, start_column=len(head) + 1, end_row=header_row, end_column=width)
    for i, (label, _) in enumerate(periods):
        ws.cell(row=header_row + 1, column=len(head) + 1 + i, value=label)
    row = header_row + 2
    stt = 0
    for code, name in provinces:
        for ind in indicators:
            stt += 1
            name_vi, unit, *_rest = INDICATORS[ind]
            decimals = INDICATORS[ind][4]
            values = series(key_prefix + name, ind, range(2018, 2028))
            ws.cell(row=row, column=1, value=stt)
            ws.cell(row=row, column=2, value=("Tỉnh " if code not in ("48",) else "Thành phố ") + name)
            ws.cell(row=row, column=3, value=ind)
            ws.cell(row=row, column=4, value=name_vi)
            ws.cell(row=row, column=5, value=unit)
            for i, (_, year) in enumerate(periods):
                value = values[year]
                # Some cells as the reports write them: text with a decimal comma, or missing.
                if (stt + i) % 7 == 3:
                    cell: Any = vn_number(value, decimals)
                elif (stt + i) % 23 == 7:
                    cell = "-"
                else:
                    cell = value
                ws.cell(row=row, column=len(head) + 1 + i, value=cell)
            row += 1
    ws.cell(
        row=row + 1,
        column=1,
        value=f"Ghi chú: {SYNTHETIC_VI}. (ước): số ước tính, sẽ được thay bằng số chính thức.",
    )
    ws.cell(row=row + 2, column=1, value="Nguồn: tổng hợp mô phỏng cho bản trình diễn Chỉ Tiêu.")
    path.parent.mkdir(parents=True, exist_ok=True)
    _save(wb, path)


def long_report(path: Path, rows: list[dict[str, Any]], title: str) -> None:
    """The long layout of the data-entry template: one figure per row."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Số liệu"
    head = [
        "Tỉnh/Thành phố",
        "Mã tỉnh",
        "Mã chỉ tiêu",
        "Tên chỉ tiêu",
        "Kỳ",
        "Giá trị",
        "Đơn vị",
        "Trạng thái",
        "Ghi chú",
    ]
    _title(ws, [title, f"({SYNTHETIC_VI} / {SYNTHETIC_EN})"], len(head))
    for col, text in enumerate(head, start=1):
        ws.cell(row=4, column=col, value=text).font = Font(bold=True)
    for r, item in enumerate(rows, start=5):
        for col, key in enumerate(
            ["jurisdiction", "code", "indicator", "name", "period", "value", "unit", "status", "note"],
            start=1,
        ):
            ws.cell(row=r, column=col, value=item.get(key))
    path.parent.mkdir(parents=True, exist_ok=True)
    _save(wb, path)


def _save(wb: Workbook, path: Path) -> None:
    # openpyxl stamps the current time into docProps: fix it so the bytes (and sha256) are stable.
    from datetime import datetime

    fixed = datetime(2026, 1, 1)
    wb.properties.created = fixed
    wb.properties.modified = fixed
    wb.properties.creator = "chitieu samples/make_samples.py"
    wb.save(path)
    _normalize_zip(path)


def _normalize_zip(path: Path) -> None:
    """Rewrite the xlsx zip with fixed timestamps so every run produces identical bytes."""
    import re
    import zipfile

    with zipfile.ZipFile(path) as src:
        items = [(info, src.read(info.filename)) for info in src.infolist()]
    stamp = rb"\g<1>2026-01-01T00:00:00Z\g<2>"
    items = [
        (info, re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms)", stamp, data))
        if info.filename == "docProps/core.xml"
        else (info, data)
        for info, data in items
    ]
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as dst:
        for info, data in items:
            fixed = zipfile.ZipInfo(info.filename, date_time=(2026, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = info.external_attr
            dst.writestr(fixed, data)


def long_rows() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    seeds = [p for p in OLD_PROVINCES if p[1] in ("Ninh Thuận", "Quảng Nam", "Ninh Bình", "Bình Định")]
    for code, name in seeds:
        for ind in (
            "innovative_enterprise_share",
            "rnd_personnel_per_10k",
            "scientific_publications",
            "patent_applications",
            "pii_score",
        ):
            name_vi, unit, *_ = INDICATORS[ind]
            for year, value in series(name, ind, range(2020, 2025)).items():
                rows.append(
                    {
                        "jurisdiction": name,
                        "code": code,
                        "indicator": ind,
                        "name": name_vi,
                        "period": year,
                        "value": value,
                        "unit": unit,
                        "status": "chính thức",
                        "note": "mô phỏng / synthetic",
                    }
                )
        for ind in ("pii_rank",):
            for year in range(2022, 2025):
                cited = CITED.get((name, ind, year))
                value = cited[0] if cited else rng(name, ind, year).randint(12, 45)
                rows.append(
                    {
                        "jurisdiction": name,
                        "code": code,
                        "indicator": ind,
                        "name": "Xếp hạng chỉ số đổi mới sáng tạo cấp địa phương (PII)",
                        "period": year,
                        "value": value,
                        "unit": "hạng",
                        "status": "chính thức",
                        "note": f"trích dẫn / cited: {cited[1]}" if cited else "mô phỏng / synthetic",
                    }
                )
    # 2025 first half, before the merger: provisional.
    for code, name in seeds:
        value = series(name, "online_public_service_usage_rate", range(2018, 2027))[2025]
        rows.append(
            {
                "jurisdiction": name,
                "code": code,
                "indicator": "online_public_service_usage_rate",
                "name": INDICATORS["online_public_service_usage_rate"][0],
                "period": "6 tháng đầu năm 2025",
                "value": value,
                "unit": "%",
                "status": "ước",
                "note": "mô phỏng / synthetic",
            }
        )
    # The final 2024 figure replacing the wide report's estimate (a new vintage, the old one kept).
    final = series("Ninh Thuận", "digital_economy_share_grdp", range(2018, 2028))[2024] + 0.35
    rows.append(
        {
            "jurisdiction": "Ninh Thuận",
            "code": "58",
            "indicator": "digital_economy_share_grdp",
            "name": INDICATORS["digital_economy_share_grdp"][0],
            "period": 2024,
            "value": round(final, 2),
            "unit": "%",
            "status": "chính thức",
            "note": "số chính thức thay số ước / final replaces estimate",
        }
    )
    # Two rows a careful loader must refuse (quarantined with reasons), the others still load.
    rows.append(
        {
            "jurisdiction": "Tỉnh Không Tồn Tại",
            "code": "",
            "indicator": "innovative_enterprise_share",
            "name": "",
            "period": 2024,
            "value": 12.5,
            "unit": "%",
            "status": "",
            "note": "sai tên tỉnh / bad name",
        }
    )
    rows.append(
        {
            "jurisdiction": "Ninh Bình",
            "code": "37",
            "indicator": "rnd_personnel_per_10k",
            "name": "",
            "period": 2019,
            "value": "không rõ",
            "unit": "người/vạn dân",
            "status": "",
            "note": "giá trị không đọc được / unreadable value",
        }
    )
    return rows


def filled_template(path: Path, jurisdiction: str, plan_id: str, until_year: int) -> None:
    """The data-entry template exactly as `chitieu template` writes it, filled in by the province:
    values where the province has them (synthetic), blank where it has none."""
    from openpyxl import load_workbook

    from chitieu.ingest.template import HEADER_ROW, write_template

    path.parent.mkdir(parents=True, exist_ok=True)
    write_template(path, jurisdiction, plan_id, until_year=until_year)
    wb = load_workbook(path)
    ws = wb.active
    assert ws is not None
    for row in ws.iter_rows(min_row=HEADER_ROW + 1):
        code, year = row[2].value, row[4].value
        if code in INDICATORS and year is not None:
            row[5].value = series(jurisdiction, str(code), range(2018, 2028))[int(str(year))]
            row[8].value = "mô phỏng / synthetic"
    ws.cell(row=2, column=1).value = f"{ws.cell(row=2, column=1).value} ({SYNTHETIC_VI} / {SYNTHETIC_EN})"
    _save(wb, path)


def inbox_samples(out: Path) -> list[Path]:
    made = []
    p = out / "bao-cao-chi-tieu-57-2020-2024.xlsx"
    wide_report(
        p,
        OLD_PROVINCES,
        [("2020", 2020), ("2021", 2021), ("Năm 2022", 2022), ("2023", 2023), ("2024 (ước)", 2024)],
        [
            "digital_economy_share_grdp",
            "online_public_service_usage_rate",
            "cashless_transaction_share",
            "rnd_spending_share_grdp",
        ],
        "Các tỉnh trước sắp xếp (đến 30/6/2025), giai đoạn 2020-2024",
    )
    made.append(p)
    p = out / "bao-cao-chi-tieu-57-sau-sap-xep-2025-2026.xlsx"
    wide_report(
        p,
        NEW_PROVINCES,
        [("2025 (ước)", 2025), ("6 tháng đầu năm 2026", 2026)],
        [
            "digital_economy_share_grdp",
            "online_public_service_usage_rate",
            "cashless_transaction_share",
            "rnd_spending_share_grdp",
        ],
        "Các tỉnh sau sắp xếp (từ 01/7/2025)",
        key_prefix="new:",
    )
    made.append(p)
    p = out / "mau-nhap-lieu-4-tinh-2020-2025.xlsx"
    long_report(p, long_rows(), "MẪU NHẬP LIỆU CHỈ TIÊU (dạng dọc) — 4 tỉnh, 2020-2025")
    made.append(p)
    p = out / "mau-nhap-lieu-quang-nam-da-dien.xlsx"
    filled_template(p, "Quảng Nam", "quang-nam-60-ctr-tu", until_year=2024)
    made.append(p)
    # A file no reader can open: shows the inbox's rejected/ path with its report.
    p = out / "tep-hong.xlsx"
    p.write_bytes(b"Day khong phai tep Excel / this is not a spreadsheet\n")
    made.append(p)
    return made


def main(argv: list[str]) -> int:
    made = inbox_samples(HERE / "inbox")
    from publishers_samples import publisher_samples

    made += publisher_samples(HERE / "publishers")
    for path in made:
        print(path.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    raise SystemExit(main(sys.argv[1:]))
