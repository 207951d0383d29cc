"""Folding of Vietnamese text for matching names, headers and aliases.

Matching is insensitive to diacritics, case, Unicode normalization (NFC/NFD) and spacing;
đ/Đ fold to d because NFD does not decompose them.
"""

from __future__ import annotations

import re
import unicodedata

_SPACE_RE = re.compile(r"[\s\u00a0_]+")
_PUNCT_RE = re.compile(r"[^\w\s]")


def fold(text: str) -> str:
    """'  Tỉnh  NINH THUẬN ' -> 'tinh ninh thuan'."""
    decomposed = unicodedata.normalize("NFD", text)
    stripped = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    stripped = stripped.replace("đ", "d").replace("Đ", "D")
    return _SPACE_RE.sub(" ", stripped).strip().lower()


def fold_key(text: str) -> str:
    """fold() with punctuation removed: 'TP. Đà Nẵng' -> 'tp da nang'."""
    return _SPACE_RE.sub(" ", _PUNCT_RE.sub(" ", fold(text))).strip()


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)
