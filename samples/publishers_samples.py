"""Publisher-shaped samples under samples/publishers/, in the folder layout the fake publisher
server reads (chitieu.demo.publishers): CKAN, PX-Web, DTI HTML pages, the Decision 766 JSON.

Cited figures: GSO's national digital economy share 2020-2024 (PX-Web table) and DTI 2024 Hà Nội
0.8241 in first place among the 34 merged provinces. Everything else is synthetic.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from make_samples import (  # type: ignore[import-not-found]
    CITED,
    INDICATORS,
    ROOT,
    SYNTHETIC_EN,
    SYNTHETIC_VI,
    rng,
    series,
    vn_number,
)

DTI_GROUPS = [
    (
        "Chuyển đổi số nền tảng",
        ["Nhận thức số", "Thể chế số", "Hạ tầng số", "Nhân lực số", "An toàn thông tin mạng"],
    ),
    ("Chính quyền số", ["Hoạt động chính quyền số"]),
    ("Kinh tế số", ["Hoạt động kinh tế số"]),
    ("Xã hội số", ["Hoạt động xã hội số"]),
]


def _write(path: Path, data: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return path


def old_provinces_63() -> list[tuple[str, str]]:
    doc = yaml.safe_load((ROOT / "catalog" / "jurisdictions.yaml").read_text(encoding="utf-8"))
    return [(str(p["code"]), str(p["name"])) for p in doc["old_provinces"]["items"]]


def new_provinces_34() -> list[tuple[str, str]]:
    from vietnam_provinces import Province

    return [(f"{int(p.code.value):02d}", p.name) for p in Province.iter_all()]


# --- CKAN: a provincial open-data portal (Đà Nẵng), long records, values as Vietnamese text ------------


def ckan(out: Path) -> list[Path]:
    resource_id = "b7e3c1d2-ha-tang-so-da-nang"
    records: list[dict[str, Any]] = []
    places = [
        ("Quảng Nam", range(2020, 2025)),
        ("Đà Nẵng", range(2020, 2025)),
        ("new:Đà Nẵng", range(2025, 2026)),
    ]
    for place, years in places:
        label = place.removeprefix("new:")
        label = "Thành phố Đà Nẵng" if label == "Đà Nẵng" else f"Tỉnh {label}"
        for ind in ("households_fiber_share", "smartphone_subscription_share", "villages_mobile_coverage"):
            decimals = INDICATORS[ind][4]
            values = series(place, ind, range(2018, 2028))
            for year in years:
                records.append(
                    {
                        "_id": len(records) + 1,
                        "Tỉnh": label,
                        "Năm": year,
                        "Mã chỉ tiêu": ind,
                        "Giá trị": vn_number(values[year], decimals),
                        "Đơn vị": "%",
                        "Ghi chú": "mô phỏng / synthetic",
                    }
                )
    packages = [
        {
            "id": "pkg-chuyen-doi-so-da-nang",
            "name": "chi-tieu-chuyen-doi-so",
            "title": "Chỉ tiêu hạ tầng số (số liệu mô phỏng)",
            "notes": f"{SYNTHETIC_VI} / {SYNTHETIC_EN}",
            "organization": {"name": "so-khcn-da-nang", "title": "Sở Khoa học và Công nghệ Đà Nẵng"},
            "resources": [
                {
                    "id": resource_id,
                    "name": "Hạ tầng số theo tỉnh, 2020-2025",
                    "format": "CSV",
                    "datastore_active": True,
                    "url": f"/dataset/chi-tieu-chuyen-doi-so/resource/{resource_id}",
                }
            ],
        }
    ]
    fields = [
        {"id": "_id", "type": "int"},
        {"id": "Tỉnh", "type": "text"},
        {"id": "Năm", "type": "int"},
        {"id": "Mã chỉ tiêu", "type": "text"},
        {"id": "Giá trị", "type": "text"},
        {"id": "Đơn vị", "type": "text"},
        {"id": "Ghi chú", "type": "text"},
    ]
    return [
        _write(out / "ckan" / "packages.json", packages),
        _write(out / "ckan" / "datastore" / f"{resource_id}.json", {"fields": fields, "records": records}),
    ]


# --- PX-Web: the statistics office's table of the digital economy share (national, GSO, cited) ------------


def pxweb(out: Path) -> list[Path]:
    years = list(range(2020, 2025))
    table = {
        "title": "Tỷ trọng kinh tế số trong GDP (%) phân theo Địa phương và Năm",
        "source": "Tổng cục Thống kê (GSO) — số liệu trích dẫn trong shared/reference/data-sources.md",
        "updated": "2025-06-30T00:00:00",
        "variables": [
            {"code": "Địa phương", "text": "Địa phương", "values": ["VN"], "valueTexts": ["Cả nước"]},
            {"code": "Năm", "text": "Năm", "values": [str(y) for y in years],
             "valueTexts": [str(y) for y in years], "time": True},
        ],
        "data": [
            {"key": ["VN", str(y)], "values": [f"{CITED[('vn', 'digital_economy_share_grdp', y)][0]:.2f}"]}
            for y in years
        ],
    }  # fmt: skip
    return [_write(out / "pxweb" / "vi" / "KTXH" / "V10.01_kinh_te_so.px.json", table)]


# --- DTI: HTML ranking pages, 2023 (63 provinces) and 2024 (34 merged provinces) ------------------------


def _dti_rows(provinces: list[tuple[str, str]], year: int, cited_first: str | None) -> list[dict[str, Any]]:
    scored = []
    for code, name in provinces:
        r = rng("dti", year, code, name)
        pillars = [round(r.uniform(0.35, 0.85), 4) for _ in range(8)]
        total = round(sum(pillars) / len(pillars), 4)
        scored.append((name, pillars, total))
    if cited_first is not None:
        # The cited leader's score; everyone else stays below it.
        top = CITED[(cited_first, "dti_score", year)][0]
        scored = [(n, p, top if n.endswith(cited_first) else min(t, top - 0.01)) for n, p, t in scored]
    scored.sort(key=lambda item: (-item[2], item[0]))
    return [
        {"rank": i, "name": name, "pillars": [f"{v:.4f}" for v in pillars], "dti": f"{total:.4f}"}
        for i, (name, pillars, total) in enumerate(scored, start=1)
    ]


def dti(out: Path) -> list[Path]:
    from chitieu.demo.publishers import render_dti_page

    made = []
    pages = [(2023, old_provinces_63(), None), (2024, new_provinces_34(), "Hà Nội")]
    for year, provinces, cited in pages:
        note = f"{SYNTHETIC_VI} ({SYNTHETIC_EN})" + (
            "; trừ điểm DTI 2024 của Hà Nội (0,8241, công bố 21/10/2025)" if cited else ""
        )
        html = render_dti_page(year, _dti_rows(provinces, year, cited), groups=DTI_GROUPS, note=note)
        made.append(_write(out / "dti" / f"{year}.html", html))
    return made


# --- Decision 766 public-service index JSON: numbers as strings ------------------------------------------


def portal766(out: Path) -> list[Path]:
    made = []
    for period, provinces in (("2024", old_provinces_63()), ("2025", new_provinces_34())):
        rows = []
        for i, (code, name) in enumerate(provinces):
            r = rng("766", period, code, name)
            groups = {"CKMB": r.uniform(10, 18), "TDGQ": r.uniform(12, 20), "TTTT": r.uniform(12, 22),
                      "CLGQ": r.uniform(12, 22), "MDHL": r.uniform(10, 18)}  # fmt: skip
            total = sum(groups.values())
            row = {"ID": str(1000 + i * 7), "TEN": name, "TONG_SCORE": f"{total:.2f}"}
            row |= {k: f"{v:.2f}" for k, v in groups.items()}
            row["MDSH"] = f"{r.uniform(8, 22):.2f}"
            rows.append(row)
        rows.sort(key=lambda row: -float(row["TONG_SCORE"]))
        for rank, row in enumerate(rows, start=1):
            row["ROW_STT"] = str(rank)
        made.append(_write(out / "portal766" / f"{period}.json", rows))
    return made


def publisher_samples(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    (out / "README.md").write_text(
        "Files served by `python -m chitieu.demo.publishers --root samples/publishers` "
        "(generated by samples/make_samples.py; see samples/README.md).\n",
        encoding="utf-8",
    )
    return [*ckan(out), *pxweb(out), *dti(out), *portal766(out)]
