"""Parser for Vietnamese target phrases: 'Trên 80%', 'Tối thiểu 03', 'Tăng trung bình 16 - 18%/năm',
'Nhóm 20 tỉnh dẫn đầu', 'Hoàn thành', '0,7', '≥ 95%'.

Grammar (matched on folded text, so diacritics/case/NFD do not matter):

    phrase    := [every] (milestone | relative | rank | growth | level)
    milestone := 'hoàn thành' | 'đã hoàn thành' | 'đưa vào vận hành' ... (no number)
    relative  := ('trên'|'cao hơn'|'hơn') ['mức'] ('trung bình'|'bình quân') ['chung'] ['của'] 'cả nước'
    rank      := ['thuộc'|'trong'] ('nhóm'|'top') N [cohort words] ['dẫn đầu'|'đứng đầu'|'hàng đầu'|...]
                 | ('xếp thứ'|'đứng thứ'|'xếp hạng') N ['/' M]
    growth    := ('tăng'|'giảm') ['trung bình'|'bình quân'] quantity '%/năm'   (also bare 'X%/năm')
    level     := [operator words] quantity [unit]
    quantity  := number | number ('-'|'–'|'đến'|'tới') number        (a band: value .. value_max)
    number    := '0,7' | '12,5' | '02' | '7.500' (dot + 3 digits = thousands) | '65.8'
    operator  := 'trên'|'hơn'|'vượt'|'>' -> '>' ; 'tối thiểu'|'ít nhất'|'không thấp hơn'|'không dưới'|
                 'đạt'|'ở mức'|'từ .. trở lên'|'≥'|'>=' -> '>=' ; 'dưới'|'<' -> '<' ;
                 'tối đa'|'không quá'|'không vượt quá'|'≤'|'<=' -> '<=' ;
                 none -> '>=' (explicit_operator False)
    every     := 'hằng năm' | 'hàng năm' | 'mỗi năm' anywhere -> every_year

Kind: rank/growth/milestone from their forms; otherwise `count` when the unit names things counted
(or there is no unit and the number is a whole number), else `level`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from chitieu.errors import ChitieuError
from chitieu.textnorm import fold, nfc


class PhraseError(ChitieuError):
    """A target phrase that cannot be read; `en`/`vi` give the reason, `text` the phrase."""

    code = "unreadable_phrase"

    def __init__(self, text: str, reason_vi: str, reason_en: str) -> None:
        super().__init__(reason_en, reason_vi)
        self.text = text

    def __str__(self) -> str:
        return f"{self.en}: {self.text!r}"


@dataclass(frozen=True)
class ParsedTarget:
    kind: str  # level | rank | count | growth | milestone
    operator: str | None
    value: float | None
    value_max: float | None = None
    unit: str | None = None
    rank_cohort: str | None = None  # 'tỉnh', 'nước ASEAN', 'thế giới' ... for rank targets
    scope: str | None = None  # 'ASEAN', 'thế giới', 'cả nước', 'national_average' (relative)
    every_year: bool = False
    milestone: str | None = None  # the milestone wording
    relative_to: str | None = None  # 'national' for "trên trung bình cả nước"
    explicit_operator: bool = True
    approximate: bool = False
    notes: tuple[str, ...] = field(default_factory=tuple)


_NUM = r"\d+(?:[.,]\d+)*"
_BAND_SEP = r"\s*(?:-|–|—|đến|den|tới|toi)\s*"
_QTY_RE = re.compile(rf"(?P<a>{_NUM})(?:{_BAND_SEP}(?P<b>{_NUM}))?")

# (folded pattern, operator); longest first so 'khong thap hon' wins over 'hon'.
_OPERATOR_WORDS: list[tuple[str, str]] = [
    ("khong vuot qua", "<="),
    ("khong thap hon", ">="),
    ("khong it hon", ">="),
    ("khong duoi", ">="),
    ("khong qua", "<="),
    ("toi thieu", ">="),
    ("it nhat", ">="),
    ("toi da", "<="),
    ("cao hon", ">"),
    ("lon hon", ">"),
    ("nho hon", "<"),
    ("thap hon", "<"),
    ("tren", ">"),
    ("hon", ">"),
    ("vuot", ">"),
    ("duoi", "<"),
    ("o muc", ">="),
    ("dat", ">="),
    (">=", ">="),
    ("<=", "<="),
    (">", ">"),
    ("<", "<"),
    ("=", "="),
]
_EVERY_YEAR = ("hang nam", "moi nam", "nam nao cung")
_MILESTONE_WORDS = (
    "hoan thanh",
    "da hoan thanh",
    "dua vao van hanh",
    "dua vao hoat dong",
    "xay dung xong",
    "co ban hoan thanh",
    "trien khai",
    "ban hanh",
)
_COUNT_UNITS = (
    "do thi",
    "to chuc",
    "doanh nghiep",
    "khu",
    "san pham",
    "trung tam",
    "phong thi nghiem",
    "cong bo",
    "don",
    "van bang",
    "sang che",
    "nhiem vu",
    "de tai",
    "nen tang",
    "co so du lieu",
    "nguoi",
    "mo hinh",
    "dich vu",
    "ung dung",
    "cum",
    "xa",
    "huyen",
    "startup",
    "du an",
    "nhan luc",
    "lao dong",
    "hoc vien",
    "sinh vien",
)
_APPROX = ("khoang", "xap xi", "gan")
_RELATIVE_RE = re.compile(
    r"(tren|cao hon|hon|vuot)\s+(so voi\s+)?(muc\s+)?(trung binh|binh quan)(\s+chung)?(\s+cua)?"
    r"\s+(ca nuoc|toan quoc|viet nam)"
)
_RANK_GROUP_RE = re.compile(r"(?:thuoc\s+|trong\s+)?(?:nhom|top)\s+(?P<n>\d+)\s*(?P<rest>.*)")
_RANK_POS_RE = re.compile(
    r"(?:xep thu|dung thu|xep hang thu|xep hang|hang)\s+(?P<n>\d+)(?:\s*/\s*(?P<of>\d+))?"
)
_GROWTH_RE = re.compile(r"%\s*(?:/|mot|moi|trong)\s*nam|%\s*nam\b")


def parse_number(text: str) -> float:
    """'0,7' -> 0.7; '12,5' -> 12.5; '02' -> 2; '7.500' -> 7500; '65.8' -> 65.8; '1.234.567' -> 1234567."""
    s = text.strip()
    if re.fullmatch(r"\d{1,3}(?:\.\d{3})+", s):
        return float(s.replace(".", ""))
    if re.fullmatch(r"\d{1,3}(?:,\d{3}){2,}", s):
        return float(s.replace(",", ""))
    if s.count(",") == 1 and "." not in s:
        return float(s.replace(",", "."))
    if s.count(".") == 1 and "," not in s:
        return float(s)
    if re.fullmatch(r"\d+", s):
        return float(s)
    if re.fullmatch(r"\d{1,3}(?:\.\d{3})+,\d+", s):  # 1.234,5
        return float(s.replace(".", "").replace(",", "."))
    raise ValueError(f"not a number: {text!r}")


def _clean(text: str) -> str:
    s = nfc(text)
    s = s.replace("≥", " >= ").replace("≤", " <= ").replace("⩾", " >= ").replace("⩽", " <= ")
    s = re.sub(r"[²³¹⁰-⁹*]", "", s)  # footnote marks glued to numbers
    return re.sub(r"\s+", " ", s).strip()


def _unit_from(original_tail: str) -> str | None:
    unit = original_tail.strip(" .;:,()")
    unit = re.sub(r"(?i)\s*\b(trở lên|hằng năm|hàng năm|mỗi năm)\b", "", unit).strip(" .;:,()")
    if not unit:
        return None
    unit = re.sub(r"(?i)\s*(/|trên)\s*(một\s+)?vạn dân", "/10.000 dân", unit)
    unit = re.sub(r"(?i)vạn dân", "10.000 dân", unit)
    unit = re.sub(r"\s*/\s*", "/", unit)
    return unit


def _operator(folded_head: str) -> tuple[str | None, bool]:
    head = folded_head.strip()
    for word, op in _OPERATOR_WORDS:
        if re.search(rf"(^|\s){re.escape(word)}($|\s)", head) or (not word.isalpha() and word in head):
            return op, True
    return None, False


def _kind_for(unit: str | None, value: float, unit_hint: str | None) -> str:
    u = fold(unit or unit_hint or "")
    if "%" in u or "/" in u or "chi so" in u or "diem" in u or re.search(r"\btren\b.*\bdan\b", u):
        return "level"  # shares, rates per population, indices
    if u:
        return "count" if any(u.startswith(c) or f" {c}" in f" {u}" for c in _COUNT_UNITS) else "level"
    return "count" if float(value).is_integer() and value >= 1 else "level"


def parse_target_phrase(text: str, unit_hint: str | None = None) -> ParsedTarget:
    """Read one target phrase; `unit_hint` is the unit column of an annex row, if any."""
    if text is None or not str(text).strip():
        raise PhraseError(str(text), "Cụm chỉ tiêu trống", "Empty target phrase")
    original = _clean(str(text))
    folded = fold(original)
    every_year = any(w in folded for w in _EVERY_YEAR)
    relative = _RELATIVE_RE.search(folded) is not None
    if not re.search(r"\d", folded):
        return _without_number(original, folded, every_year, relative)
    rank = _rank(folded, every_year)
    if rank is not None:
        return rank
    qty = _Quantity.read(original)
    if _GROWTH_RE.search(fold(qty.tail)) or ("tang" in qty.head.split() and "%" in qty.tail):
        return _growth(qty, every_year)
    return _level(qty, every_year, relative, unit_hint)


def _without_number(original: str, folded: str, every_year: bool, relative: bool) -> ParsedTarget:
    """'trên trung bình cả nước' (a margin over the national figure) or a milestone."""
    if relative:
        return ParsedTarget(
            kind="level",
            operator=">",
            value=0.0,
            scope="national_average",
            relative_to="national",
            every_year=every_year,
            notes=("value 0 = margin over the national figure of the same year",),
        )
    if any(folded == w or folded.startswith(w + " ") for w in _MILESTONE_WORDS):
        return ParsedTarget(
            kind="milestone", operator=None, value=None, milestone=original, every_year=every_year
        )
    raise PhraseError(original, "Không tìm thấy giá trị số", "No numeric value found")


def _rank(folded: str, every_year: bool) -> ParsedTarget | None:
    m = _RANK_GROUP_RE.search(folded)
    if m:
        cohort, scope = _cohort(m.group("rest"))
        return ParsedTarget(
            kind="rank",
            operator="<=",
            value=float(m.group("n")),
            unit="hạng",
            rank_cohort=cohort,
            scope=scope,
            every_year=every_year,
        )
    m = _RANK_POS_RE.search(folded)
    if m and "%" not in folded:
        return ParsedTarget(
            kind="rank",
            operator="<=",
            value=float(m.group("n")),
            unit="hạng",
            every_year=every_year,
            notes=(f"ranked of {m.group('of')}",) if m.group("of") else (),
        )
    return None


@dataclass(frozen=True)
class _Quantity:
    """The phrase's number (or band a..b) and the words before (folded) and after it."""

    a: float
    b: float | None
    head: str
    tail: str

    @classmethod
    def read(cls, original: str) -> _Quantity:
        qty = _QTY_RE.search(original)
        if qty is None:  # pragma: no cover - guarded by the digit check of the caller
            raise PhraseError(original, "Không tìm thấy giá trị số", "No numeric value found")
        try:
            a = parse_number(qty.group("a"))
            b = parse_number(qty.group("b")) if qty.group("b") else None
        except ValueError as exc:
            raise PhraseError(original, "Số không hợp lệ", "Invalid number") from exc
        if b is not None and b < a:
            raise PhraseError(
                original, "Khoảng giá trị ngược (cận dưới lớn hơn cận trên)", "Band is reversed"
            )
        return cls(a, b, fold(original[: qty.start()]), original[qty.end() :])

    @property
    def approximate(self) -> bool:
        return any(re.search(rf"(^|\s){w}($|\s)", self.head) for w in _APPROX)


def _growth(qty: _Quantity, every_year: bool) -> ParsedTarget:
    if "giam" in qty.head.split():
        return ParsedTarget(
            kind="growth",
            operator="<=",
            value=-qty.a,
            value_max=-qty.b if qty.b is not None else None,
            unit="%/năm",
            every_year=every_year,
            approximate=qty.approximate,
        )
    op, explicit = _operator(qty.head.replace("tang", " "))
    return ParsedTarget(
        kind="growth",
        operator=op if op in (">", ">=") else ">=",
        value=qty.a,
        value_max=qty.b,
        unit="%/năm",
        every_year=every_year,
        explicit_operator=explicit,
        approximate=qty.approximate,
    )


def _level(qty: _Quantity, every_year: bool, relative: bool, unit_hint: str | None) -> ParsedTarget:
    notes: list[str] = []
    op, explicit = _operator(qty.head)
    if re.match(r"^\s*%?\s*tro len", fold(qty.tail)):
        op, explicit = ">=", True
    if op is None:
        op = ">="
    if qty.b is not None and op in (">", "<", "<="):
        notes.append("band with a strict or upper-bound operator")
    level_unit = _unit_from(qty.tail)
    if level_unit and fold(level_unit).startswith("tro len"):
        level_unit = None
    if relative:
        notes.append("stated relative to the national average")
    return ParsedTarget(
        kind=_kind_for(level_unit, qty.a, unit_hint),
        operator=op,
        value=qty.a,
        value_max=qty.b,
        unit=level_unit or (unit_hint.strip() if unit_hint and unit_hint.strip() else None),
        every_year=every_year,
        explicit_operator=explicit,
        approximate=qty.approximate,
        relative_to="national" if relative else None,
        notes=tuple(notes),
    )


def _cohort(rest_folded: str) -> tuple[str | None, str | None]:
    rest = rest_folded.strip()
    scope = None
    if "asean" in rest:
        scope = "ASEAN"
    elif "the gioi" in rest or "toan cau" in rest:
        scope = "thế giới"
    elif "ca nuoc" in rest or "toan quoc" in rest or "tinh" in rest or "dia phuong" in rest:
        scope = "cả nước"
    elif "khu vuc" in rest or "vung" in rest:
        scope = "vùng"
    words = rest.split()
    cohort = None
    if words:
        if words[0] == "tinh" or rest.startswith("tinh thanh") or rest.startswith("dia phuong"):
            cohort = "tỉnh"
        elif words[0] == "nuoc" or rest.startswith("quoc gia"):
            cohort = "nước"
    return cohort, scope
