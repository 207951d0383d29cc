"""Build samples/annex/ninh-binh-annex.xlsx: a SYNTHETIC indicator annex for Ninh Bình's plan.

The real Phụ lục I of Ninh Bình's plan implementing 03/NQ-CP is not in the seeds. This sample follows the
shape of 03/NQ-CP's Phụ lục I (TT | Chỉ tiêu | Đơn vị | Kết quả | Cơ quan chủ trì theo dõi): title rows,
a column-number row, roman-numeral groups whose titles state the target year, numbering like 11.2, an
agency cell merged down several rows, and a few rows meant to exercise the importer (a phrase it cannot
read, an indicator missing from the dictionary). Its figures are invented: never load it as Ninh Bình's
real targets.

    uv run python samples/annex/build_ninh_binh_annex.py [OUT.xlsx]
"""

from __future__ import annotations

import sys
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

HEADER = ["TT", "Chỉ tiêu", "Đơn vị", "Kết quả", "Cơ quan chủ trì theo dõi"]

# (TT, Chỉ tiêu, Đơn vị, Kết quả, Cơ quan) ; None for TT/unit/result means an empty cell.
ROWS: list[tuple[str | None, str, str | None, str | None, str | None]] = [
    ("I", "CÁC CHỈ TIÊU ĐẾN NĂM 2025", None, None, None),
    (
        "1",
        "Tỷ lệ sử dụng dịch vụ công trực tuyến của người dân và doanh nghiệp",
        "%",
        "Trên 60%",
        "Văn phòng UBND tỉnh",
    ),
    ("2", "Tỷ lệ hồ sơ trực tuyến", "%", "≥ 80%", "Văn phòng UBND tỉnh"),
    (
        "3",
        "Chỉ số chuyển đổi số cấp tỉnh (DTI)",
        "Thứ hạng",
        "Nhóm 20 tỉnh dẫn đầu",
        "Sở Thông tin và Truyền thông",
    ),
    ("II", "CÁC CHỈ TIÊU ĐẾN NĂM 2030", None, None, None),
    (
        "4",
        "Đóng góp của năng suất các nhân tố tổng hợp (TFP) vào tăng trưởng kinh tế",
        "%",
        "Tối thiểu 55%",
        "Sở Kế hoạch và Đầu tư",
    ),
    ("5", "Tỷ trọng kinh tế số trong GRDP", "%", "Tối thiểu 30%", "Sở Kế hoạch và Đầu tư"),
    ("6", "Tỷ lệ giao dịch không dùng tiền mặt", "%", "80%", "Ngân hàng Nhà nước chi nhánh tỉnh"),
    ("7", "Tỷ lệ doanh nghiệp có hoạt động đổi mới sáng tạo", "%", "Trên 40%", "Sở Khoa học và Công nghệ"),
    ("8", "Chỉ số phát triển con người (HDI)", "Chỉ số", "Trên 0,7", "Sở Kế hoạch và Đầu tư"),
    (
        "9",
        "Kinh phí chi cho nghiên cứu phát triển (R&D) so với GRDP",
        "% GRDP",
        "02%",
        "Sở Khoa học và Công nghệ",
    ),
    (
        "10",
        "Chi ngân sách cho khoa học, công nghệ, đổi mới sáng tạo và chuyển đổi số",
        "% tổng chi ngân sách",
        "Ít nhất 3% hằng năm",
        "Sở Tài chính",
    ),
    ("11", "Sở hữu trí tuệ", None, None, None),
    (
        "11.1",
        "Số lượng đơn đăng ký sáng chế",
        "%/năm",
        "Tăng trung bình 16 - 18%/năm",
        "Sở Khoa học và Công nghệ",
    ),
    ("11.2", "Số lượng văn bằng bảo hộ sáng chế", "%/năm", "Tăng trung bình 16 - 18%/năm", None),
    ("11.3", "Tỷ lệ khai thác thương mại", "%", "8 - 10%", None),
    (
        "12",
        "Nhân lực nghiên cứu và phát triển",
        "Người/vạn dân",
        "Đạt 12 người/vạn dân",
        "Sở Khoa học và Công nghệ",
    ),
    (
        "13",
        "Tỷ lệ dân số từ 15 tuổi trở lên có tài khoản thanh toán điện tử",
        "%",
        "≥ 95%",
        "Ngân hàng Nhà nước chi nhánh tỉnh",
    ),
    ("14", "Tỷ lệ người dân có hồ sơ sức khỏe điện tử", "%", "100%", "Sở Y tế"),
    (
        "15",
        "Số tổ chức khoa học và công nghệ được xếp hạng khu vực và thế giới",
        "Tổ chức",
        "Ít nhất 03",
        "Sở Khoa học và Công nghệ",
    ),
    (
        "16",
        "Tỷ lệ xã, phường có điểm truy cập Internet công cộng miễn phí",
        "%",
        "12,5%",
        "Sở Thông tin và Truyền thông",
    ),
    (
        "17",
        "Xây dựng Trung tâm giám sát, điều hành thông minh cấp tỉnh",
        None,
        "Hoàn thành",
        "Sở Thông tin và Truyền thông",
    ),
    ("18", "Mức độ hài lòng của người dân với dịch vụ số", "Mức", "Đạt mức khá", "Sở Nội vụ"),
    ("III", "TẦM NHÌN ĐẾN NĂM 2045", None, None, None),
    ("19", "Quy mô kinh tế số", "% GRDP", "Tối thiểu 50%", "Sở Kế hoạch và Đầu tư"),
]


def build(out: Path) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.title = "Phụ lục I"
    ws.append(["PHỤ LỤC I"])
    ws.append(["DANH MỤC CÁC CHỈ TIÊU CỤ THỂ"])
    ws.append(["(Kèm theo Kế hoạch số      /KH-UBND ngày     tháng 3 năm 2025 của UBND tỉnh Ninh Bình)"])
    ws.append(["DỮ LIỆU MINH HỌA TỔNG HỢP - KHÔNG PHẢI PHỤ LỤC THẬT / SYNTHETIC SAMPLE, NOT THE REAL ANNEX"])
    for r in range(1, 5):
        ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=5)
        ws.cell(r, 1).alignment = Alignment(horizontal="center")
        ws.cell(r, 1).font = Font(bold=True)
    ws.append([])
    ws.append(HEADER)
    ws.append([f"({i})" for i in range(1, 6)])
    first_data = ws.max_row + 1
    for tt, name, unit, result, agency in ROWS:
        ws.append([tt, name, unit, result, agency])
        row = ws.max_row
        if unit is None and result is None and tt and not tt[0].isdigit():
            # Roman-numeral group: its title is merged across the name..agency columns.
            ws.merge_cells(start_row=row, start_column=2, end_row=row, end_column=5)
            ws.cell(row, 2).font = Font(bold=True)
    # One agency for the three intellectual-property rows: a vertical merge.
    ip_first = first_data + next(i for i, r in enumerate(ROWS) if r[0] == "11.1")
    ws.merge_cells(start_row=ip_first, start_column=5, end_row=ip_first + 2, end_column=5)
    for col, width in zip("ABCDE", (6, 70, 18, 30, 36), strict=True):
        ws.column_dimensions[col].width = width
    out.parent.mkdir(parents=True, exist_ok=True)
    wb.save(out)
    return out


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name("ninh-binh-annex.xlsx")
    print(build(target))
