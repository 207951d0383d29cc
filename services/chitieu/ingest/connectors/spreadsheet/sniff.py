"""What the bytes of a file are: xlsx, xls, ods or delimited text, whatever the file is called.

The connector and the API's upload check both ask this module, so a file is judged by one rule.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from chitieu.ingest.records import ParseError

MEDIA_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "xls": "application/vnd.ms-excel",
    "ods": "application/vnd.oasis.opendocument.spreadsheet",
    "csv": "text/csv",
}
_EXTENSION_KIND = {
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".xls": "xls",
    ".ods": "ods",
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
}
# (magic, English, Vietnamese): kinds people send by mistake, named when they are refused.
FOREIGN_MAGIC = [
    (b"\x89PNG\r\n\x1a\n", "a PNG image", "ảnh PNG"),
    (b"\xff\xd8\xff", "a JPEG image", "ảnh JPEG"),
    (b"GIF8", "a GIF image", "ảnh GIF"),
    (b"%PDF", "a PDF document", "tài liệu PDF"),
    (b"\x1f\x8b", "a gzip archive", "tệp nén gzip"),
    (b"Rar!", "a RAR archive", "tệp nén RAR"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive", "tệp nén 7-Zip"),
    (b"MZ", "a Windows program", "chương trình Windows"),
    (b"\x7fELF", "a Linux program", "chương trình Linux"),
]
CFB_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


_KIND_NAMES = {
    "xlsx": ("an XLSX workbook", "bảng tính XLSX"),
    "xls": ("an XLS workbook", "bảng tính XLS"),
    "ods": ("an ODS workbook", "bảng tính ODS"),
    "csv": ("text (CSV)", "văn bản (CSV)"),
}


@dataclass(frozen=True)
class Detected:
    kind: str | None  # 'xlsx' | 'xls' | 'ods' | 'csv'; None: not something we read
    en: str
    vi: str
    damaged: bool = False  # a ZIP-based workbook whose archive cannot be opened


def _named(kind: str, damaged: bool = False) -> Detected:
    en, vi = _KIND_NAMES[kind]
    return Detected(kind, en, vi, damaged)


def _zip_kind(content: bytes) -> Detected:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as zf:
            names = set(zf.namelist())
            mimetype = b""
            if "mimetype" in names:
                with zf.open("mimetype") as fh:  # 100 bytes inflated, whatever the member holds
                    mimetype = fh.read(100)
    except (zipfile.BadZipFile, OSError, EOFError, KeyError, NotImplementedError, RuntimeError, zlib.error):
        # A damaged archive: judged by the names visible in its bytes, so that a truncated workbook
        # is reported as an unreadable workbook, not as some other kind of file.
        if b"mimetypeapplication/vnd.oasis.opendocument.spreadsheet" in content[:4096]:
            return _named("ods", damaged=True)
        if b"[Content_Types].xml" in content[:200_000] or b"xl/" in content:
            return _named("xlsx", damaged=True)
        return Detected(None, "a damaged ZIP archive", "tệp nén ZIP bị hỏng", damaged=True)
    if mimetype.startswith(b"application/vnd.oasis.opendocument.spreadsheet"):
        return _named("ods")
    if "[Content_Types].xml" in names and any(n.startswith("xl/") for n in names):
        return _named("xlsx")
    if mimetype.startswith(b"application/vnd.oasis.opendocument"):
        return Detected(
            None, "an OpenDocument file that is not a spreadsheet", "tệp OpenDocument không phải bảng tính"
        )
    if "[Content_Types].xml" in names:
        return Detected(
            None, "an Office document that is not a workbook", "tài liệu Office không phải bảng tính"
        )
    return Detected(
        None,
        "a ZIP archive that is not an xlsx or ods workbook",
        "tệp nén ZIP không phải bảng tính xlsx hay ods",
    )


def detect(content: bytes) -> Detected:
    """The type of the bytes, whatever the file is called: the one rule for the connector and the
    API's upload check."""
    for magic, en, vi in FOREIGN_MAGIC:
        if content.startswith(magic):
            return Detected(None, en, vi)
    if content.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return _zip_kind(content)
    if content.startswith(CFB_MAGIC):
        # OLE2 also holds Word and Outlook files; a workbook has a 'Workbook' (or old 'Book') stream,
        # an encrypted one an 'EncryptionInfo' stream (refused later, with that reason).
        if any(s.encode("utf-16-le") in content for s in ("Workbook", "Book", "EncryptionInfo")):
            return _named("xls")
        return Detected(
            None, "an OLE2 document that is not an Excel workbook", "tài liệu OLE2 không phải bảng tính Excel"
        )
    sample = content[:8192]
    if b"\x00" in sample and not (sample.startswith((b"\xff\xfe", b"\xfe\xff")) or looks_utf16(sample)):
        return Detected(None, "binary data (corrupt?)", "dữ liệu nhị phân (tệp hỏng?)")
    return _named("csv")


def sniff_kind(content: bytes, name: str = "") -> str:
    """'xlsx' | 'xls' | 'ods' | 'csv' from the bytes; ParseError for anything unreadable."""
    if not content or not content.strip(b" \t\r\n\x00\xef\xbb\xbf\xff\xfe"):
        raise ParseError("the file is empty", "tệp rỗng, không có dữ liệu")
    ext = Path(name).suffix.lower()
    found = detect(content)
    if found.damaged:
        raise ParseError(
            f"{name or 'the workbook'} cannot be read: a corrupt or truncated ZIP-based workbook",
            f"không đọc được {name or 'bảng tính'}: tệp xlsx/ods bị hỏng hoặc bị cắt cụt",
        )
    if found.kind is None:
        raise ParseError(
            f"{name or 'the file'} is {found.en}, not a spreadsheet or CSV",
            f"{name or 'tệp'} là {found.vi}, không phải bảng tính hay CSV",
        )
    if found.kind == "xls" and (
        "EncryptionInfo".encode("utf-16-le") in content or b"E\x00n\x00c\x00r\x00y\x00p\x00t" in content
    ):
        raise ParseError(
            f"{name or 'the workbook'} is password-protected (encrypted); save it without a password",
            f"{name or 'bảng tính'} được đặt mật khẩu (mã hóa); hãy lưu lại không đặt mật khẩu",
        )
    expected = _EXTENSION_KIND.get(ext)
    if expected is not None and expected != found.kind:
        shown = found.kind.upper()
        raise ParseError(
            f"{name} is named {ext} but its content is {shown}: rename it or export it again",
            f"{name} có đuôi {ext} nhưng nội dung là {shown}: hãy đổi tên hoặc xuất lại tệp",
        )
    return found.kind


def looks_utf16(sample: bytes) -> bool:
    """UTF-16 without a BOM: every other byte NUL in the ASCII part."""
    even, odd = sample[0::2], sample[1::2]
    return odd.count(0) > 0.3 * len(odd) or even.count(0) > 0.3 * len(even)


def decode_with_encoding(content: bytes) -> tuple[str, str]:
    """(text, 'utf-8' | the encoding used)."""
    if content.startswith(b"\xef\xbb\xbf"):
        return content[3:].decode("utf-8"), "utf-8"
    text, encoding = _decode_other(content)
    return text, encoding


def _decode_other(content: bytes) -> tuple[str, str]:
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        return content.decode("utf-16"), "utf-16"
    if b"\x00" in content[:4096] and looks_utf16(content[:4096]):
        even_nuls = content[0:4096:2].count(0)
        odd_nuls = content[1:4096:2].count(0)
        enc = "utf-16-be" if even_nuls > odd_nuls else "utf-16-le"
        return content.decode(enc), enc
    try:
        return content.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(content[:200_000], cp_isolation=["cp1258", "cp1252", "utf_16", "latin_1"]).best()
    encoding = best.encoding if best is not None else "cp1258"
    # Vietnamese Windows text is cp1258; a Western guess on it loses the tone marks.
    if encoding in ("cp1252", "latin_1", "windows_1252"):
        encoding = "cp1258"
    try:
        return content.decode(encoding), encoding
    except (UnicodeDecodeError, LookupError) as exc:
        raise ParseError(
            "the text file's character encoding could not be recognised",
            "không nhận diện được bảng mã ký tự của tệp văn bản",
        ) from exc
