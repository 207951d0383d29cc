"""Helpers shared by the routes."""

from __future__ import annotations

from fastapi import HTTPException

from chitieu.api import queries


def jurisdiction_filter(conn: queries.Conn, jurisdiction: str | None) -> list[str] | None:
    """None (no filter) or the ids the text names; an unknown name is a 404, not an empty list."""
    if jurisdiction is None or not jurisdiction.strip():
        return None
    ids = queries.resolve_jurisdictions(conn, text=jurisdiction)
    if not ids:
        raise HTTPException(
            status_code=404,
            detail={
                "vi": f"Không tìm thấy địa phương '{jurisdiction}'",
                "en": f"unknown jurisdiction '{jurisdiction}'",
            },
        )
    return ids
