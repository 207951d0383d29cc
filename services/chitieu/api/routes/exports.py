"""Exports as CSV and XLSX, and the data-entry template (helper B fills in)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["exports"])
