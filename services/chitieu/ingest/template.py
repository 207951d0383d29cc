"""The data-entry template: the long layout, pre-filled with the indicator x period rows a plan needs.

A province fills the 'Giá trị' column (and may change 'Trạng thái') and uploads the file back
unchanged in shape; the spreadsheet connector reads it as any long table (title row, header,
codes beside names). Dropdowns (data validation) keep codes, units and status to known values.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.worksheet.datavalidation import DataValidation

from chitieu.errors import ChitieuError
from chitieu.ingest.transform import Catalog
from chitieu.vietnam_time import TZ

HEADER = [
    "Mã tỉnh",
    "Tỉnh/Thành phố",
    "Mã chỉ tiêu",
    "Tên chỉ tiêu",
    "Kỳ",
    "Giá trị",
    "Đơn vị tính",
    "Trạng thái",
    "Ghi chú",
]
STATUS_CHOICES = ["chính thức", "ước tính", "sơ bộ"]
HEADER_ROW = 3  # a title and a hint above it, as provinces' own reports have


class TemplateError(ChitieuError, ValueError):
    code = "template_error"


def _plans_for(jurisdiction_id: str, plan_id: str | None, plans: list[Any]) -> list[Any]:
    if plan_id is not None:
        chosen = [p for p in plans if p.id == plan_id]
        if not chosen:
            raise TemplateError(f"no plan {plan_id!r}", f"không có chương trình {plan_id!r}")
        return chosen
    return [p for p in plans if p.jurisdiction == jurisdiction_id]


def template_rows(
    jurisdiction: str,
    plan_id: str | None = None,
    *,
    catalog: Catalog | None = None,
    plans: list[Any] | None = None,
    until_year: int | None = None,
) -> tuple[Any, list[tuple[Any, int]]]:
    """(jurisdiction, [(indicator, year), ...]) the plan(s) need, years from the earliest baseline."""
    catalog = catalog or Catalog.load()
    if plans is None:
        from chitieu.catalog.plans import load_plans

        plans = load_plans()
    j = catalog.jurisdictions.resolve(jurisdiction)
    if j is None:
        raise TemplateError(
            f"unknown jurisdiction {jurisdiction!r}", f"không nhận ra địa phương {jurisdiction!r}"
        )
    chosen = _plans_for(j.id, plan_id, plans)
    if plan_id is not None and chosen:
        # the plan's own jurisdiction (a pre-merger province) unless the name clearly asked for another
        pj = catalog.jurisdictions.resolve(chosen[0].jurisdiction)
        if pj is not None and pj.id != j.id and j.id not in {t.jurisdiction for t in chosen[0].targets}:
            j = pj
    codes: list[str] = []
    first_year = None
    for plan in chosen:
        for t in plan.targets:
            if t.jurisdiction in (None, j.id) and t.indicator not in codes:
                codes.append(t.indicator)
        for b in plan.baselines:
            if b.year is not None:
                first_year = b.year if first_year is None else min(first_year, b.year)
        if plan.issued_on is not None:
            year0 = plan.issued_on.year - 1
            first_year = year0 if first_year is None else min(first_year, year0)
    if not codes:
        raise TemplateError(
            f"no plan with targets for {j.name} ({j.id}); give --plan",
            f"không có chương trình nào có chỉ tiêu cho {j.name}",
        )
    last_year = until_year or datetime.now(TZ).year
    if j.valid_to is not None:
        last_year = min(last_year, j.valid_to.year)
    if j.valid_from is not None:
        first_year = max(first_year or j.valid_from.year, j.valid_from.year)
    first_year = first_year or last_year
    inds = [catalog.indicators.resolve(c) for c in codes]
    rows = [(ind, y) for ind in inds if ind is not None for y in range(first_year, last_year + 1)]
    return j, rows


def write_template(
    path: Path,
    jurisdiction: str,
    plan_id: str | None = None,
    *,
    catalog: Catalog | None = None,
    plans: list[Any] | None = None,
    until_year: int | None = None,
) -> int:
    """Write the template to `path`; returns the number of rows to fill."""
    catalog = catalog or Catalog.load()
    j, rows = template_rows(jurisdiction, plan_id, catalog=catalog, plans=plans, until_year=until_year)
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Nhap lieu"
    ws["A1"] = f"MẪU NHẬP SỐ LIỆU CHỈ TIÊU NGHỊ QUYẾT 57-NQ/TW — {j.name.upper()}"
    ws["A1"].font = Font(bold=True, size=13)
    ws["A2"] = (
        "Điền cột 'Giá trị' (dấu thập phân là dấu phẩy hoặc chấm); để trống nếu chưa có số liệu. "
        "Không thêm, bớt hay đổi tên cột. / Fill in 'Giá trị'; leave blank when there is no figure."
    )
    ws["A2"].font = Font(italic=True)
    for c, title in enumerate(HEADER, start=1):
        cell = ws.cell(row=HEADER_ROW, column=c, value=title)
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDEBF7")
    for r, (ind, year) in enumerate(rows, start=HEADER_ROW + 1):
        ws.cell(row=r, column=1, value=j.code)
        ws.cell(row=r, column=2, value=j.name)
        ws.cell(row=r, column=3, value=ind.code)
        ws.cell(row=r, column=4, value=ind.name_vi)
        ws.cell(row=r, column=5, value=str(year))
        ws.cell(row=r, column=7, value=ind.unit)
        ws.cell(row=r, column=8, value=STATUS_CHOICES[0])
    widths = [9, 22, 34, 60, 10, 12, 16, 14, 30]
    for c, w in enumerate(widths, start=1):
        ws.column_dimensions[chr(64 + c)].width = w
    ws.freeze_panes = ws.cell(row=HEADER_ROW + 1, column=1)

    # Lists behind the dropdowns live on their own sheet (a list formula is limited to 255 chars).
    lists = wb.create_sheet("Danh muc")
    codes = sorted(i.code for i in catalog.indicators)
    units = sorted({i.unit for i in catalog.indicators})
    for r, code in enumerate(codes, start=1):
        lists.cell(row=r, column=1, value=code)
    for r, unit in enumerate(units, start=1):
        lists.cell(row=r, column=2, value=unit)
    for r, status in enumerate(STATUS_CHOICES, start=1):
        lists.cell(row=r, column=3, value=status)
    lists.sheet_state = "hidden"
    last = HEADER_ROW + max(len(rows), 1) + 200  # room for rows a province adds
    first = HEADER_ROW + 1
    for col, ref, title in (
        ("C", f"'Danh muc'!$A$1:$A${len(codes)}", "Mã chỉ tiêu"),
        ("G", f"'Danh muc'!$B$1:$B${len(units)}", "Đơn vị tính"),
        ("H", f"'Danh muc'!$C$1:$C${len(STATUS_CHOICES)}", "Trạng thái"),
    ):
        dv = DataValidation(
            type="list",
            formula1=ref,
            allow_blank=True,
            showErrorMessage=True,
            errorTitle=title,
            error=f"Chọn trong danh sách / pick from the list ({title})",
        )
        ws.add_data_validation(dv)
        dv.add(f"{col}{first}:{col}{last}")
    value_dv = DataValidation(
        type="decimal",
        operator="between",
        formula1="-1E15",
        formula2="1E15",
        allow_blank=True,
        showErrorMessage=False,
    )
    ws.add_data_validation(value_dv)
    value_dv.add(f"F{first}:F{last}")
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return len(rows)
