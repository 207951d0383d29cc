"""XLSX files of the exports: openpyxl's write-only mode, which writes each row to a temporary file as
it is appended; what stays in memory is one batch of rows and openpyxl's table of distinct strings.
Files are capped at `XLSX_MAX_ROWS` rows, refused up front: Excel's own limit is 1,048,575, but a
sheet that size takes minutes and about 1 GB of temporary XML to write, where CSV streams the same
rows in seconds."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import IO, Any

import orjson
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from chitieu.exports.datasets import Kind, Spec
from chitieu.vietnam_time import TZ

XLSX_MEDIA = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
XLSX_MAX_ROWS = 200_000
XLSX_MAX_CELL = 32_767  # Excel's longest text in a cell


def _local(moment: datetime) -> datetime:
    return moment.astimezone(TZ) if moment.tzinfo is not None else moment


def _json_text(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS, default=str).decode()


def _clean(text: str) -> str:
    text = ILLEGAL_CHARACTERS_RE.sub("", text)
    return text if len(text) <= XLSX_MAX_CELL else text[: XLSX_MAX_CELL - 1] + "…"


def _xlsx_converter(kind: Kind) -> Callable[[Any], Any]:
    table: dict[Kind, Callable[[Any], Any]] = {
        "text": lambda v: _clean(str(v)),
        "int": int,
        "float": float,
        "bool": bool,
        "date": lambda v: v,
        # Excel date-times carry no offset: Vietnam's wall clock, as the legend says.
        "datetime": lambda v: _local(v).replace(tzinfo=None),
        "list": lambda v: _clean("; ".join(str(x) for x in v)),
        "json": lambda v: _clean(_json_text(v)),
    }
    convert = table[kind]
    return lambda v: None if v is None else convert(v)


class XlsxWriter:
    """One sheet named after the dataset (bold, frozen header with a filter; each header cell carries
    its Vietnamese title as a comment) and a legend sheet 'Chú thích': what the file holds, its
    filters, and every column with its Vietnamese title and meaning."""

    def __init__(self, spec: Spec, *, rows: int) -> None:
        self.spec = spec
        self.count = 0
        self.wb = Workbook(write_only=True)
        self.ws: WriteOnlyWorksheet = self.wb.create_sheet(spec.dataset)
        self._convert = [_xlsx_converter(c.kind) for c in spec.columns]
        last = get_column_letter(len(spec.columns))
        for i, col in enumerate(spec.columns, start=1):
            self.ws.column_dimensions[get_column_letter(i)].width = col.width
        self.ws.freeze_panes = "A2"
        self.ws.auto_filter.ref = f"A1:{last}{rows + 1}"
        bold, fill = Font(bold=True), PatternFill("solid", fgColor="DDEBF7")
        header = []
        for col in spec.columns:
            cell = WriteOnlyCell(self.ws, value=col.name)
            cell.font, cell.fill = bold, fill
            cell.comment = Comment(col.title_vi, "Chỉ Tiêu", width=220, height=60)
            header.append(cell)
        self.ws.append(header)

    def _cell(self, value: Any) -> Any:
        if isinstance(value, str) and value.startswith("="):
            # openpyxl would store text starting with '=' as a formula: keep it text.
            cell = WriteOnlyCell(self.ws, value=value)
            cell.data_type = "s"
            return cell
        return value

    def rows(self, rows: Iterable[Sequence[Any]]) -> None:
        convert = self._convert
        for row in rows:
            self.ws.append([self._cell(f(v)) for f, v in zip(convert, row, strict=True)])
            self.count += 1

    def finish(self, out: IO[bytes], *, exported_at: datetime, filters: list[tuple[str, str]]) -> None:
        legend = self.wb.create_sheet("Chú thích")
        for width, letter in ((26, "A"), (38, "B"), (70, "C")):
            legend.column_dimensions[letter].width = width
        bold = Font(bold=True)

        def row(*values: Any, strong: bool = False) -> None:
            cells = []
            for value in values:
                cell = WriteOnlyCell(legend, value=value)
                cell.alignment = Alignment(wrap_text=True, vertical="top")
                if strong:
                    cell.font = bold
                cells.append(cell)
            legend.append(cells)

        row(f"Chỉ Tiêu — {self.spec.title_vi} / {self.spec.dataset}", strong=True)
        exported = WriteOnlyCell(legend, value=_local(exported_at).replace(tzinfo=None))
        exported.number_format = "yyyy-mm-dd hh:mm:ss"
        legend.append(["Xuất lúc / exported at", exported])
        row("Số dòng / rows", self.count)
        row("Bộ lọc / filters", "; ".join(f"{k}={v}" for k, v in filters) or "(không / none)")
        row("Giờ / times", "Giờ Việt Nam (UTC+7) / Vietnam time (UTC+7)")
        row()
        row("Cột / column", "Tiêu đề / title", "Ý nghĩa / meaning", strong=True)
        for col in self.spec.columns:
            row(col.name, col.title_vi, col.description)
        self.wb.save(out)

    def discard(self) -> None:
        """Remove the temporary files of an abandoned workbook (openpyxl would keep them until exit)."""
        for ws in self.wb.worksheets:
            writer = getattr(ws, "_writer", None)
            if writer is not None:
                # Remove first: closing a sheet cut off mid-row may raise.
                with contextlib.suppress(Exception):
                    writer.cleanup()
                with contextlib.suppress(Exception):
                    writer.close()
