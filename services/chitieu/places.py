"""Which jurisdictions a reader means: the one resolver of a jurisdiction filter for the API, the
exports and the CLI, over the catalog's registry (chitieu.catalog.jurisdictions)."""

from __future__ import annotations

from chitieu.catalog.jurisdictions import load_jurisdictions
from chitieu.errors import ChitieuError


class UnknownJurisdiction(ChitieuError):
    code = "unknown-jurisdiction"
    http_status = 404  # a name the client gave

    def __init__(self, text: str) -> None:
        super().__init__(f"unknown jurisdiction '{text}'", f"Không tìm thấy địa phương '{text}'")


def jurisdiction_ids(text: str | None) -> list[str] | None:
    """None (no filter) or every jurisdiction a text may name across periods: an id ('old-58'), a
    code ('58', '058') or a name in any spelling ('NINH THUAN'); UnknownJurisdiction when none."""
    if text is None or not text.strip():
        return None
    registry = load_jurisdictions()
    wanted = text.strip()
    ids = [wanted.lower()] if wanted.lower() in registry else [j.id for j in registry.candidates(wanted)]
    if not ids:
        raise UnknownJurisdiction(text)
    return ids
