"""Spreadsheets and CSV: xlsx, xls, ods (python-calamine) and delimited text in any common encoding.

The file type comes from the bytes, not the name; a name that contradicts the bytes is an error
(a '.xlsx' that is really CSV, a '.csv' that is really a PNG). With no spec the table is found by
its header: a *long* layout (jurisdiction / indicator / period / value [/ unit / status] columns)
or a *wide* one (jurisdiction rows x period columns), below any title rows, with merged or
two-row headers, blank rows and footnotes skipped. Rows and cells keep the sheet's own numbering.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from chitieu.ingest.connectors.spreadsheet.grid import (
    Sheet,
    check_grid,
    default_limits,
    read_csv_grid,
    read_workbook,
    uses_1904_dates,
)
from chitieu.ingest.connectors.spreadsheet.sniff import (
    _EXTENSION_KIND,
    CFB_MAGIC,
    FOREIGN_MAGIC,
    MEDIA_TYPES,
    looks_utf16,
    sniff_kind,
)
from chitieu.ingest.connectors.spreadsheet.tables import (
    FRAME_COLUMNS,
    PARSE_REJECTED_COLUMNS,
    SheetAccount,
    Table,
    count_cells,
    extract,
    find_table,
    find_tables,
)
from chitieu.ingest.records import ParseError, Payload, RawRecord
from chitieu.textnorm import fold_key


class SpreadsheetConnector:
    """Reads a file (spec.path, a URL, or an uploaded Payload) into raw records."""

    kind = "spreadsheet"

    def __init__(self, spec: Any = None, *, http: Any = None, indicator: str | None = None):
        self.spec = spec
        self.http = http
        self.indicator = indicator
        self.notes: list[str] = []  # what was skipped (sheets without a table, ...)
        # after parse_frame: the cells rejected while reading (plan columns, ...) and how every
        # non-empty cell of the sheets with a table was accounted for
        self.rejected: pd.DataFrame = pd.DataFrame(columns=PARSE_REJECTED_COLUMNS)
        self.account = SheetAccount()

    # -- Connector protocol --------------------------------------------------------------------
    def resources(self) -> list[str]:
        if self.spec is not None and self.spec.resources:
            return list(self.spec.resources)
        where = self._location()
        return [where] if where else []

    def _location(self) -> str | None:
        if self.spec is None:
            return None
        if self.spec.url:
            return str(self.spec.url)
        path = self.spec.resolved_path()
        return str(path) if path else None

    def fetch(self, resource: str | None = None) -> Iterator[Payload]:
        targets = [resource] if resource else self.resources()
        for target in targets:
            yield fetch_location(target, http=self.http)

    def parse(self, payload: Payload) -> Iterator[RawRecord]:
        frame = self.parse_frame(payload)
        for rec in frame.to_dict("records"):
            yield RawRecord(
                jurisdiction=rec["jurisdiction"],
                period=rec["period"],
                value=rec["value"],
                indicator=rec["indicator"],
                unit=rec["unit"],
                status=rec["status"],
                sheet=rec["sheet"],
                row=int(rec["row"]),
                column=rec["column"],
                jurisdiction_code_hint=rec["jurisdiction_code_hint"],
            )

    # -- the fast path the pipeline uses -------------------------------------------------------
    def parse_frame(self, payload: Payload) -> pd.DataFrame:
        self.rejected, self.account = pd.DataFrame(columns=PARSE_REJECTED_COLUMNS), SheetAccount()
        kind = sniff_kind(payload.content, payload.name)
        limits = default_limits()
        if kind == "csv":
            sheets = [read_csv_grid(payload.content, payload.name)]
            check_grid(sheets[0], limits, payload.name or "the file")
        else:
            sheets = read_workbook(payload.content, kind, payload.name, limits)
        spec = self.spec
        wanted_sheet = spec.sheet if spec is not None else None
        if wanted_sheet is not None:
            chosen = [s for s in sheets if fold_key(s.name) == fold_key(wanted_sheet)]
            if not chosen:
                raise ParseError(
                    f"sheet {wanted_sheet!r} not found; the workbook has {[s.name for s in sheets]}",
                    f"không có trang tính {wanted_sheet!r}; bảng tính gồm {[s.name for s in sheets]}",
                )
            sheets = chosen
        constants: dict[str, Any] = dict(spec.constants) if spec is not None else {}
        if spec is not None:
            for fld in ("indicator", "period", "status"):
                if getattr(spec, fld, None):
                    constants.setdefault(fld, getattr(spec, fld))
        if self.indicator:
            constants["indicator"] = self.indicator
        frames, rejected = [], []
        for sheet in sheets:
            tables = find_tables(
                sheet.grid,
                spec_columns=dict(spec.columns) if spec is not None else None,
                header_row=spec.header_row if spec is not None else None,
                constant_period="period" in constants,
            )
            if not tables:
                self.notes.append(f"sheet {sheet.name}: no table found / không thấy bảng số liệu")
                continue
            account = SheetAccount(cells=count_cells(sheet.grid))
            for table in tables:
                frame_part, rejected_part = extract(sheet, table, constants=constants, account=account)
                frames.append(frame_part)
                rejected.append(rejected_part)
            account.labels = account.cells - account.figures - account.rejected - account.missing
            for name in ("cells", "labels", "missing", "rejected", "figures"):
                setattr(self.account, name, getattr(self.account, name) + getattr(account, name))
        if rejected:
            self.rejected = pd.concat(rejected, ignore_index=True)
        if not frames:
            raise ParseError(
                "no table found: expected a header with a jurisdiction column (e.g. 'Tỉnh/Thành phố', "
                "'Mã tỉnh') and either value and period columns ('Giá trị', 'Năm') or period columns "
                "('2021', 'Năm 2022', 'Quý II/2024')",
                "không tìm thấy bảng số liệu: cần dòng tiêu đề có cột địa phương ('Tỉnh/Thành phố', "
                "'Mã tỉnh') và cột giá trị, kỳ ('Giá trị', 'Năm') hoặc các cột kỳ ('2021', 'Năm 2022', "
                "'Quý II/2024')",
            )
        frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        # serial numbers in period cells follow the workbook's date system
        frame.attrs["date1904"] = kind == "xlsx" and uses_1904_dates(payload.content)
        return frame


def fetch_location(target: str, *, http: Any = None) -> Payload:
    """A path or an http(s) URL -> Payload (bytes as received)."""
    now = datetime.now(UTC)
    if re.match(r"^https?://", target):
        import httpx

        client = http or httpx.Client(timeout=60.0, follow_redirects=True)
        try:
            resp = client.get(target)
            resp.raise_for_status()
        except httpx.HTTPError as exc:
            raise ParseError(f"cannot download {target}: {exc}", f"không tải được {target}: {exc}") from exc
        finally:
            if http is None:
                client.close()
        name = Path(resp.url.path).name or "download"
        return Payload(
            name=name,
            content=resp.content,
            fetched_at=now,
            url=target,
            media_type=resp.headers.get("content-type"),
        )
    path = Path(target)
    if not path.is_file():
        raise ParseError(f"file not found: {path}", f"không tìm thấy tệp: {path}")
    return Payload(
        name=path.name,
        content=path.read_bytes(),
        fetched_at=now,
        url=None,
        media_type=MEDIA_TYPES.get(_EXTENSION_KIND.get(path.suffix.lower(), "")),
    )


__all__ = [
    "CFB_MAGIC",
    "FOREIGN_MAGIC",
    "FRAME_COLUMNS",
    "MEDIA_TYPES",
    "Sheet",
    "SpreadsheetConnector",
    "Table",
    "extract",
    "fetch_location",
    "find_table",
    "find_tables",
    "looks_utf16",
    "sniff_kind",
]
