"""Annex importer: an xlsx built here in the shape of 03/NQ-CP's Phụ lục I, plus csv and the sample."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from openpyxl import Workbook
from typer.testing import CliRunner

from chitieu.catalog import clear_caches
from chitieu.catalog.annex import AnnexError, import_annex, write_annex
from chitieu.catalog.check import check_catalog
from chitieu.catalog.indicators import load_indicators
from chitieu.catalog.plans import load_plans
from chitieu.cli import app
from chitieu.settings import get_settings

PLAN = "ninh-binh-kh-03-nq-cp"


@pytest.fixture
def catalog_copy(tmp_path: Path) -> Path:
    dst = tmp_path / "catalog"
    shutil.copytree(get_settings().catalog_dir, dst, ignore=shutil.ignore_patterns("sources", "routes.yaml"))
    clear_caches()
    yield dst  # type: ignore[misc]
    clear_caches()


def _annex_xlsx(path: Path) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.append(["PHỤ LỤC I"])
    ws.merge_cells("A1:E1")
    ws.append(["DANH MỤC CÁC CHỈ TIÊU CỤ THỂ"])
    ws.merge_cells("A2:E2")
    ws.append([])
    ws.append(["STT", "Chỉ tiêu", "Đơn vị tính", "Kết quả", "Cơ quan chủ trì theo dõi"])  # row 4
    ws.append(["(1)", "(2)", "(3)", "(4)", "(5)"])
    ws.append(["I", "Đến năm 2025"])  # row 6, a group title merged across
    ws.merge_cells("B6:E6")
    ws.append(["1", "Tỷ lệ hồ sơ trực tuyến", "%", "≥ 80%", "Văn phòng UBND tỉnh"])  # row 7
    ws.append(["II", "Đến năm 2030"])  # row 8
    ws.merge_cells("B8:E8")
    ws.append(
        ["2", "Chỉ số đổi mới sáng tạo cấp địa phương (PII)", "Thứ hạng", "Nhóm 20 tỉnh dẫn đầu", "Sở KH&CN"]
    )
    ws.append(["3", "Sở hữu trí tuệ"])  # row 10: heading of 3.1 / 3.2
    ws.append(["3.1", "Số lượng đơn đăng ký sáng chế", "%/năm", "Tăng trung bình 16 - 18%/năm", "Sở KH&CN"])
    ws.append(["3.2", "Tỷ lệ khai thác thương mại", "%", "8 - 10%", None])  # agency merged from row 11
    ws.merge_cells("E11:E12")
    ws.append(["4", "Chỉ số phát triển con người (HDI)", "Chỉ số", "0,7", "Sở KH&ĐT"])  # row 13
    ws.append(["5", "Tỷ lệ xã có điểm wifi công cộng miễn phí", "%", "Tối thiểu 30%", "Sở TT&TT"])  # row 14
    ws.append(["6", "Mức độ hài lòng của người dân", "Mức", "Đạt mức khá", "Sở Nội vụ"])  # row 15
    ws.append(["7", "Trung tâm giám sát, điều hành thông minh", None, "Hoàn thành", "Sở TT&TT"])  # row 16
    ws.append(
        [
            "8",
            "Số tổ chức khoa học và công nghệ được xếp hạng khu vực và thế giới",
            "Tổ chức",
            "Ít nhất 03",
            "Sở KH&CN",
        ]
    )
    wb.save(path)
    return path


def test_import_xlsx(tmp_path: Path, catalog_copy: Path) -> None:
    result = import_annex(_annex_xlsx(tmp_path / "annex.xlsx"), PLAN, catalog_dir=catalog_copy)
    by_row = {t.notes.split(";")[0]: t for t in result.targets}
    t = {tt.id.split(".", 1)[1]: tt for tt in result.targets}
    assert set(t) == {"a1", "a2", "a3-1", "a3-2", "a4", "a5", "a7", "a8"}
    assert (t["a1"].indicator, t["a1"].operator, t["a1"].value, t["a1"].target_year) == (
        "online_application_rate",
        ">=",
        80,
        2025,
    )
    assert t["a1"].lead_agency == "Văn phòng UBND tỉnh"
    assert (t["a2"].indicator, t["a2"].kind, t["a2"].operator, t["a2"].value, t["a2"].target_year) == (
        "pii_rank",
        "rank",
        "<=",
        20,
        2030,
    )
    assert (t["a3-1"].indicator, t["a3-1"].kind, t["a3-1"].value, t["a3-1"].value_max) == (
        "patent_applications",
        "growth",
        16,
        18,
    )
    assert t["a3-2"].indicator == "patent_commercialization_rate"
    assert t["a3-2"].lead_agency == "Sở KH&CN"  # filled from the vertical merge
    assert (t["a4"].indicator, t["a4"].value) == ("hdi", 0.7)
    assert (t["a8"].indicator, t["a8"].kind, t["a8"].value) == ("ranked_sti_organizations_count", "count", 3)
    # an indicator missing from the dictionary becomes plan-specific, flagged for review
    assert t["a5"].needs_review is True
    new = {i.code: i for i in result.indicators}
    assert t["a5"].indicator in new
    assert new[t["a5"].indicator].plan_specific == PLAN
    assert new[t["a5"].indicator].value_type == "share_pct"
    # a milestone
    assert (t["a7"].kind, t["a7"].due_date.isoformat()) == ("milestone", "2030-12-31")
    # the unreadable row is reported with its row number and text, never dropped
    assert result.unparsed == [
        {
            "row": 15,
            "text": "6 | Mức độ hài lòng của người dân | Mức | Đạt mức khá",
            "reason_vi": "Không tìm thấy giá trị số",
            "reason_en": "No numeric value found",
        }
    ]
    assert result.rows_read == 9
    assert all(tt.citation.quote for tt in by_row.values())


def test_written_annex_joins_the_plan_and_validates(tmp_path: Path, catalog_copy: Path) -> None:
    result = import_annex(_annex_xlsx(tmp_path / "annex.xlsx"), PLAN, catalog_dir=catalog_copy)
    out = write_annex(result, catalog_copy)
    assert out.name == f"{PLAN}.annex.yaml"
    assert [str(v) for v in check_catalog(catalog_copy)] == []
    plan = next(p for p in load_plans(catalog_copy) if p.id == PLAN)
    assert len(plan.targets) == len(result.targets)
    assert all(t.jurisdiction == "old-37" for t in plan.targets)
    assert any(i.plan_specific == PLAN for i in load_indicators(catalog_copy))
    # importing again over the written file gives the same file (round trip, stable ids)
    again = import_annex(_annex_xlsx(tmp_path / "annex2.xlsx"), PLAN, catalog_dir=catalog_copy)
    assert [t.id for t in again.targets] == [t.id for t in result.targets]
    assert again.to_yaml().replace("annex2.xlsx", "annex.xlsx") == out.read_text(encoding="utf-8")


def test_csv_semicolon_and_jurisdiction_option(tmp_path: Path, catalog_copy: Path) -> None:
    path = tmp_path / "annex.csv"
    path.write_text(
        "Phụ lục I\n"
        "TT;Chỉ tiêu;Đơn vị;Kết quả đến năm 2030;Cơ quan chủ trì theo dõi\n"
        "1;Tỷ lệ giao dịch không dùng tiền mặt;%;Trên 80%;NHNN chi nhánh\n"
        "2;Quy mô kinh tế số;% GRDP;12,5%;Sở Tài chính\n",
        encoding="utf-8-sig",
    )
    result = import_annex(path, PLAN, jurisdiction="Tỉnh Ninh Bình", catalog_dir=catalog_copy)
    assert [(t.indicator, t.operator, t.value, t.target_year) for t in result.targets] == [
        ("cashless_transaction_share", ">", 80, 2030),
        ("digital_economy_share_grdp", ">=", 12.5, 2030),
    ]
    assert result.jurisdiction == "old-37"  # the plan was issued before the merger


def test_errors(tmp_path: Path, catalog_copy: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    # Each error names its cause, in Vietnamese and in English.
    with pytest.raises(AnnexError, match="Header row not found") as no_header:
        import_annex(path, PLAN, catalog_dir=catalog_copy)
    assert "Không tìm thấy dòng tiêu đề" in no_header.value.vi
    with pytest.raises(AnnexError, match="Unknown plan 'no-such-plan'") as no_plan:
        import_annex(_annex_xlsx(tmp_path / "a.xlsx"), "no-such-plan", catalog_dir=catalog_copy)
    assert "Không có kế hoạch" in no_plan.value.vi


def test_cli_dry_run_on_the_sample(catalog_copy: Path) -> None:
    sample = get_settings().samples_dir / "annex" / "ninh-binh-annex.xlsx"
    assert sample.is_file(), f"the committed sample annex is missing: {sample}"
    result = CliRunner().invoke(
        app,
        [
            "catalog",
            "import-annex",
            str(sample),
            "--plan",
            PLAN,
            "--dry-run",
            "--catalog-dir",
            str(catalog_copy),
        ],
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["plan"] == PLAN
    assert len(doc["targets"]) >= 15
    assert doc["unparsed"]
    assert doc["unparsed"][0]["row"] > 0
    assert not (catalog_copy / "plans" / f"{PLAN}.annex.yaml").exists()  # dry run writes nothing
