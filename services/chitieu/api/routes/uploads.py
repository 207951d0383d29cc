"""Uploads: multipart spreadsheet -> the ingestion path -> the validation report (helper A fills in)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["uploads"])
