"""Portal connectors against the fake publisher server (a real HTTP server on 127.0.0.1).

Fixtures: tests/fixtures/publishers (publisher shapes, synthetic figures, some NFD names).
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from chitieu.ingest.connectors import get_connector
from chitieu.ingest.connectors.ckan import CkanConnector
from chitieu.ingest.connectors.dkan import DkanConnector
from chitieu.ingest.connectors.html_table import HtmlTableConnector, table_grid
from chitieu.ingest.connectors.http import ConfigError, FetchError
from chitieu.ingest.connectors.json766 import Json766Connector, period_params
from chitieu.ingest.connectors.pxweb import PxWebConnector
from chitieu.ingest.records import ParseError, Payload, RawRecord
from chitieu.ingest.specs import SourceSpec
from support.publishers import PublisherServer

FIXTURES = Path(__file__).parent / "fixtures" / "publishers"
LONG = "3b0d8c1e-7a51-4c6e-9f0e-5a1d2c3b4e01"
WIDE = "3b0d8c1e-7a51-4c6e-9f0e-5a1d2c3b4e03"
DKAN_RID = "c7a1e0b2-5d34-4f8e-a6b9-0d1e2f3a4b5c"
KTS01 = "/pxweb/api/v1/vi/KinhTeSo/KTS01.px"
HTS02 = "/pxweb/api/v1/vi/HaTangSo/HTS02.px"
KTS = "digital_economy_share_grdp"
FIBER = "households_fiber_share"
DVC = "online_public_service_usage_rate"


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


@pytest.fixture
def srv() -> Iterator[PublisherServer]:
    with PublisherServer(root=FIXTURES) as server:
        yield server


def make_spec(kind: str, url: str, **fields: Any) -> SourceSpec:
    options = {"backoff": 0, **fields.pop("options", {})}  # retries without sleeping
    return SourceSpec(
        id=f"test-{kind.replace('_', '-')}",
        kind=kind,
        title=f"test {kind}",
        url=url,
        options=options,
        **fields,
    )


def one(connector: Any, resource: str | None = None) -> tuple[Payload, list[RawRecord]]:
    payloads = list(connector.fetch(resource))
    assert len(payloads) == 1
    return payloads[0], list(connector.parse(payloads[0]))


# -- CKAN -------------------------------------------------------------------------------------------
def test_ckan_package_search_pages_and_keeps_only_datastore_resources(srv: PublisherServer) -> None:
    connector = CkanConnector(make_spec("ckan", srv.url, options={"rows": 2}))
    assert connector.resources() == [LONG, WIDE]
    searches = srv.requests_to("/api/3/action/package_search")
    assert [(r.query["start"], r.query["rows"], r.query["q"]) for r in searches] == [
        (["0"], ["2"], [""]),
        (["2"], ["2"], [""]),
    ]


def test_ckan_query_is_passed_to_package_search(srv: PublisherServer) -> None:
    connector = CkanConnector(make_spec("ckan", srv.url, options={"query": "Khánh Hòa"}))
    assert connector.resources() == [LONG]
    assert srv.requests_to("/api/3/action/package_search")[0].query["q"] == ["Khánh Hòa"]


def test_ckan_datastore_paging_follows_links_and_keeps_pages_verbatim(srv: PublisherServer) -> None:
    connector = CkanConnector(make_spec("ckan", srv.url, options={"page_size": 5}))
    payload, records = one(connector, LONG)

    calls = srv.requests_to("/api/3/action/datastore_search")
    assert [(r.query["offset"], r.query["limit"]) for r in calls] == [
        (["0"], ["5"]),
        (["5"], ["5"]),
        (["10"], ["5"]),
    ]
    # The payload is the three page bodies as the portal sent them, byte for byte.
    pages = [httpx.get(srv.url + r.path, params={k: v[0] for k, v in r.query.items()}).content for r in calls]
    assert payload.content == b"[" + b",\n".join(pages) + b"]"
    assert payload.name == f"ckan-{LONG}.json"
    assert payload.resource == LONG
    assert payload.meta == {"pages": "3", "total": "12"}

    assert [(r.jurisdiction, r.period, r.value, r.indicator, r.unit, r.status, r.row) for r in records] == [
        ("Tỉnh Khánh Hòa", "2021", "10,25", KTS, "%", None, 1),
        ("T. Khánh Hòa", "2022", "11,4", KTS, "%", None, 2),
        ("KHÁNH HÒA", "2023", "12,05", KTS, "%", None, 3),
        (nfd("Khánh Hòa"), "2024", "12,9", KTS, "%", "ước", 4),
        ("Tỉnh Ninh Thuận", "2021", "8,1", KTS, "%", None, 5),
        ("Ninh Thuan", "2022", "-", KTS, "%", None, 6),
        (nfd("Ninh Thuận"), "2023", "9,35", KTS, "%", "sơ bộ", 7),
        ("Tỉnh Khánh Hòa", "2023", "78,5", FIBER, "%", None, 8),
        ("Tỉnh Khánh Hòa", "2024", "82,3", FIBER, "%", "ước tính", 9),
        ("Tỉnh Ninh Thuận", "2023", "71.2", FIBER, "%", None, 10),
        ("Tỉnh Ninh Thuận", "2024", "12,5%", DVC, None, None, 11),
        ("Tỉnh Khánh Hòa", "2024", "..", DVC, "%", None, 12),
    ]
    assert records[0] == RawRecord(
        jurisdiction="Tỉnh Khánh Hòa",
        period="2021",
        value="10,25",
        indicator=KTS,
        unit="%",
        status=None,
        sheet=LONG,
        row=1,
        column="GiaTri",
        raw='{"_id": 1, "Tinh": "Tỉnh Khánh Hòa", "MaTinh": "56", "MaChiTieu": "digital_economy_share_grdp",'
        ' "Nam": 2021, "GiaTri": "10,25", "DonVi": "%", "GhiChu": ""}',
        jurisdiction_code_hint="56",
    )


def test_ckan_wide_resource_with_nfd_header_and_an_explicit_mapping(srv: PublisherServer) -> None:
    spec = make_spec(
        "ckan",
        srv.url,
        resources=[WIDE],
        indicator=FIBER,
        columns={"jurisdiction": "Tỉnh/Thành phố"},  # NFC here, NFD at the portal
        options={"period_columns": ["Năm 2021", "Năm 2022", "2023 (ước)"]},
    )
    _, records = one(CkanConnector(spec))
    row1 = (
        '{"_id": 1, "%s": "Thành phố Đà Nẵng", "Năm 2021": "68,2", "Năm 2022": "72,5", "2023 (ước)": "76,0"}'
    )
    row2 = '{"_id": 2, "%s": "Tỉnh Quảng Nam", "Năm 2021": "55,4", "Năm 2022": "x", "2023 (ước)": "61,3"}'
    key = nfd("Tỉnh/Thành phố")
    expected = [
        ("Thành phố Đà Nẵng", "Năm 2021", "68,2", 1, row1),
        ("Thành phố Đà Nẵng", "Năm 2022", "72,5", 1, row1),
        ("Thành phố Đà Nẵng", "2023 (ước)", "76,0", 1, row1),
        ("Tỉnh Quảng Nam", "Năm 2021", "55,4", 2, row2),
        ("Tỉnh Quảng Nam", "Năm 2022", "x", 2, row2),
        ("Tỉnh Quảng Nam", "2023 (ước)", "61,3", 2, row2),
    ]
    assert records == [
        RawRecord(jurisdiction=j, period=p, value=v, sheet=WIDE, row=n, column=p, raw=raw % key)
        for j, p, v, n, raw in expected
    ]


def test_ckan_retries_a_500_then_succeeds(srv: PublisherServer) -> None:
    srv.fail_next(1, status=503)
    _, records = one(CkanConnector(make_spec("ckan", srv.url, options={"page_size": 100})), LONG)
    assert len(records) == 12
    assert len(srv.requests_to("/api/3/action/datastore_search")) == 2  # the 503, then the page


def test_ckan_retries_a_dropped_connection(srv: PublisherServer) -> None:
    srv.drop_next(1)
    _, records = one(CkanConnector(make_spec("ckan", srv.url)), WIDE)
    assert len(records) == 6
    assert len(srv.requests_to("/api/3/action/datastore_search")) == 2


def test_ckan_gives_up_after_the_retries(srv: PublisherServer) -> None:
    srv.fail_next(10)
    connector = CkanConnector(make_spec("ckan", srv.url, options={"retries": 2}))
    with pytest.raises(FetchError) as err:
        list(connector.fetch(LONG))
    assert err.value.status == 500
    assert "after 3 attempts" in err.value.en
    assert "sau 3 lần thử" in err.value.vi
    assert len(srv.requests) == 3


def test_ckan_unknown_resource_is_a_clear_404_without_retries(srv: PublisherServer) -> None:
    connector = CkanConnector(make_spec("ckan", srv.url))
    with pytest.raises(FetchError) as err:
        list(connector.fetch("khong-ton-tai"))
    assert err.value.status == 404
    assert "HTTP 404" in err.value.en
    assert "khong-ton-tai" in err.value.en
    assert "lỗi HTTP 404" in err.value.vi
    assert len(srv.requests) == 1


def test_ckan_garbage_body_is_kept_and_fails_to_parse(srv: PublisherServer) -> None:
    garbage = "<html><body>Hệ thống đang bảo trì</body></html>".encode()
    srv.override("/api/3/action/datastore_search", garbage, content_type="text/html")
    connector = CkanConnector(make_spec("ckan", srv.url))
    payload = next(connector.fetch(LONG))
    assert payload.content == b"[" + garbage + b"]"  # archived as received
    with pytest.raises(ParseError) as err:
        list(connector.parse(payload))
    assert "not valid JSON" in err.value.en
    assert "không phải JSON" in err.value.vi


def test_ckan_missing_mapped_column_is_a_parse_error(srv: PublisherServer) -> None:
    connector = CkanConnector(make_spec("ckan", srv.url, columns={"value": "SoLieu"}))
    payload = next(connector.fetch(LONG))
    with pytest.raises(ParseError) as err:
        list(connector.parse(payload))
    assert "'SoLieu'" in err.value.en
    assert "'SoLieu'" in err.value.vi


# -- DKAN -------------------------------------------------------------------------------------------
def test_dkan_pages_by_offset_until_the_total(srv: PublisherServer) -> None:
    spec = make_spec(
        "dkan",
        srv.url,
        resources=[DKAN_RID],
        columns={"jurisdiction": "tinh", "period": "nam", "indicator": "chi_tieu", "value": "gia_tri"},
        options={"page_size": 3},
    )
    payload, records = one(DkanConnector(spec))
    calls = srv.requests_to("/api/action/datastore/search.json")
    assert [r.query["offset"] for r in calls] == [["0"], ["3"], ["6"]]
    assert payload.meta == {"pages": "3", "total": "7"}
    ind = "Tỷ lệ dân số trưởng thành có chữ ký số"
    assert [(r.jurisdiction, r.period, r.value, r.indicator, r.row, r.column) for r in records] == [
        ("Ninh Bình", "2022", "18,6", ind, 1, "gia_tri"),
        ("Ninh Bình", "2023", "24,1", ind, 2, "gia_tri"),
        ("Ninh Bình", "2024", "31,75", ind, 3, "gia_tri"),
        ("Hà Nam", "2024", "27,2", ind, 4, "gia_tri"),
        (nfd("Nam Định"), "2024", "25,9", ind, 5, "gia_tri"),
        ("Ninh Bình", "6 tháng đầu năm 2025", "35,0", ind, 6, "gia_tri"),
        ("Ninh Bình", "2025 (ước)", "–", ind, 7, "gia_tri"),
    ]


def test_dkan_needs_resources() -> None:
    with pytest.raises(ConfigError) as err:
        DkanConnector(make_spec("dkan", "http://127.0.0.1:9")).resources()
    assert "resources" in err.value.en
    assert "resources" in err.value.vi


# -- PX-Web -----------------------------------------------------------------------------------------
def test_pxweb_jsonstat2_gets_metadata_then_posts_the_query(srv: PublisherServer) -> None:
    connector = PxWebConnector(make_spec("pxweb", srv.url + KTS01, indicator=KTS))
    payload, records = one(connector)
    get, post = srv.requests_to(KTS01)
    assert (get.method, post.method) == ("GET", "POST")
    assert post.json() == {
        "query": [
            {"code": "Địa phương", "selection": {"filter": "item", "values": ["00", "48", "56", "37", "52"]}},
            {
                "code": "Năm",
                "selection": {"filter": "item", "values": ["2020", "2021", "2022", "2023", "2024"]},
            },
        ],
        "response": {"format": "json-stat2"},
    }
    assert payload.name == "pxweb-KTS01.json"
    assert payload.meta["format"] == "json-stat2"
    assert len(records) == 25
    assert [(r.jurisdiction, r.period, r.value, r.jurisdiction_code_hint) for r in records[:5]] == [
        ("CẢ NƯỚC", "2020", 12.66, "00"),
        ("CẢ NƯỚC", "2021", 12.87, "00"),
        ("CẢ NƯỚC", "2022", 12.83, "00"),
        ("CẢ NƯỚC", "2023", 12.87, "00"),
        ("CẢ NƯỚC", "Sơ bộ 2024", 13.17, "00"),
    ]
    assert records[0] == RawRecord(
        jurisdiction="CẢ NƯỚC",
        period="2020",
        value=12.66,
        sheet="KTS01.px",
        row=1,
        column="value[0]",
        raw="Địa phương=CẢ NƯỚC | Năm=2020",
        jurisdiction_code_hint="00",
    )
    # A null in the value array stays None, with the status symbol kept for the error report.
    assert records[20] == RawRecord(
        jurisdiction="Gia Lai",
        period="2020",
        value=None,
        sheet="KTS01.px",
        row=21,
        column="value[20]",
        raw="Địa phương=Gia Lai | Năm=2020 | status=..",
        jurisdiction_code_hint="52",
    )
    assert [r.value is None for r in records].count(True) == 1
    assert {r.jurisdiction for r in records} == {
        "CẢ NƯỚC",
        "Đà Nẵng",
        nfd("Khánh Hòa"),
        "Ninh Bình",
        "Gia Lai",
    }


def test_pxweb_csv_with_bom(srv: PublisherServer) -> None:
    connector = PxWebConnector(make_spec("pxweb", srv.url + KTS01, options={"format": "csv"}))
    payload, records = one(connector)
    assert payload.content.startswith(b"\xef\xbb\xbf")
    assert srv.requests_to(KTS01)[1].json()["response"] == {"format": "csv"}
    assert len(records) == 25
    header = "Tỷ trọng kinh tế số trong GRDP (%) "
    national = "CẢ NƯỚC,12.66,12.87,12.83,12.87,13.17"
    assert records[:5] == [
        RawRecord(
            jurisdiction="CẢ NƯỚC",
            period=p,
            value=v,
            sheet="KTS01.px",
            row=2,
            column=header + p,
            raw=national,
        )
        for p, v in [
            ("2020", "12.66"),
            ("2021", "12.87"),
            ("2022", "12.83"),
            ("2023", "12.87"),
            ("Sơ bộ 2024", "13.17"),
        ]
    ]
    gia_lai_2020 = next(r for r in records if r.jurisdiction == "Gia Lai" and r.period == "2020")
    assert gia_lai_2020.value == ".."
    assert gia_lai_2020.row == 6


def test_pxweb_query_by_value_texts(srv: PublisherServer) -> None:
    spec = make_spec(
        "pxweb",
        srv.url + KTS01,
        options={"query": {"Địa phương": ["Khánh Hòa"], "Năm": ["2023", "Sơ bộ 2024"]}},
    )
    _, records = one(PxWebConnector(spec))
    assert srv.requests_to(KTS01)[1].json()["query"] == [
        {"code": "Địa phương", "selection": {"filter": "item", "values": ["56"]}},
        {"code": "Năm", "selection": {"filter": "item", "values": ["2023", "2024"]}},
    ]
    assert [(r.jurisdiction, r.period, r.row) for r in records] == [
        (nfd("Khánh Hòa"), "2023", 1),
        (nfd("Khánh Hòa"), "Sơ bộ 2024", 2),
    ]
    assert all(isinstance(r.value, float) for r in records)


def test_pxweb_indicator_dimension_and_indicator_map(srv: PublisherServer) -> None:
    spec = make_spec("pxweb", srv.url + HTS02, options={"indicator_map": {"HGD_CAPQUANG": FIBER}})
    _, records = one(PxWebConnector(spec))
    assert len(records) == 12
    online = "Tỷ lệ hồ sơ thủ tục hành chính nộp trực tuyến (%)"
    assert [r.indicator for r in records] == [FIBER] * 6 + [online] * 6
    assert [(r.jurisdiction, r.period) for r in records[:6]] == [
        ("Đà Nẵng", "2023"),
        ("Đà Nẵng", "2024"),
        ("Khánh Hòa", "2023"),
        ("Khánh Hòa", "2024"),
        ("Gia Lai", "2023"),
        ("Gia Lai", "2024"),
    ]


def test_pxweb_unknown_table_is_a_clear_404(srv: PublisherServer) -> None:
    connector = PxWebConnector(make_spec("pxweb", srv.url + "/pxweb/api/v1/vi/KinhTeSo/KHONG.px"))
    with pytest.raises(FetchError) as err:
        list(connector.fetch())
    assert err.value.status == 404
    assert "KHONG.px" in err.value.url
    assert len(srv.requests) == 1


def test_pxweb_unknown_query_variable_is_a_config_error(srv: PublisherServer) -> None:
    connector = PxWebConnector(make_spec("pxweb", srv.url + KTS01, options={"query": {"Giới tính": ["Nam"]}}))
    with pytest.raises(ConfigError) as err:
        list(connector.fetch())
    assert "Giới tính" in err.value.en
    assert "Giới tính" in err.value.vi


def test_pxweb_garbage_data_is_a_parse_error(srv: PublisherServer) -> None:
    connector = PxWebConnector(make_spec("pxweb", srv.url + KTS01))
    srv.override(KTS01, '{"class": "dataset", "id": ["Năm"], "size": [2], "dimension": {}}')
    with pytest.raises(FetchError):  # the metadata GET is garbage too: no variables
        list(connector.fetch())
    payload = Payload(name="pxweb-x.json", content=b"\x00\x01 not json", fetched_at=payload_time())
    with pytest.raises(ParseError):
        list(connector.parse(payload))
    broken = Payload(
        name="pxweb-x.json",
        content='{"class": "dataset", "id": ["Năm"], "size": [2], "dimension": {}}'.encode(),
        fetched_at=payload_time(),
    )
    with pytest.raises(ParseError) as err:
        list(connector.parse(broken))
    assert "json-stat2" in err.value.en
    assert "json-stat2" in err.value.vi


def payload_time() -> Any:
    from datetime import UTC, datetime

    return datetime(2025, 10, 21, tzinfo=UTC)


def test_pxweb_jsonstat2_sparse_values_and_list_index() -> None:
    """json-stat2 allows `value` as an object and `category.index` as an array."""
    dataset = {
        "class": "dataset",
        "id": ["Tỉnh", "Năm"],
        "size": [2, 2],
        "dimension": {
            "Tỉnh": {
                "label": "Tỉnh",
                "category": {"index": ["58", "52"], "label": {"58": "Ninh Thuận", "52": "Bình Định"}},
            },
            "Năm": {"label": "Năm", "category": {"index": {"2023": 0, "2024": 1}}},
        },
        "value": {"0": 10.5, "3": "7,25"},
    }
    payload = Payload(name="pxweb-t.json", content=json.dumps(dataset).encode(), fetched_at=payload_time())
    records = list(PxWebConnector(make_spec("pxweb", "http://127.0.0.1:9/t.px")).parse(payload))
    assert [(r.jurisdiction, r.period, r.value, r.jurisdiction_code_hint) for r in records] == [
        ("Ninh Thuận", "2023", 10.5, "58"),
        ("Ninh Thuận", "2024", None, "58"),
        ("Bình Định", "2023", None, "52"),
        ("Bình Định", "2024", "7,25", "52"),
    ]


# -- HTML ranking tables (DTI) ---------------------------------------------------------------------
def test_dti_two_level_header(srv: PublisherServer) -> None:
    spec = make_spec(
        "html_table",
        srv.url + "/dti/{year}",
        options={
            "years": [2024],
            "indicators": {"DTI": "dti_score", "Xếp hạng": "dti_rank", "Hạ tầng số": "dti_infra"},
        },
    )
    payload, records = one(HtmlTableConnector(spec))
    assert srv.requests_to("/dti/2024")[0].method == "GET"
    assert payload.name == "html-test-html-table-2024.html"
    assert payload.resource == "2024"
    assert len(records) == 34 * 3  # the footnote row ('Nguồn: ...') is not a province
    first = "1 | Hà Nội | 0.7748 | 0.8867 | 0.8879 | 0.9325 | 0.8793 | 0.9044 | 0.7137 | 0.9515 | 0.8241"
    assert records[:3] == [
        RawRecord(
            jurisdiction="Hà Nội",
            period="2024",
            value="1",
            indicator="dti_rank",
            sheet="2024",
            row=3,
            column="Xếp hạng",
            raw=first,
        ),
        RawRecord(
            jurisdiction="Hà Nội",
            period="2024",
            value="0.8879",
            indicator="dti_infra",
            sheet="2024",
            row=3,
            column="Chuyển đổi số nền tảng / Hạ tầng số",
            raw=first,
        ),
        RawRecord(
            jurisdiction="Hà Nội",
            period="2024",
            value="0.8241",
            indicator="dti_score",
            sheet="2024",
            row=3,
            column="DTI",
            raw=first,
        ),
    ]
    ranks = [r.value for r in records if r.indicator == "dti_rank"]
    assert ranks == [str(n) for n in range(1, 35)]
    scores = [r.value for r in records if r.indicator == "dti_score"]
    assert all(isinstance(s, str) and len(s.split(".")[1]) == 4 for s in scores)
    assert nfd("Khánh Hòa") in {r.jurisdiction for r in records}


def test_dti_page_without_thead_and_63_provinces(srv: PublisherServer) -> None:
    spec = make_spec("html_table", srv.url + "/dti/{year}", resources=["2023"])
    _, records = one(HtmlTableConnector(spec))
    assert len(records) == 63 * 2
    assert {r.period for r in records} == {"2023"}
    assert {r.indicator for r in records} == {"dti_rank", "dti_score"}
    assert nfd("Ninh Thuận") in {r.jurisdiction for r in records}
    assert records[0].row == 3
    assert records[-1].row == 65


def test_dti_period_from_the_page_title(srv: PublisherServer) -> None:
    connector = HtmlTableConnector(make_spec("html_table", srv.url + "/dti/2024.html"))
    assert connector.resources() == ["page"]
    _, records = one(connector)
    assert {r.period for r in records} == {"2024"}
    assert len(records) == 68


def test_dti_missing_year_and_garbage_page(srv: PublisherServer) -> None:
    connector = HtmlTableConnector(
        make_spec("html_table", srv.url + "/dti/{year}", options={"years": [2019]})
    )
    with pytest.raises(FetchError) as err:
        list(connector.fetch())
    assert err.value.status == 404
    srv.override(
        "/dti/2024", "<html><body><p>Trang đang cập nhật</p></body></html>", content_type="text/html"
    )
    connector = HtmlTableConnector(make_spec("html_table", srv.url + "/dti/{year}", options={"year": 2024}))
    payload = next(connector.fetch())
    with pytest.raises(ParseError) as perr:
        list(connector.parse(payload))
    assert "no ranking table" in perr.value.en
    assert "không có bảng xếp hạng" in perr.value.vi


def test_table_grid_expands_rowspan_and_colspan() -> None:
    import lxml.html

    table = lxml.html.fragment_fromstring(
        "<table><tr><th rowspan='2'>A</th><th colspan='2'>B</th><th rowspan='3'>C</th></tr>"
        "<tr><th>b1</th><th>b2</th></tr><tr><td>1</td><td rowspan='2'>x</td><td>2</td></tr>"
        "<tr><td>3</td><td>4</td><td>5</td></tr></table>"
    )
    assert table_grid(table) == [
        ["A", "B", "B", "C"],
        ["A", "b1", "b2", "C"],
        ["1", "x", "2", "C"],
        ["3", "x", "4", "5"],
    ]


# -- 766 public-service index ----------------------------------------------------------------------
def test_766_pages_until_a_short_page(srv: PublisherServer) -> None:
    spec = make_spec(
        "json_766",
        srv.url + "/jsp/rest.jsp",
        options={
            "periods": ["2025-Q3"],
            "page_size": 10,
            "indicators": {"CKMB": "psi_ckmb", "ROW_STT": "psi_rank"},
        },
    )
    payload, records = one(Json766Connector(spec))
    calls = srv.requests_to("/jsp/rest.jsp")
    assert [json.loads(c.form["params"][0]) for c in calls] == [
        {
            "service": "report_tinh_766_service",
            "p_nam": 2025,
            "p_6thang": 0,
            "p_quy": 3,
            "p_thang": 0,
            "pageIndex": i,
            "pageSize": 10,
        }
        for i in (1, 2, 3, 4)
    ]
    assert all(c.headers["content-type"] == "application/x-www-form-urlencoded" for c in calls)
    assert payload.meta["pages"] == "4"
    assert len(records) == 34 * 3
    source = json.loads((FIXTURES / "portal766" / "2025-Q3.json").read_text(encoding="utf-8"))
    first = source[0]
    assert records[:3] == [
        RawRecord(
            jurisdiction=first["TEN"],
            period="2025-Q3",
            value=first[key],
            indicator=code,
            sheet="2025-Q3",
            row=1,
            column=key,
            raw=json.dumps(first, ensure_ascii=False),
        )
        for key, code in (
            ("TONG_SCORE", "public_service_index_score"),
            ("CKMB", "psi_ckmb"),
            ("ROW_STT", "psi_rank"),
        )
    ]
    assert all(isinstance(r.value, str) for r in records)
    assert [r.row for r in records if r.column == "TONG_SCORE"] == list(range(1, 35))


def test_766_a_full_last_page_costs_one_empty_page(srv: PublisherServer) -> None:
    spec = make_spec("json_766", srv.url + "/jsp/rest.jsp", options={"years": [2024], "page_size": 21})
    _, records = one(Json766Connector(spec))
    assert len(srv.requests_to("/jsp/rest.jsp")) == 4  # 21 + 21 + 21 + an empty page
    assert len(records) == 63
    assert {r.indicator for r in records} == {"public_service_index_score"}


def test_766_retry_bad_period_and_garbage(srv: PublisherServer) -> None:
    srv.fail_next(2)
    spec = make_spec("json_766", srv.url + "/jsp/rest.jsp", options={"periods": ["2025-Q3"], "page_size": 50})
    _, records = one(Json766Connector(spec))
    assert len(records) == 34
    assert len(srv.requests) == 3
    with pytest.raises(ConfigError) as err:
        Json766Connector(make_spec("json_766", srv.url, options={"periods": ["Q3/2025"]})).resources()
    assert "Q3/2025" in err.value.en
    assert "Q3/2025" in err.value.vi
    srv.override("/jsp/rest.jsp", '{"error": "Phiên làm việc hết hạn"}')
    payload = next(Json766Connector(spec).fetch())
    with pytest.raises(ParseError) as perr:
        list(Json766Connector(spec).parse(payload))
    assert "expected a JSON array" in perr.value.en


def test_766_period_params() -> None:
    assert period_params("2024") == {"p_nam": 2024, "p_6thang": 0, "p_quy": 0, "p_thang": 0}
    assert period_params("2024-H2") == {"p_nam": 2024, "p_6thang": 2, "p_quy": 0, "p_thang": 0}
    assert period_params("2025-06") == {"p_nam": 2025, "p_6thang": 0, "p_quy": 0, "p_thang": 6}


# -- wiring -----------------------------------------------------------------------------------------
def test_registry_builds_each_portal_connector_with_a_shared_client(srv: PublisherServer) -> None:
    with httpx.Client(timeout=5) as client:
        for kind, url in (
            ("ckan", srv.url),
            ("dkan", srv.url),
            ("pxweb", srv.url + KTS01),
            ("html_table", srv.url + "/dti/{year}"),
            ("json_766", srv.url + "/jsp/rest.jsp"),
        ):
            connector = get_connector(make_spec(kind, url), http=client)
            assert connector.kind == kind
            assert connector.http is client  # type: ignore[attr-defined]
            connector.close()  # type: ignore[attr-defined]
        assert not client.is_closed


def test_server_from_python_structures() -> None:
    data = {
        "portal766": {
            "2024-H1": [{"ID": "1", "TEN": "Tỉnh Bình Định", "ROW_STT": "1", "TONG_SCORE": "90.10"}]
        },
        "ckan": {
            "datastore": {
                "r1": {
                    "fields": [
                        {"id": "Tỉnh", "type": "text"},
                        {"id": "Năm", "type": "text"},
                        {"id": "Giá trị", "type": "text"},
                    ],
                    "records": [{"Tỉnh": "Bình Định", "Năm": "2024", "Giá trị": "1.500.000"}],
                }
            }
        },
    }
    with PublisherServer(data=data) as server:
        spec = make_spec("json_766", server.url + "/jsp/rest.jsp", options={"periods": ["2024-H1"]})
        _, records = one(Json766Connector(spec))
        assert [(r.jurisdiction, r.period, r.value) for r in records] == [
            ("Tỉnh Bình Định", "2024-H1", "90.10")
        ]
        _, records = one(CkanConnector(make_spec("ckan", server.url)), "r1")  # headers guessed
        assert [(r.jurisdiction, r.period, r.value, r.column) for r in records] == [
            ("Bình Định", "2024", "1.500.000", "Giá trị")
        ]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_module_entry_point_serves_a_folder() -> None:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "chitieu.demo.publishers", "--root", str(FIXTURES), "--port", str(port)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert f"http://127.0.0.1:{port}" in line
        index = None
        for _ in range(50):
            try:
                index = httpx.get(f"http://127.0.0.1:{port}/").json()
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert index is not None
        assert index["dti"] == ["/dti/2023", "/dti/2024"]
        assert index["pxweb"] == [HTS02, KTS01]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# -- through the shared ingestion path (dry run: normalized and validated, no database) -------------
@pytest.mark.parametrize(
    ("kind", "path", "fields", "expected"),
    [
        ("ckan", "", {"options": {"query": "Khánh Hòa", "page_size": 5}}, [(12, 10, 2)]),
        ("ckan", "", {"resources": [WIDE], "indicator": FIBER}, [(6, 5, 1)]),
        (
            "dkan",
            "",
            {
                "resources": [DKAN_RID],
                "indicator": "digital_signature_adult_share",
                "columns": {"value": "gia_tri"},
            },
            [(7, 6, 1)],
        ),
        ("pxweb", KTS01, {"indicator": KTS, "options": {"format": "csv"}}, [(25, 24, 1)]),
        ("pxweb", KTS01, {"indicator": KTS}, [(25, 24, 1)]),
        ("html_table", "/dti/{year}", {"resources": ["2023", "2024"]}, [(126, 126, 0), (68, 68, 0)]),
        ("json_766", "/jsp/rest.jsp", {"resources": ["2025-Q3", "2024"]}, [(34, 34, 0), (63, 63, 0)]),
    ],
)
def test_portal_records_normalize_without_rejections(
    srv: PublisherServer, kind: str, path: str, fields: dict[str, Any], expected: list[tuple[int, int, int]]
) -> None:
    from chitieu.ingest.intake import ingest_source

    results = ingest_source(None, make_spec(kind, srv.url + path, **fields), dry_run=True)
    assert [(r.rows_read, r.rows_loaded, r.rows_missing) for r in results] == expected
    assert all(r.rows_rejected == 0 and r.error is None for r in results)


def test_ckan_constant_period_from_the_spec() -> None:
    table = {
        "fields": [{"id": "Địa phương", "type": "text"}, {"id": "Số liệu", "type": "numeric"}],
        "records": [{"Địa phương": "Quảng Nam", "Số liệu": 61.3}, {"Địa phương": "Đà Nẵng", "Số liệu": None}],
    }
    with PublisherServer(data={"ckan": {"datastore": {"r2": table}}}) as server:
        _, records = one(CkanConnector(make_spec("ckan", server.url, period="2024-H1", resources=["r2"])))
    assert [(r.jurisdiction, r.period, r.value, r.column) for r in records] == [
        ("Quảng Nam", "2024-H1", 61.3, "Số liệu"),
        ("Đà Nẵng", "2024-H1", None, "Số liệu"),
    ]


def test_html_table_url_with_year_needs_years() -> None:
    with pytest.raises(ConfigError) as err:
        HtmlTableConnector(make_spec("html_table", "http://127.0.0.1:9/dti/{year}")).resources()
    assert "options.years" in err.value.en
    assert "options.years" in err.value.vi
