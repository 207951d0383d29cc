"""What a reader sees in a workbook's cells beyond their values, read from its XML by streaming.

python-calamine gives values only: a cell holding 0.415 with a percentage format, an error cell
(#N/A) and a formula saved without its value all look like a plain number or an empty cell. This
module reads the workbook's own XML member by member, in chunks (never a whole member in memory),
and returns, per sheet, a note for each cell whose meaning a value alone does not carry:

- the number format shows the value as a percentage ('0.0%': the value is a fraction) or writes a
  literal percent sign after a value already x100 ('0.0"%"'),
- the cell is an error (#N/A, #DIV/0!),
- the cell holds a formula without a saved value, or one that calls an outside source
  (WEBSERVICE, a link to another workbook '[1]Sheet!A1', 'C:\\...\\[book.xlsx]Sheet'!A1).

The same pass enforces the size caps (settings): the longest cell text, the number of rows and
columns, and the number of cells. A 1 MB file holding one 450 MiB text cell is refused after
inflating a few hundred kilobytes, before anything builds a grid.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass

from chitieu.ingest.records import ParseError

CHUNK = 1 << 20
# XML escapes a character as at most '&#1114111;' (10 bytes); a text of N characters spans at most
# 10 N bytes without a '<' inside it.
_BYTES_PER_CHAR = 10

PERCENT_FRACTION = "fraction"  # '0.0%': the cell holds 0.415 and shows 41.5 %
PERCENT_LITERAL = "percent"  # '0.0"%"': the cell holds 41.5 and shows 41.5 %

_BUILTIN_PERCENT = {9, 10}
_EXTERNAL_RE = re.compile(
    r"(\bWEBSERVICE\s*\(|\bFILTERXML\s*\(|\bRTD\s*\(|\bIMPORT(?:DATA|XML|HTML|RANGE)\s*\(|\bDDE\w*\s*\("
    r"|\[\d+\]|\[[^\]]*\.(?:xlsx|xlsm|xls|ods|csv)\]|'?(?:[A-Za-z]:\\|\\\\|file:|https?:))",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class CellNote:
    percent: str | None = None  # PERCENT_FRACTION | PERCENT_LITERAL
    error: str | None = None  # '#N/A'
    formula: str | None = None
    cached: bool = True  # False: a formula saved without its value

    @property
    def external(self) -> bool:
        return bool(self.formula and _EXTERNAL_RE.search(self.formula))


@dataclass(frozen=True)
class Limits:
    max_cell_chars: int
    max_rows: int
    max_columns: int
    max_cells: int


def too_long(limit: int, where: str) -> ParseError:
    return ParseError(
        f"{where} holds a cell longer than {limit:,} characters (the limit for one cell); "
        "the file is not read",
        f"{where} có ô dài hơn {limit:,} ký tự (giới hạn của một ô); tệp không được đọc",
    )


def too_big(what_en: str, what_vi: str, count: int, limit: int, where: str) -> ParseError:
    return ParseError(
        f"{where} has {count:,} {what_en}, over the limit of {limit:,}; the file is not read",
        f"{where} có {count:,} {what_vi}, vượt giới hạn {limit:,}; tệp không được đọc",
    )


def _chunks(zf: zipfile.ZipFile, member: str) -> Iterator[bytes]:
    with zf.open(member) as fh:
        while chunk := fh.read(CHUNK):
            yield chunk


def check_text_runs(zf: zipfile.ZipFile, member: str, limit_chars: int, where: str) -> None:
    """Refuse a member holding a text longer than the cell limit: XML text cannot contain '<', so a
    run of more than 10 x limit bytes without one is such a text. Stops as soon as it sees one."""
    limit = limit_chars * _BYTES_PER_CHAR
    run = 0
    for chunk in _chunks(zf, member):
        first = chunk.find(b"<")
        if first < 0:
            run += len(chunk)
        else:
            run += first
            if run > limit:
                raise too_long(limit_chars, where)
            last = chunk.rfind(b"<")
            if last - first > limit and any(len(p) > limit for p in chunk[first:last].split(b"<")):
                raise too_long(limit_chars, where)
            run = len(chunk) - last - 1
        if run > limit:
            raise too_long(limit_chars, where)


# --------------------------------------------------------------------------------------------
# xlsx
# --------------------------------------------------------------------------------------------

# Tags with or without a namespace prefix ('<c>' from Excel, '<x:c>' from the OpenXML SDK).
_CELL_RE = re.compile(rb"<(?:\w+:)?c\b([^>]*?)(?:/>|>(.*?)</(?:\w+:)?c>)", re.DOTALL)
_ATTR_RE = re.compile(rb'\b(r|s|t)="([^"]*)"')
_F_RE = re.compile(rb"<(?:\w+:)?f\b([^>]*?)(?:/>|>(.*?)</(?:\w+:)?f>)", re.DOTALL)
_SI_RE = re.compile(rb'\bsi="(\d+)"')
_V_RE = re.compile(rb"<(?:\w+:)?v>(.*?)</(?:\w+:)?v>", re.DOTALL)
_REF_RE = re.compile(r"^([A-Z]+)(\d+)$")
_ROW_RE = re.compile(rb'<(?:\w+:)?row\b[^>]*?\br="(\d+)"')
_ROW_END_RE = re.compile(rb"</(?:\w+:)?row>")


def _col_index(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n - 1


def _percent_kind(code: str) -> str | None:
    """'0.0%' -> fraction, '0.0"%"' or '0.0\\%' -> percent (a literal sign), anything else None."""
    code = code.split(";")[0]
    plain = re.sub(r'"[^"]*"|\[[^\]]*\]|\\.', "", code)
    if "%" in plain:
        return PERCENT_FRACTION
    if '"%"' in code or "\\%" in code or '" %"' in code:
        return PERCENT_LITERAL
    return None


def _unescape(text: bytes) -> str:
    from xml.sax.saxutils import unescape

    return unescape(text.decode("utf-8", "replace"), {"&quot;": '"', "&apos;": "'"})


def _xlsx_sheet_members(zf: zipfile.ZipFile) -> list[tuple[str, str]]:
    """(sheet name, member path) in workbook order."""
    book = zf.read("xl/workbook.xml").decode("utf-8", "replace")
    try:
        rels = zf.read("xl/_rels/workbook.xml.rels").decode("utf-8", "replace")
    except KeyError:
        rels = ""
    targets = {}
    for rel in re.finditer(r"<Relationship\b[^>]*>", rels):
        rid = re.search(r'\bId="([^"]*)"', rel.group(0))
        target = re.search(r'\bTarget="([^"]*)"', rel.group(0))
        if rid and target:
            path = target.group(1).lstrip("/")
            targets[rid.group(1)] = path if path.startswith("xl/") else "xl/" + path
    out = []
    for sheet in re.finditer(r"<(?:\w+:)?sheet\b[^>]*>", book):
        name = re.search(r'\bname="([^"]*)"', sheet.group(0))
        rid = re.search(r'\br:id="([^"]*)"|\bid="([^"]*)"', sheet.group(0))
        if name and rid:
            member = targets.get(rid.group(1) or rid.group(2) or "")
            if member:
                out.append((_unescape(name.group(1).encode()), member))
    return out


def _xlsx_percent_styles(zf: zipfile.ZipFile) -> dict[int, str]:
    """cellXfs index -> percent kind, for the styles whose number format shows a percent sign."""
    try:
        xml = zf.read("xl/styles.xml").decode("utf-8", "replace")
    except KeyError:
        return {}
    codes = {
        int(m.group(1)): _unescape(m.group(2).encode())
        for m in re.finditer(r'<numFmt\b[^>]*numFmtId="(\d+)"[^>]*formatCode="([^"]*)"', xml)
    }
    xfs = re.search(r"<cellXfs\b[^>]*>(.*?)</cellXfs>", xml, re.DOTALL)
    out: dict[int, str] = {}
    if not xfs:
        return out
    for i, xf in enumerate(re.finditer(r"<xf\b[^>]*?>", xfs.group(1))):
        fid = re.search(r'numFmtId="(\d+)"', xf.group(0))
        if not fid:
            continue
        n = int(fid.group(1))
        kind = PERCENT_FRACTION if n in _BUILTIN_PERCENT else _percent_kind(codes.get(n, ""))
        if kind:
            out[i] = kind
    return out


def _xlsx_sheet_notes(
    zf: zipfile.ZipFile,
    member: str,
    percent_styles: dict[int, str],
    limits: Limits,
    where: str,
    seen: list[int],
) -> dict[tuple[int, int], CellNote]:
    notes: dict[tuple[int, int], CellNote] = {}
    shared: dict[bytes, str] = {}
    tail = b""
    for chunk in _chunks(zf, member):
        data = tail + chunk
        ends = [m.end() for m in _ROW_END_RE.finditer(data, max(0, len(data) - 2 * CHUNK))]
        cut = ends[-1] if ends else -1
        if cut < 0:
            tail = data
            if len(tail) > limits.max_cell_chars * _BYTES_PER_CHAR * 4 + CHUNK:
                raise too_long(limits.max_cell_chars, where)
            continue
        tail = data[cut:]
        _scan_cells(data[:cut], notes, shared, percent_styles, limits, where, seen)
    if tail:
        _scan_cells(tail, notes, shared, percent_styles, limits, where, seen)
    return notes


def _scan_cells(
    data: bytes,
    notes: dict[tuple[int, int], CellNote],
    shared: dict[bytes, str],
    percent_styles: dict[int, str],
    limits: Limits,
    where: str,
    seen: list[int],
) -> None:
    rows = [int(r) for r in _ROW_RE.findall(data)]
    if rows and max(rows) > limits.max_rows:
        raise too_big("rows", "dòng", max(rows), limits.max_rows, where)
    for m in _CELL_RE.finditer(data):
        seen[0] += 1
        attrs = dict(_ATTR_RE.findall(m.group(1)))
        ref = attrs.get(b"r", b"").decode()
        parsed = _REF_RE.match(ref)
        if parsed is None:
            continue
        row, col = int(parsed.group(2)) - 1, _col_index(parsed.group(1))
        if col >= limits.max_columns:
            raise too_big("columns", "cột", col + 1, limits.max_columns, where)
        inner = m.group(2) or b""
        style = attrs.get(b"s")
        percent = percent_styles.get(int(style)) if style and style.isdigit() else None
        error = None
        formula = None
        cached = True
        if attrs.get(b"t") == b"e":
            v = _V_RE.search(inner)
            error = _unescape(v.group(1)) if v else "#ERROR"
        f = _F_RE.search(inner) if b"f" in inner else None
        if f is not None:
            text = _unescape(f.group(2)) if f.group(2) else ""
            si = _SI_RE.search(f.group(1))
            if si and text:
                shared[si.group(1)] = text
            elif si:
                text = shared.get(si.group(1), text)
            formula = text or "?"
            v = _V_RE.search(inner)
            cached = bool(v and v.group(1).strip()) or error is not None or b"is>" in inner
        if percent or error or formula:
            notes[(row, col)] = CellNote(percent, error, formula, cached)
    if seen[0] > limits.max_cells:
        raise too_big("cells", "ô", seen[0], limits.max_cells, where)


def xlsx_notes(content: bytes, limits: Limits, name: str = "") -> dict[str, dict[tuple[int, int], CellNote]]:
    where = name or "the workbook"
    out: dict[str, dict[tuple[int, int], CellNote]] = {}
    try:
        zf = zipfile.ZipFile(io.BytesIO(content))
    except zipfile.BadZipFile:
        return out  # the reader reports a damaged file
    with zf:
        try:
            for member in zf.namelist():
                if member.endswith(".xml") and (
                    member.startswith("xl/worksheets/") or member == "xl/sharedStrings.xml"
                ):
                    check_text_runs(zf, member, limits.max_cell_chars, where)
            percent_styles = _xlsx_percent_styles(zf)
            seen = [0]
            for sheet, member in _xlsx_sheet_members(zf):
                if member in zf.namelist():
                    out[sheet] = _xlsx_sheet_notes(zf, member, percent_styles, limits, where, seen)
        except ParseError:
            raise
        except (KeyError, zipfile.BadZipFile, OSError, EOFError, RuntimeError, ValueError):
            return out  # damaged: the reader reports it
    return out


# --------------------------------------------------------------------------------------------
# ods
# --------------------------------------------------------------------------------------------

_ODS_NS = {
    "table": "urn:oasis:names:tc:opendocument:xmlns:table:1.0",
    "office": "urn:oasis:names:tc:opendocument:xmlns:office:1.0",
}


def ods_notes(content: bytes, limits: Limits, name: str = "") -> dict[str, dict[tuple[int, int], CellNote]]:
    """The same notes for an OpenDocument spreadsheet (content.xml, parsed as a stream)."""
    import xml.etree.ElementTree as ET

    where = name or "the workbook"
    out: dict[str, dict[tuple[int, int], CellNote]] = {}
    t, o = "{" + _ODS_NS["table"] + "}", "{" + _ODS_NS["office"] + "}"
    try:
        zf = zipfile.ZipFile(io.BytesIO(content))
    except zipfile.BadZipFile:
        return out
    with zf:
        try:
            check_text_runs(zf, "content.xml", limits.max_cell_chars, where)
            cells_seen = 0
            with zf.open("content.xml") as fh:
                notes: dict[tuple[int, int], CellNote] = {}
                row = col = 0
                for event, el in ET.iterparse(fh, events=("start", "end")):
                    tag = el.tag
                    if event == "start" and tag == t + "table":
                        notes = out.setdefault(el.get(t + "name", ""), {})
                        row = 0
                    elif event == "start" and tag == t + "table-row":
                        col = 0
                    elif event == "end" and tag == t + "table-row":
                        row += int(el.get(t + "number-rows-repeated", "1"))
                        el.clear()
                    elif event == "end" and tag in (t + "table-cell", t + "covered-table-cell"):
                        repeat = int(el.get(t + "number-columns-repeated", "1"))
                        vtype = el.get(o + "value-type")
                        formula = el.get(t + "formula")
                        if vtype is not None or formula:
                            cells_seen += repeat
                            if row >= limits.max_rows:
                                raise too_big("rows", "dòng", row + 1, limits.max_rows, where)
                            if col + repeat > limits.max_columns:
                                raise too_big("columns", "cột", col + repeat, limits.max_columns, where)
                            if cells_seen > limits.max_cells:
                                raise too_big("cells", "ô", cells_seen, limits.max_cells, where)
                            percent = PERCENT_FRACTION if vtype == "percentage" else None
                            error = None
                            text = "".join(el.itertext()).strip()
                            if formula and vtype is None and text.startswith(("#", "Err:")):
                                error = text
                            cached = vtype is not None or error is not None
                            if percent or formula:
                                for k in range(repeat):
                                    notes[(row, col + k)] = CellNote(percent, error, formula, cached)
                        col += repeat
                        el.clear()
        except ParseError:
            raise
        except (KeyError, zipfile.BadZipFile, OSError, EOFError, ET.ParseError, ValueError):
            return out
    return out


def workbook_notes(
    content: bytes, kind: str, limits: Limits, name: str = ""
) -> dict[str, dict[tuple[int, int], CellNote]]:
    if kind == "xlsx":
        return xlsx_notes(content, limits, name)
    if kind == "ods":
        return ods_notes(content, limits, name)
    return {}
