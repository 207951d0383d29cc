"""What an uploaded file really is, before anything parses it: its type from the bytes (not from the
name or the client's Content-Type, which browsers guess from the name), and for the zip-based
workbooks (xlsx, ods) whether inflating them would blow up (a zip bomb).

A refusal is an `UploadRefused`: a reason in English and Vietnamese, a code, and the HTTP status the
API answers with. A file that *is* a workbook but a broken one is not refused here: ingestion reads it, fails,
and records why (a rejected batch with its reason), like any other unreadable file.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from pathlib import Path

from chitieu.errors import ChitieuError
from chitieu.ingest.connectors.spreadsheet.sniff import detect

ALLOWED = {".xlsx": "xlsx", ".xls": "xls", ".ods": "ods", ".csv": "csv"}
MB = 1024 * 1024
# Real workbooks inflate a few to a few dozen times (every cell carries its own reference);
# deflate cannot exceed ~1030x, and only long runs of identical bytes come near it.
MAX_RATIO = 500
MAX_MEMBERS = 10_000
_RATIO_FLOOR = MB  # small members may compress absurdly well (a one-line file of spaces) harmlessly


class UploadRefused(ChitieuError):
    """A file refused before ingestion reads it; `status` is the HTTP status the API answers."""

    def __init__(self, en: str, vi: str, *, code: str, status: int) -> None:
        super().__init__(en, vi, code=code)
        self.http_status = status


def too_large(limit_mb: float) -> UploadRefused:
    """An upload over CHITIEU_API_MAX_UPLOAD_MB (whether counted as it streams or once received)."""
    return UploadRefused(
        f"the upload exceeds the {limit_mb:g} MB limit; split the file",
        f"Tệp gửi lên vượt giới hạn {limit_mb:g} MB; hãy chia nhỏ tệp",
        code="too-large",
        status=413,
    )


def check_type(content: bytes, name: str) -> str:
    """The kind to read the file as; `UploadRefused` (415) when it is not an allowed type or when its
    name and its content disagree. A mislabelled file is refused rather than read by its content:
    the command line refuses it the same way, and the wrong label usually means the wrong export."""
    found = detect(content)  # the same rule as the spreadsheet reader's
    ext = Path(name).suffix.lower()
    expected = ALLOWED.get(ext)
    if expected is None:
        shown = ext or "(no extension)"
        raise UploadRefused(
            f"'{shown}' files are not accepted (this one is {found.en}): only xlsx, xls, ods, csv",
            f"Không nhận tệp '{shown}' ({found.vi}): chỉ nhận xlsx, xls, ods, csv",
            code="unsupported-type",
            status=415,
        )
    if found.kind is None:
        raise UploadRefused(
            f"{name} is {found.en}, not a spreadsheet or CSV: only xlsx, xls, ods, csv are accepted",
            f"{name} là {found.vi}, không phải bảng tính hay CSV: chỉ nhận xlsx, xls, ods, csv",
            code="unsupported-type",
            status=415,
        )
    if found.kind != expected:
        raise UploadRefused(
            f"{name} is named {ext} but its content is {found.en}: rename it to .{found.kind} "
            "or export it again",
            f"{name} có đuôi {ext} nhưng nội dung là {found.vi}: hãy đổi đuôi thành .{found.kind} "
            "hoặc xuất lại tệp",
            code="mislabelled-file",
            status=415,
        )
    return found.kind


def _bomb(total: int, limit_mb: float) -> UploadRefused:
    return UploadRefused(
        f"this workbook would inflate to {total / MB:,.0f} MB, over the {limit_mb:g} MB limit (a zip bomb?)",
        f"Bảng tính nén này khi giải nén sẽ lớn {total / MB:,.0f} MB, vượt giới hạn {limit_mb:g} MB "
        "(nghi là bom nén)",
        code="unzipped-too-large",
        status=413,
    )


def _suspicious(*, vi: str, en: str) -> UploadRefused:
    return UploadRefused(en, vi, code="suspicious-archive", status=422)


def check_zip_declared(content: bytes, *, max_unzipped_mb: float) -> None:
    """From the archive's directory alone (nothing inflated): the sizes its members declare."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as zf:
            members = zf.infolist()
    except (zipfile.BadZipFile, OSError, EOFError):
        return  # damaged: ingestion reports it as unreadable
    if len(members) > MAX_MEMBERS:
        raise _suspicious(
            vi=f"Tệp nén có {len(members):,} thành phần, quá nhiều cho một bảng tính "
            f"(tối đa {MAX_MEMBERS:,})",
            en=f"the archive has {len(members):,} members, too many for a workbook (at most {MAX_MEMBERS:,})",
        )
    total = sum(m.file_size for m in members)
    if total > max_unzipped_mb * MB:
        raise _bomb(total, max_unzipped_mb)
    for m in members:
        if m.file_size > _RATIO_FLOOR and m.file_size > MAX_RATIO * max(m.compress_size, 1):
            raise _suspicious(
                vi=f"Thành phần '{m.filename}' nén {m.file_size / max(m.compress_size, 1):,.0f} lần, "
                "bảng tính thật không nén được như vậy (nghi là bom nén)",
                en=f"member '{m.filename}' is compressed {m.file_size / max(m.compress_size, 1):,.0f} times; "
                "no real workbook compresses like that (a zip bomb?)",
            )


def check_zip_inflated(content: bytes, *, max_unzipped_mb: float) -> None:
    """Inflate every member into nothing, counting: the declared sizes may lie. Python's reader stops
    at the declared size and checks the CRC, so a member that holds more than it declares is caught
    after at most the declared total (already bounded) has been inflated."""
    budget = int(max_unzipped_mb * MB)
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as zf:
            for member in zf.infolist():
                with zf.open(member) as fh:
                    while chunk := fh.read(MB):
                        budget -= len(chunk)
                        if budget < 0:
                            raise _bomb(int(max_unzipped_mb * MB) - budget, max_unzipped_mb)
    except zipfile.BadZipFile as exc:
        if "CRC" in str(exc):
            raise _suspicious(
                vi=f"Một thành phần của tệp nén không khớp kích thước hoặc mã kiểm tra đã khai ({exc})",
                en=f"a member of the archive does not match its declared size or checksum ({exc})",
            ) from exc
        return  # damaged otherwise: ingestion reports it as unreadable
    except (OSError, EOFError, NotImplementedError, RuntimeError, zlib.error):
        return  # unsupported compression, encryption, truncation: ingestion reports it


def safe_name(name: str | None) -> str:
    """The uploader's file name without directories or control characters, at most 200 characters
    (the extension kept): it is stored, logged and shown back."""
    base = Path((name or "").replace("\\", "/")).name.strip()
    cleaned = "".join(ch if ch.isprintable() and ch not in '/\\:*?"<>|' else "_" for ch in base).lstrip(".")
    if not cleaned:
        return "upload"
    if len(cleaned) > 200:
        suffix = Path(cleaned).suffix[:20]
        cleaned = cleaned[: 200 - len(suffix)] + suffix
    return cleaned
