"""The archive every worker and the API read: in the database by default, or an fsspec store."""

from __future__ import annotations

import threading
from pathlib import Path

import psycopg
import pytest

from chitieu.ingest.archive import (
    COPY_PIECE,
    ArchiveCorrupt,
    ArchiveError,
    archive_bytes,
    archived_names,
    read_archived,
)
from chitieu.pipeline import maintenance
from chitieu.settings import get_settings

pytestmark = pytest.mark.db


def test_bytes_and_every_name_are_kept_once_even_when_archived_concurrently(db: psycopg.Connection) -> None:
    content = b"tinh,chi_tieu\n" * 1000
    names = [f"ten-{i % 3}.csv" for i in range(12)]
    threads = [threading.Thread(target=archive_bytes, args=(content, n)) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    [archived] = db.execute("SELECT sha256, size, store FROM archive_files").fetchall()
    assert archived[1:] == (len(content), "database")
    assert read_archived(archived[0]) == content
    assert sorted(archived_names(archived[0])) == ["ten-0.csv", "ten-1.csv", "ten-2.csv"]
    with pytest.raises(ArchiveError):
        read_archived("f" * 64)


def test_a_file_longer_than_one_copy_piece_comes_back_byte_for_byte(db: psycopg.Connection) -> None:
    # every byte value, across piece boundaries, and a tail shorter than a piece
    content = bytes(range(256)) * (2 * COPY_PIECE // 256) + b"\x00\xff\r\n;" * 7
    first = archive_bytes(content, "lon.csv", conn=db)
    again = archive_bytes(content, "lon-2.csv", conn=db)
    assert first.sha256 == again.sha256
    assert db.execute("SELECT count(*), max(size) FROM archive_files").fetchone() == (1, len(content))
    assert read_archived(first.sha256, conn=db) == content
    assert sorted(archived_names(first.sha256, conn=db)) == ["lon-2.csv", "lon.csv"]


def test_an_object_store_holds_the_bytes_and_the_database_their_row(
    db: psycopg.Connection, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHITIEU_ARCHIVE_URL", f"file://{tmp_path}/store")
    get_settings.cache_clear()
    archived = archive_bytes(b"so lieu", "a.csv")
    stored = tmp_path / "store" / archived.sha256[:2] / archived.sha256
    assert stored.read_bytes() == b"so lieu"
    assert db.execute("SELECT content IS NULL, store FROM archive_files").fetchone() == (
        True,
        f"file://{tmp_path}/store",
    )
    assert read_archived(archived.sha256) == b"so lieu"
    assert not list(stored.parent.glob("*.incoming"))
    stored.write_bytes(b"tampered")
    with pytest.raises(ArchiveCorrupt):
        read_archived(archived.sha256)
    db.execute(
        """INSERT INTO load_batches (source_id, file_sha256, fetched_at, status)
           VALUES ('upload', %s, now(), 'loaded')""",
        (archived.sha256,),
    )
    assert maintenance.verify_archive(db)["corrupt"] == [archived.sha256]
