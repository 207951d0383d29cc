"""Content-addressed archive of every payload, written before anything parses it.

DATA_DIR/archive/ab/abcdef... holds the bytes (named by their sha256); a sidecar
'<sha256>.names' lists every original name the same bytes arrived under, one per line.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from chitieu.settings import get_settings


@dataclass(frozen=True)
class ArchivedFile:
    sha256: str
    path: Path
    name: str
    size: int


def sha256_of(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def archive_root(data_dir: Path | None = None) -> Path:
    return Path(data_dir if data_dir is not None else get_settings().data_dir) / "archive"


def archive_path(sha256: str, data_dir: Path | None = None) -> Path:
    return archive_root(data_dir) / sha256[:2] / sha256


def archive_bytes(
    content: bytes, name: str, *, data_dir: Path | None = None, sha256: str | None = None
) -> ArchivedFile:
    """Store `content` once (atomic rename, so a crash never leaves a half file) and record `name`."""
    digest = sha256 or sha256_of(content)
    target = archive_path(digest, data_dir)
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists():
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(content)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    names = target.with_name(digest + ".names")
    known = names.read_text(encoding="utf-8").splitlines() if names.exists() else []
    if name not in known:
        with names.open("a", encoding="utf-8") as fh:
            fh.write(name + "\n")
    return ArchivedFile(digest, target, name, len(content))


def read_archived(sha256: str, *, data_dir: Path | None = None) -> bytes:
    """The archived bytes of `sha256`; every reader goes through here, whatever stores them."""
    return archive_path(sha256, data_dir).read_bytes()
