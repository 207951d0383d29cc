"""Jurisdiction registry: names and codes across the merger of 1 July 2025."""

from __future__ import annotations

import unicodedata
from datetime import date

import pytest

from chitieu.catalog.jurisdictions import MERGER_DATE, load_jurisdictions

BEFORE = date(2025, 6, 30)
AFTER = date(2025, 7, 1)


@pytest.fixture(scope="module")
def reg():  # type: ignore[no-untyped-def]
    return load_jurisdictions()


def test_counts(reg) -> None:  # type: ignore[no-untyped-def]
    provinces = [j for j in reg if j.level == "province"]
    assert len([j for j in provinces if j.id.startswith("old-")]) == 63
    assert len([j for j in provinces if j.id.startswith("new-")]) == 34
    assert len(reg.provinces_on(BEFORE)) == 63
    assert len(reg.provinces_on(AFTER)) == 34
    assert reg.get("vn").level == "national"
    with pytest.raises(KeyError):
        reg.get("old-99")


def test_code_52_depends_on_the_date(reg) -> None:  # type: ignore[no-untyped-def]
    assert reg.resolve("52", on=BEFORE).id == "old-52"
    assert reg.resolve("52", on=BEFORE).name == "Bình Định"
    assert reg.resolve("52", on=AFTER).id == "new-52"
    assert reg.resolve("52", on=AFTER).name == "Gia Lai"
    assert reg.resolve("52").id == "new-52"  # today
    assert reg.resolve("64", on=BEFORE).name == "Gia Lai"


@pytest.mark.parametrize(
    ("text", "on", "expected"),
    [
        ("Ninh Thuận", BEFORE, "old-58"),
        ("Ninh Thuan", None, "old-58"),
        ("NINH THUẬN", None, "old-58"),
        ("Tỉnh Ninh Thuận", BEFORE, "old-58"),
        ("T. Ninh Thuận", BEFORE, "old-58"),
        ("Quảng Nam", BEFORE, "old-49"),
        ("TP. Đà Nẵng", BEFORE, "old-48"),
        ("TP Đà Nẵng", AFTER, "new-48"),
        ("Thành phố Đà Nẵng", None, "new-48"),
        ("Đà Nẵng", date(2020, 1, 1), "old-48"),
        ("Ninh Bình", BEFORE, "old-37"),
        ("Ninh Bình", AFTER, "new-37"),
        ("Ninh Bình", None, "new-37"),
        ("Gia Lai", date(2024, 12, 31), "old-64"),
        ("Gia Lai", AFTER, "new-52"),
        ("Khánh Hoà", BEFORE, "old-56"),
        ("Khánh Hòa", AFTER, "new-56"),
        ("Hà Nam", AFTER, "old-35"),  # ceased: its name still denotes the old province
        ("Thừa Thiên Huế", BEFORE, "old-46"),
        ("Huế", AFTER, "new-46"),
        ("TP.HCM", AFTER, "new-79"),
        ("Bà Rịa - Vũng Tàu", BEFORE, "old-77"),
        ("Bà Rịa Vũng Tàu", BEFORE, "old-77"),
        ("Việt Nam", None, "vn"),
        ("old-58", None, "old-58"),
        ("new-56", BEFORE, "new-56"),
        ("8", AFTER, "new-08"),
        ("08", BEFORE, "old-08"),
    ],
)
def test_resolve(reg, text: str, on: date | None, expected: str) -> None:  # type: ignore[no-untyped-def]
    got = reg.resolve(text, on=on)
    assert got is not None, text
    assert got.id == expected


def test_nfd_input(reg) -> None:  # type: ignore[no-untyped-def]
    nfd = unicodedata.normalize("NFD", "Tỉnh Bình Định")
    assert nfd != unicodedata.normalize("NFC", nfd)
    assert reg.resolve(nfd, on=BEFORE).id == "old-52"


def test_unknown(reg) -> None:  # type: ignore[no-untyped-def]
    assert reg.resolve("Atlantis") is None
    assert reg.resolve("") is None
    assert reg.resolve("99") is None


def test_succession(reg) -> None:  # type: ignore[no-untyped-def]
    [(succ, eff)] = reg.successors("old-58")
    assert (succ.id, succ.name, eff) == ("new-56", "Khánh Hòa", MERGER_DATE)
    assert {p.id for p, _ in reg.predecessors("new-37")} == {"old-35", "old-36", "old-37"}
    assert {p.id for p, _ in reg.predecessors("new-48")} == {"old-48", "old-49"}
    assert {p.id for p, _ in reg.predecessors("new-52")} == {"old-52", "old-64"}
    assert {p.id for p, _ in reg.predecessors("new-56")} == {"old-56", "old-58"}
    # every old province has exactly one successor; every new one at least one predecessor
    assert all(len(reg.successors(j.id)) == 1 for j in reg if j.id.startswith("old-"))
    assert all(reg.predecessors(j.id) for j in reg if j.id.startswith("new-"))


def test_validity(reg) -> None:  # type: ignore[no-untyped-def]
    old, new = reg.get("old-52"), reg.get("new-52")
    assert old.valid_on(BEFORE)
    assert not old.valid_on(AFTER)
    assert new.valid_on(AFTER)
    assert not new.valid_on(BEFORE)
    assert old.valid_to == BEFORE
    assert new.valid_from == AFTER
