"""Status markers: provisional ('ước', 'sơ bộ', 'Prel.', 'Est.') and final ('chính thức')."""

from __future__ import annotations

import re
from typing import Any

from chitieu.textnorm import fold, nfc

_PROVISIONAL_RE = re.compile(r"\b(uoc tinh|uoc thuc hien|uoc|so bo|provisional|preliminary|estimated?)\b")
_PROVISIONAL_STRIP_RE = re.compile(
    r"[\(\[]?\s*(ước tính|ước thực hiện|ước|sơ bộ|provisional|preliminary|estimated?)\s*[\)\]]?",
    re.IGNORECASE,
)


def has_provisional_marker(text: Any) -> bool:
    """'2023 (ước)', 'Ước tính', 'sơ bộ' -> True; 'thuộc' (contains 'uoc' inside a word) -> False."""
    if not isinstance(text, str) or not text:
        return False
    return bool(_PROVISIONAL_RE.search(fold(text)))


def strip_provisional_marker(text: str) -> str:
    return _PROVISIONAL_STRIP_RE.sub(" ", nfc(text)).strip()


_FINAL_WORDS = {"final", "chinh thuc", "thuc hien", "ct", "f"}


def parse_status(cell: Any) -> str | None:
    """'ước'/'sơ bộ'/'provisional' -> 'provisional'; 'chính thức'/'final' -> 'final'; else None."""
    if not isinstance(cell, str) or not cell.strip():
        return None
    if has_provisional_marker(cell) or fold(cell).strip() in {"p", "provisional"}:
        return "provisional"
    if fold(cell).strip() in _FINAL_WORDS:
        return "final"
    return None
