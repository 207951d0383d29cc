"""The Vietnamese target-phrase parser, table-driven."""

from __future__ import annotations

import unicodedata

import pytest

from chitieu.catalog.phrases import PhraseError, parse_number, parse_target_phrase

# phrase, kind, operator, value, value_max, every_year
CASES: list[tuple[str, str, str | None, float | None, float | None, bool]] = [
    # the list
    ("Trên 80%", "level", ">", 80, None, False),
    ("Tối thiểu 30%", "level", ">=", 30, None, False),
    ("Ít nhất 03", "count", ">=", 3, None, False),
    ("≥ 95%", "level", ">=", 95, None, False),
    ("02%", "level", ">=", 2, None, False),
    ("Đạt 12 người/vạn dân", "level", ">=", 12, None, False),
    ("Tăng trung bình 16 - 18%/năm", "growth", ">=", 16, 18, False),
    ("8 - 10%", "level", ">=", 8, 10, False),
    ("Nhóm 20 tỉnh dẫn đầu", "rank", "<=", 20, None, False),
    ("Nhóm 3 nước dẫn đầu ASEAN", "rank", "<=", 3, None, False),
    ("Hoàn thành", "milestone", None, None, None, False),
    ("100%", "level", ">=", 100, None, False),
    ("0,7", "level", ">=", 0.7, None, False),
    # operators as the seeds word them
    ("hơn 60%", "level", ">", 60, None, False),
    ("chiếm trên 60%", "level", ">", 60, None, False),
    ("đạt trên 90%", "level", ">", 90, None, False),
    ("ở mức 60%", "level", ">=", 60, None, False),
    ("ở mức từ 50% trở lên", "level", ">=", 50, None, False),
    ("đạt tối thiểu 30% GRDP", "level", ">=", 30, None, False),
    ("đạt 80%", "level", ">=", 80, None, False),
    ("duy trì trên 0,7", "level", ">", 0.7, None, False),
    ("duy trì ở mức trên 0,75", "level", ">", 0.75, None, False),
    ("đạt 02% GRDP", "level", ">=", 2, None, False),
    ("ít nhất 03% tổng chi ngân sách hằng năm", "level", ">=", 3, None, True),
    ("ít nhất 3% tổng chi ngân sách hàng năm", "level", ">=", 3, None, True),
    ("đạt 12 người trên một vạn dân", "level", ">=", 12, None, False),
    ("tăng trung bình 10%/năm", "growth", ">=", 10, None, False),
    ("đạt 8 - 10%", "level", ">=", 8, 10, False),
    ("đạt tối thiểu 03 đô thị", "count", ">=", 3, None, False),
    ("có ít nhất 04 tổ chức", "count", ">=", 4, None, False),
    ("khoảng 7.500 nhân lực", "count", ">=", 7500, None, False),
    ("đạt trên 80%²", "level", ">", 80, None, False),
    ("trong nhóm 20 tỉnh có thu nhập cao", "rank", "<=", 20, None, False),
    ("xếp hạng nhóm 30 tỉnh, thành phố dẫn đầu cả nước", "rank", "<=", 30, None, False),
    ("thuộc nhóm 20 địa phương dẫn đầu cả nước", "rank", "<=", 20, None, False),
    ("Top 30 thế giới", "rank", "<=", 30, None, False),
    ("xếp thứ 22/63", "rank", "<=", 22, None, False),
    # decimal commas, symbols, ceilings
    ("12,5%", "level", ">=", 12.5, None, False),
    ("Trên 0,75", "level", ">", 0.75, None, False),
    ("≤ 5%", "level", "<=", 5, None, False),
    (">= 70%", "level", ">=", 70, None, False),
    ("Tối đa 15%", "level", "<=", 15, None, False),
    ("Không quá 10%", "level", "<=", 10, None, False),
    ("Dưới 5%", "level", "<", 5, None, False),
    ("Không thấp hơn 50%", "level", ">=", 50, None, False),
    ("Từ 40 đến 50 tổ chức", "count", ">=", 40, 50, False),
    ("16 – 18%/năm", "growth", ">=", 16, 18, False),
    ("Mỗi năm tối thiểu 2%", "level", ">=", 2, None, True),
    ("Giảm trung bình 5%/năm", "growth", "<=", -5, None, False),
    ("1.000 doanh nghiệp", "count", ">=", 1000, None, False),
    ("Đưa vào vận hành", "milestone", None, None, None, False),
    ("đạt tỷ lệ 01 doanh nghiệp công nghệ số trên 1000 dân", "level", ">=", 1, None, False),
]


@pytest.mark.parametrize(("phrase", "kind", "operator", "value", "value_max", "every_year"), CASES)
def test_phrase_table(
    phrase: str,
    kind: str,
    operator: str | None,
    value: float | None,
    value_max: float | None,
    every_year: bool,
) -> None:
    got = parse_target_phrase(phrase)
    assert got.kind == kind
    assert got.operator == operator
    assert got.value == (pytest.approx(value) if value is not None else None)
    assert got.value_max == (pytest.approx(value_max) if value_max is not None else None)
    assert got.every_year is every_year


def test_table_is_big_enough() -> None:
    assert len(CASES) >= 40


@pytest.mark.parametrize("phrase", ["Trên 80%", "Đạt 12 người/vạn dân", "Nhóm 3 nước dẫn đầu ASEAN", "0,7"])
def test_nfd_and_case_do_not_matter(phrase: str) -> None:
    nfd = unicodedata.normalize("NFD", phrase).upper()
    assert parse_target_phrase(nfd).operator == parse_target_phrase(phrase).operator
    assert parse_target_phrase(nfd).value == parse_target_phrase(phrase).value


def test_relative_to_national() -> None:
    got = parse_target_phrase("cao hơn trung bình cả nước")
    assert (got.relative_to, got.operator, got.value) == ("national", ">", 0.0)
    assert (
        parse_target_phrase("đạt ở mức cao hơn so với bình quân chung của cả nước").relative_to == "national"
    )
    assert parse_target_phrase("đạt mức trên trung bình của Việt Nam").relative_to == "national"


def test_rank_cohort_and_scope() -> None:
    asean = parse_target_phrase("Nhóm 3 nước dẫn đầu ASEAN")
    assert (asean.rank_cohort, asean.scope) == ("nước", "ASEAN")
    provinces = parse_target_phrase("Nhóm 20 tỉnh dẫn đầu")
    assert provinces.rank_cohort == "tỉnh"


def test_units() -> None:
    assert parse_target_phrase("Đạt 12 người/vạn dân").unit == "người/10.000 dân"
    assert parse_target_phrase("Tăng trung bình 16 - 18%/năm").unit == "%/năm"
    assert parse_target_phrase("ở mức từ 50% trở lên").unit == "%"
    assert parse_target_phrase("Ít nhất 03", unit_hint="tổ chức").unit == "tổ chức"


def test_explicit_operator_flag_and_approximate() -> None:
    assert parse_target_phrase("02%").explicit_operator is False
    assert parse_target_phrase("Trên 80%").explicit_operator is True
    assert parse_target_phrase("khoảng 7.500 nhân lực").approximate is True


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("0,7", 0.7),
        ("12,5", 12.5),
        ("02", 2),
        ("7.500", 7500),
        ("65.8", 65.8),
        ("1.234.567", 1234567),
        ("97,01", 97.01),
    ],
)
def test_numbers(text: str, number: float) -> None:
    assert parse_number(text) == pytest.approx(number)


@pytest.mark.parametrize("phrase", ["", "   ", "Đạt mức khá", "Cơ bản hoàn thiện thể chế", "10 - 8%"])
def test_unreadable_phrases_raise_with_both_languages(phrase: str) -> None:
    with pytest.raises(PhraseError) as info:
        parse_target_phrase(phrase)
    assert info.value.vi
    assert info.value.en
    assert info.value.vi != info.value.en  # two languages, not one text twice
