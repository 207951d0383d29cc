"""Constrained field types shared by the catalog's file models (and so by the published JSON Schema)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

NonEmpty = Annotated[str, Field(min_length=1)]
Code2 = Annotated[str, Field(pattern=r"^\d{2}$")]
JurisdictionId = Annotated[str, Field(pattern=r"^(vn|old-\d{2}|new-\d{2}|xa-\d{5})$")]
IndicatorCode = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
PlanId = Annotated[str, Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")]
TargetId = Annotated[str, Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*\.[a-z0-9][a-z0-9_-]*$")]
Year = Annotated[int, Field(ge=1990, le=2100)]
