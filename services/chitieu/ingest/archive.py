"""Content-addressed archive of every payload, written before anything parses it.

The bytes are stored once per sha256 where every worker and the API can read them: in the database
(table archive_files) by default, or, when CHITIEU_ARCHIVE_URL names one, in an object store through fsspec
(`s3://bucket/prefix`, `gs://…`, `file:///srv/archive`), at <url>/<sha[:2]>/<sha>. Either way the
database keeps one row per file and every name it arrived under (archive_names). Readers go through
`read_archived(sha256)` only, and nothing records a path on some machine.
"""

from __future__ import annotations

import hashlib
import struct
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from chitieu.errors import ChitieuError
from chitieu.settings import get_settings

DATABASE_STORE = "database"


class ArchiveError(ChitieuError, OSError):
    """The archived bytes of a checksum are not where the archive says."""

    code = "not_archived"


class ArchiveCorrupt(ArchiveError):
    """The archived bytes no longer hash to the checksum they were stored under."""

    code = "archive_corrupt"


@dataclass(frozen=True)
class ArchivedFile:
    sha256: str
    name: str
    size: int
    store: str  # 'database' or the object-store URL the bytes were written under

    @property
    def path(self) -> Path:
        """The file's address relative to the archive (not a location on this machine)."""
        return Path("sha256") / self.sha256


def sha256_of(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def _object_url(base: str, sha256: str) -> str:
    return f"{base.rstrip('/')}/{sha256[:2]}/{sha256}"


@contextmanager
def _connection(conn: psycopg.Connection | None) -> Iterator[psycopg.Connection]:
    if conn is not None:
        yield conn
        return
    from chitieu.db.connect import connect

    with connect(autocommit=True) as own:
        yield own


def _write_object(url: str, content: bytes) -> None:
    import fsspec
    from fsspec.implementations.local import LocalFileSystem

    fs, path = fsspec.core.url_to_fs(url)
    if fs.exists(path) and fs.size(path) == len(content):
        return
    if isinstance(fs, LocalFileSystem):  # a directory: write aside, then rename (never half a file)
        fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
        tmp = f"{path}.{uuid.uuid4().hex}.incoming"
        fs.pipe_file(tmp, content)
        fs.mv(tmp, path)
    else:  # an object store: one PUT, and an object is never visible half-written
        fs.pipe_file(path, content)


_COPY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + struct.pack("!ii", 0, 0)  # binary COPY: no flags, no extension
COPY_PIECE = 1 << 20


def _field(data: bytes) -> bytes:
    return struct.pack("!i", len(data)) + data


def _copy_content(c: psycopg.Connection, digest: str, content: bytes) -> None:
    """The row of a file stored in the database, its bytes sent in 1 MiB pieces (binary COPY).

    A parameter would be copied whole into the connection's send buffer, which libpq never shrinks:
    a 65 MB file would stay in the loader's memory for as long as its connection lives."""
    with (
        c.cursor() as cur,
        cur.copy("COPY archive_files (sha256, size, store, content) FROM STDIN (FORMAT binary)") as copy,
    ):
        copy.write(
            _COPY_SIGNATURE
            + struct.pack("!h", 4)
            + _field(digest.encode())
            + _field(struct.pack("!q", len(content)))
            + _field(DATABASE_STORE.encode())
            + struct.pack("!i", len(content))
        )
        view = memoryview(content)
        for start in range(0, len(content), COPY_PIECE):
            copy.write(view[start : start + COPY_PIECE])
        copy.write(struct.pack("!h", -1))


def archive_bytes(
    content: bytes,
    name: str,
    *,
    conn: psycopg.Connection | None = None,
    sha256: str | None = None,
) -> ArchivedFile:
    """Store `content` once and record `name` among the names it arrived under.

    Concurrent callers with the same bytes are safe: the row is inserted with ON CONFLICT, and the
    object (when in an object store) is written before its row, so a row always has its bytes."""
    digest = sha256 or sha256_of(content)
    base = get_settings().archive_url
    store = base or DATABASE_STORE
    if base:
        _write_object(_object_url(base, digest), content)
    with _connection(conn) as c, c.transaction():
        if base:
            c.execute(
                """INSERT INTO archive_files (sha256, size, content, store) VALUES (%s, %s, NULL, %s)
                   ON CONFLICT (sha256) DO NOTHING""",
                (digest, len(content), store),
            )
        elif c.execute("SELECT 1 FROM archive_files WHERE sha256 = %s", (digest,)).fetchone() is None:
            try:
                with c.transaction():
                    _copy_content(c, digest, content)
            except psycopg.errors.UniqueViolation:
                pass  # the same bytes, stored by a concurrent caller in the meantime
        c.execute(
            "INSERT INTO archive_names (sha256, name) VALUES (%s, %s) ON CONFLICT DO NOTHING",
            (digest, name),
        )
    return ArchivedFile(digest, name, len(content), store)


def read_archived(sha256: str, *, conn: psycopg.Connection | None = None) -> bytes:
    """The archived bytes of `sha256`; every reader goes through here, whatever stores them.
    Raises ArchiveError (an OSError) when they are missing, ArchiveCorrupt when they no longer
    hash to `sha256`."""
    with _connection(conn) as c:
        row = c.execute("SELECT content, store FROM archive_files WHERE sha256 = %s", (sha256,)).fetchone()
    if row is None:
        raise ArchiveError(f"not archived: {sha256}", f"chưa được lưu trữ: {sha256}")
    content: Any = row[0]
    if content is None:
        import fsspec

        try:
            with fsspec.open(_object_url(str(row[1]), sha256), "rb") as fh:
                content = fh.read()
        except FileNotFoundError as exc:
            raise ArchiveError(
                f"archived object missing: {sha256} in {row[1]}",
                f"không thấy bản lưu trữ {sha256} trong {row[1]}",
            ) from exc
    data = bytes(content)
    if sha256_of(data) != sha256:
        raise ArchiveCorrupt(
            f"archived bytes no longer match their checksum: {sha256}",
            f"bản lưu trữ không còn khớp mã kiểm tra {sha256}",
        )
    return data


def archived_names(sha256: str, *, conn: psycopg.Connection | None = None) -> list[str]:
    with _connection(conn) as c:
        rows = c.execute(
            "SELECT name FROM archive_names WHERE sha256 = %s ORDER BY first_seen_at, name", (sha256,)
        ).fetchall()
    return [str(r[0]) for r in rows]
