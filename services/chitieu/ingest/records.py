"""The contract between connectors and the rest of ingestion.

A connector fetches Payloads (the exact bytes received, archived by sha256 before any parsing)
and parses each into RawRecords: figures as found, with where they were found. Normalization
(numbers, periods, units, names) and validation happen afterwards, in one place for all sources.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from chitieu.errors import ChitieuError


@dataclass(frozen=True)
class Payload:
    """What a source gave us, byte for byte."""

    name: str  # file name, or a name derived from the resource (e.g. 'ckan-<resource_id>.json')
    content: bytes
    fetched_at: datetime
    url: str | None = None  # where it came from (None for a local file)
    media_type: str | None = None  # 'text/csv', 'application/json', ...
    resource: str | None = None  # resource / table / page id within the source
    meta: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RawRecord:
    """One figure as read, before normalization."""

    jurisdiction: str  # the label or code as found: 'T. Ninh Thuận', '58', 'NINH THUAN'
    period: str  # as found: '2024', 'Năm 2022', '2023 (ước)', 'Quý II/2024'
    value: str | float | int | None  # the cell as found; numbers in strings stay strings
    indicator: str | None = None  # code, name or alias as found; None when the spec/CLI gives it
    unit: str | None = None
    status: str | None = None  # raw marker: 'ước', 'sơ bộ', 'final', ...
    sheet: str | None = None
    row: int | None = None  # 1-based row in the sheet / record number in the payload
    column: str | None = None  # column letter or header / JSON key / cell reference
    raw: str | None = None  # the row's text for error reports, when different from value
    jurisdiction_code_hint: str | None = None  # a code beside the name, when the source has both


class Connector(Protocol):
    """One per source kind. No Airflow, no HTTP framework: plain functions of a spec."""

    kind: str

    def resources(self) -> list[str]:
        """The independent units of work of this source (files, resources, years); may need I/O."""
        ...

    def fetch(self, resource: str | None = None) -> Iterator[Payload]:
        """Yield the raw payloads of one resource (all resources when None)."""
        ...

    def parse(self, payload: Payload) -> Iterator[RawRecord]:
        """Read one payload into raw records. Raises ParseError when it cannot be read at all."""
        ...


class ParseError(ChitieuError):
    """A payload that cannot be read at all (corrupt, empty, encrypted, wrong type)."""

    code = "unreadable_file"
    http_status = 422  # the file the client sent
