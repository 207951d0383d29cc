"""HTML ranking tables in the DTI page shape: one page per year, a two-level header.

The header spans two rows (pillar group, then pillar; `Xếp hạng`, `Tỉnh` and `DTI` span both rows),
so cells are expanded over their colspan/rowspan into a grid and each column is named by its
header path ('Chuyển đổi số nền tảng / Nhận thức số'). Scores stay the strings printed ('0.8241').

spec.url: the page, optionally with `{year}` (`https://dti.example.gov.vn/xep-hang/{year}`).
spec.options:
  years: [2023, 2024] | year: 2024    one resource per year (the page's period); or spec.resources
  indicators: {header: indicator}     columns to emit, matched on the header (leaf or path, ignoring
                                      case and diacritics); default DTI -> dti_score, Xếp hạng -> dti_rank
  jurisdiction_column                 default: the column headed Tỉnh / Tỉnh, thành phố / Địa phương
  table_index                         which <table> (0-based) when the page has several
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

import httpx
import lxml.etree
import lxml.html

from chitieu.ingest.connectors.http import ConfigError, PortalConnector, SpecLike, utcnow
from chitieu.ingest.records import ParseError, Payload, RawRecord
from chitieu.textnorm import fold_key

DEFAULT_INDICATORS = {
    "DTI": "dti_score",
    "Chỉ số DTI": "dti_score",
    "Điểm DTI": "dti_score",
    "Xếp hạng": "dti_rank",
    "Thứ hạng": "dti_rank",
}
_JURISDICTION_HEADERS = {"tinh", "tinh thanh pho", "tinh thanh", "dia phuong", "ten tinh", "don vi"}
_YEAR_RE = re.compile(r"(?<!\d)(20\d\d)(?!\d)")
_CHARSET_RE = re.compile(rb"""<meta[^>]+charset=["']?([\w-]+)""", re.IGNORECASE)


def _text(cell: Any) -> str:
    return " ".join(cell.text_content().split())


def _span(cell: Any, name: str) -> int:
    try:
        return max(1, int(cell.get(name, "1")))
    except ValueError:
        return 1


def table_grid(table: Any) -> list[list[str]]:
    """The table's rows with every colspan/rowspan cell repeated over the positions it covers."""
    rows = table.xpath("./tr|./thead/tr|./tbody/tr|./tfoot/tr")
    grid: list[list[str]] = []
    pending: dict[int, list[Any]] = {}  # column -> [rows still covered, text]
    for tr in rows:
        out: list[str] = []

        def take_pending(col: int, out: list[str] = out) -> int:
            while col in pending:
                out.append(pending[col][1])
                pending[col][0] -= 1
                if pending[col][0] == 0:
                    del pending[col]
                col += 1
            return col

        col = 0
        for cell in tr.xpath("./td|./th"):
            col = take_pending(col)
            text, colspan, rowspan = _text(cell), _span(cell, "colspan"), _span(cell, "rowspan")
            for _ in range(colspan):
                out.append(text)
                if rowspan > 1:
                    pending[col] = [rowspan - 1, text]
                col += 1
        while pending and col <= max(pending):
            if col in pending:
                col = take_pending(col)
            else:
                out.append("")
                col += 1
        grid.append(out)
    return grid


def _decode(payload: Payload) -> str:
    content = payload.content
    charsets = [payload.meta.get("charset"), "utf-8"]
    found = _CHARSET_RE.search(content[:4096])
    if found:
        charsets.insert(0, found.group(1).decode("ascii", "replace"))
    for charset in filter(None, charsets):
        try:
            return content.decode(charset)
        except (LookupError, UnicodeDecodeError):
            continue
    raise ParseError(
        f"page {payload.name} is not text in a known encoding",
        f"trang {payload.name} không phải văn bản với bảng mã nhận biết được",
    )


class HtmlTableConnector(PortalConnector):
    kind = "html_table"

    def __init__(self, spec: SpecLike, *, http: httpx.Client | None = None):
        super().__init__(spec, http=http)
        given: Mapping[str, Any] = self.options.get("indicators") or DEFAULT_INDICATORS
        self.indicators = {fold_key(str(k)): str(v) for k, v in given.items()}

    def resources(self) -> list[str]:
        years = self.listed_resources("years", "year")
        if years:
            return years
        if "{year}" in self.require_url():
            raise ConfigError(
                f"source {self.spec.id!r}: the url has {{year}} but options.years is not set",
                f"nguồn {self.spec.id!r}: url có {{year}} nhưng chưa khai báo options.years",
            )
        return ["page"]

    def fetch(self, resource: str | None = None) -> Iterator[Payload]:
        for page in [resource] if resource else self.resources():
            url = self.require_url()
            url = url.replace("{year}", page) if "{year}" in url else url
            fetched_at = utcnow()
            response = self.request("GET", url)
            yield Payload(
                name=f"html-{self.spec.id}-{page}.html",
                content=response.content,
                fetched_at=fetched_at,
                url=url,
                media_type="text/html",
                resource=page,
                meta={"charset": response.charset_encoding or ""},
            )

    def _period(self, payload: Payload, doc: Any, table: Any) -> str:
        if payload.resource and _YEAR_RE.fullmatch(payload.resource):
            return payload.resource
        if self.spec_period:
            return self.spec_period
        for key in ("period", "year"):
            if self.options.get(key) is not None:
                return str(self.options[key])
        texts = [_text(c) for c in table.xpath("./caption")] + [
            _text(h) for h in doc.xpath("//title|//h1|//h2|//h3")
        ]
        for text in texts:
            years = _YEAR_RE.findall(text)
            if years:
                return str(years[-1])
        raise ParseError(
            f"page {payload.name}: no year in the url, the spec or the page title; set options.year",
            f"trang {payload.name}: không tìm thấy năm trong url, đặc tả hay tiêu đề trang;"
            " hãy khai báo options.year",
        )

    def _indicator_for(self, path: list[str]) -> str | None:
        for key in (" / ".join(path), path[-1]):
            hit = self.indicators.get(fold_key(key))
            if hit:
                return hit
        return None

    def parse(self, payload: Payload) -> Iterator[RawRecord]:
        what = f"page {payload.name}"
        text = _decode(payload)
        try:
            doc = lxml.html.document_fromstring(text) if text.strip() else None
        except (lxml.etree.ParserError, ValueError) as exc:
            raise ParseError(f"{what}: not HTML ({exc})", f"{what}: không phải HTML ({exc})") from exc
        tables = [] if doc is None else doc.xpath("//table")
        if "table_index" in self.options:
            index = int(self.options["table_index"])
            tables = tables[index : index + 1]
        for table in tables:
            grid = table_grid(table)
            found = self._locate(grid)
            if found is not None:
                yield from self._records(payload, doc, table, grid, *found)
                return
        raise ParseError(
            f"{what}: no ranking table with a province column and a column for"
            f" {sorted(set(self.indicators.values()))}",
            f"{what}: không có bảng xếp hạng nào có cột tỉnh và cột cho"
            f" {sorted(set(self.indicators.values()))}",
        )

    def _locate(self, grid: list[list[str]]) -> tuple[int, int, int, dict[int, str], list[str]] | None:
        """(first header row, first data row, province column, {column: indicator}, header paths)."""
        wanted = self.options.get("jurisdiction_column")
        for top, row in enumerate(grid):
            for jcol, cell in enumerate(row):
                if wanted is not None and fold_key(cell) != fold_key(str(wanted)):
                    continue
                if wanted is None and fold_key(cell) not in _JURISDICTION_HEADERS:
                    continue
                bottom = top
                while bottom + 1 < len(grid) and grid[bottom + 1][jcol : jcol + 1] == [cell]:
                    bottom += 1
                width = max(len(r) for r in grid[top : bottom + 1])
                paths: list[str] = []
                columns: dict[int, str] = {}
                for c in range(width):
                    levels: list[str] = []
                    for r in range(top, bottom + 1):
                        label = grid[r][c] if c < len(grid[r]) else ""
                        if label and (not levels or levels[-1] != label):
                            levels.append(label)
                    paths.append(" / ".join(levels))
                    indicator = self._indicator_for(levels) if levels and c != jcol else None
                    if indicator:
                        columns[c] = indicator
                if columns:
                    return top, bottom + 1, jcol, columns, paths
        return None

    def _records(
        self,
        payload: Payload,
        doc: Any,
        table: Any,
        grid: list[list[str]],
        _top: int,  # where the header starts: found with the rest, not needed to read the rows
        first: int,
        jcol: int,
        columns: dict[int, str],
        paths: list[str],
    ) -> Iterator[RawRecord]:
        period = self._period(payload, doc, table)
        sheet = payload.resource or payload.name
        for r in range(first, len(grid)):
            row = grid[r]
            name = row[jcol] if jcol < len(row) else ""
            # Footnotes ('Nguồn: ...') span the whole row; blank separator rows have no name.
            if not name or len({c for c in row if c}) <= 1:
                continue
            for c, indicator in columns.items():
                yield RawRecord(
                    jurisdiction=name,
                    period=period,
                    value=row[c] if c < len(row) else None,
                    indicator=indicator,
                    sheet=sheet,
                    row=r + 1,
                    column=paths[c],
                    raw=" | ".join(row),
                )
