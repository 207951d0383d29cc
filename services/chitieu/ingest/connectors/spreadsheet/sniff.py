"""What the bytes of a file are: xlsx, xls, ods or delimited text, whatever the file is called.

The connector and the API's upload check both ask this module, so a file is judged by one rule.
"""

from __future__ import annotations

import io
import zipfile
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


def sniff_kind(content: bytes, name: str = "") -> str:
    """'xlsx' | 'xls' | 'ods' | 'csv' from the bytes; ParseError for anything unreadable."""
    if not content or not content.strip(b" \t\r\n\x00\xef\xbb\xbf\xff\xfe"):
        raise ParseError("the file is empty", "tệp rỗng, không có dữ liệu")
    ext = Path(name).suffix.lower()
    found: str | None = None
    for magic, what_en, what_vi in FOREIGN_MAGIC:
        if content.startswith(magic):
            raise ParseError(
                f"{name or 'the file'} is {what_en}, not a spreadsheet or CSV",
                f"{name or 'tệp'} là {what_vi}, không phải bảng tính hay CSV",
            )
    if content.startswith(b"PK\x03\x04"):
        head = content[:4096]
        if b"mimetypeapplication/vnd.oasis.opendocument.spreadsheet" in head:
            found = "ods"
        elif b"[Content_Types].xml" in content[:200_000] or b"xl/" in content:
            found = "xlsx"
        elif not zipfile.is_zipfile(io.BytesIO(content)):
            raise ParseError(
                f"{name or 'the workbook'} cannot be read: a corrupt or truncated ZIP-based workbook",
                f"không đọc được {name or 'bảng tính'}: tệp xlsx/ods bị hỏng hoặc bị cắt cụt",
            )
        else:
            raise ParseError(
                f"{name or 'the file'} is a ZIP archive but not an xlsx or ods workbook",
                f"{name or 'tệp'} là tệp nén ZIP nhưng không phải bảng tính xlsx hay ods",
            )
    elif content.startswith(CFB_MAGIC):
        if "EncryptionInfo".encode("utf-16-le") in content or b"E\x00n\x00c\x00r\x00y\x00p\x00t" in content:
            raise ParseError(
                f"{name or 'the workbook'} is password-protected (encrypted); save it without a password",
                f"{name or 'bảng tính'} được đặt mật khẩu (mã hóa); hãy lưu lại không đặt mật khẩu",
            )
        found = "xls"
    else:
        sample = content[:8192]
        if b"\x00" in sample and not (sample.startswith((b"\xff\xfe", b"\xfe\xff")) or looks_utf16(sample)):
            raise ParseError(
                f"{name or 'the file'} is binary data, not a spreadsheet or CSV (corrupt?)",
                f"{name or 'tệp'} là dữ liệu nhị phân, không phải bảng tính hay CSV (tệp hỏng?)",
            )
        found = "csv"
    expected = _EXTENSION_KIND.get(ext)
    if expected is not None and expected != found:
        raise ParseError(
            f"{name} is named {ext} but its content is {found.upper()}: rename it or export it again",
            f"{name} có đuôi {ext} nhưng nội dung là {found.upper()}: hãy đổi tên hoặc xuất lại tệp",
        )
    return found


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
