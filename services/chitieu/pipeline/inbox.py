"""The inbox folder: a drop location on one host, where spreadsheets are dropped to be ingested.

CHITIEU_DATA_DIR/inbox/<name>       waiting (then imported into the archive, once: an inbox_items row)
CHITIEU_DATA_DIR/processed/<sha12>-<name> + <sha12>-<name>.report.json   loaded (or skipped: already loaded)
CHITIEU_DATA_DIR/rejected/<sha12>-<name>  + <sha12>-<name>.report.json   could not be loaded

Only the import and the final move touch this folder (tasks on the inbox queue, served by the
workers of the host that has it); loading reads the imported bytes from the archive on any worker,
and the report is kept in the database (inbox_items.report) before it is written beside the file.

A writer places a file atomically (write `.<name>.part`, then rename), so a half-written file is
never picked up. Names are prefixed by the content's sha256 so two different files with the same
name never collide and the same file dropped twice lands on the same name (idempotent moves).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

import psycopg

REPORT_SUFFIX = ".report.json"
IGNORED_SUFFIXES = (".part", ".tmp", REPORT_SUFFIX, "~")


def folders(data_dir: Path) -> dict[str, Path]:
    names = ("inbox", "processed", "rejected")
    paths = {name: data_dir / name for name in names}
    for path in paths.values():
        path.mkdir(parents=True, exist_ok=True)
    return paths


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def pending_files(data_dir: Path) -> list[str]:
    """Files waiting in the inbox, oldest first, as absolute paths (JSON-able for XCom)."""
    inbox = folders(data_dir)["inbox"]
    files = [
        p
        for p in inbox.iterdir()
        if p.is_file() and not p.name.startswith(".") and not p.name.endswith(IGNORED_SUFFIXES)
    ]
    files.sort(key=lambda p: (p.stat().st_mtime, p.name))
    return [str(p) for p in files]


def place(data_dir: Path, name: str, content: bytes) -> Path:
    """Put a file into the inbox atomically; returns its final path."""
    inbox = folders(data_dir)["inbox"]
    safe = safe_name(name)
    final = inbox / safe
    partial = inbox / f".{safe}.part"
    partial.write_bytes(content)
    os.replace(partial, final)
    return final


def _options_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.options.json")


def write_options(path: Path, options: dict[str, Any]) -> None:
    """Options of a queued file (e.g. the indicator an uploader named), kept in a hidden sidecar."""
    _options_path(path).write_text(json.dumps(options, ensure_ascii=False), encoding="utf-8")


def read_options(path: Path) -> dict[str, Any]:
    sidecar = _options_path(path)
    if not sidecar.exists():
        return {}
    loaded: dict[str, Any] = json.loads(sidecar.read_text(encoding="utf-8"))
    return loaded


def safe_name(name: str) -> str:
    """A file name without directories or control characters (uploads choose their own names)."""
    base = Path(name.replace("\\", "/")).name.strip() or "upload"
    cleaned = "".join(ch if ch.isprintable() and ch not in '/\\:*?"<>|' else "_" for ch in base)
    return cleaned.lstrip(".") or "upload"


def settled_name(sha256: str, name: str) -> str:
    prefix = sha256[:12]
    return name if name.startswith(prefix + "-") else f"{prefix}-{name}"


def settle(data_dir: Path, path: Path, sha256: str, outcome: str, report: dict[str, Any]) -> dict[str, Any]:
    """Move an inbox file to processed/ or rejected/ and write its report beside it.

    The report is written first and the move is a rename, so a crash in between leaves the file in
    the inbox with its report already present: the retry re-ingests (skipped by checksum) and moves.
    """
    if outcome not in ("processed", "rejected"):
        raise ValueError(f"unknown outcome {outcome!r}")
    dest_dir = folders(data_dir)[outcome]
    settled = settled_name(sha256, path.name)
    report = {**report, "outcome": outcome, "file": settled, "sha256": sha256}
    report_path = dest_dir / (settled + REPORT_SUFFIX)
    tmp = dest_dir / f".{settled}{REPORT_SUFFIX}.tmp"
    tmp.write_text(json.dumps(report, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    os.replace(tmp, report_path)
    dest = dest_dir / settled
    _options_path(path).unlink(missing_ok=True)
    if path.exists():
        try:
            os.replace(path, dest)
        except OSError:  # another filesystem (a mounted inbox): copy, then remove
            shutil.copy2(path, dest)
            path.unlink()
    report["report_path"] = str(report_path)
    report["path"] = str(dest)
    return report


def import_file(conn: psycopg.Connection, path: Path, *, host: str) -> int:
    """Archive an inbox file and record it as an inbox item, in one transaction; the item's id.

    Idempotent: the same bytes under the same name are one item, whoever imports them again (a
    retry, a file dropped twice), so a file is imported once and loaded once."""
    from chitieu.ingest.archive import archive_bytes, sha256_of

    content = path.read_bytes()
    sha = sha256_of(content)
    with conn.transaction():
        archive_bytes(content, path.name, conn=conn, sha256=sha)
        row = conn.execute(
            """INSERT INTO inbox_items (sha256, name, options, imported_by) VALUES (%s, %s, %s::jsonb, %s)
               ON CONFLICT (sha256, name) DO UPDATE SET name = EXCLUDED.name
               RETURNING id""",
            (sha, path.name, json.dumps(read_options(path), ensure_ascii=False), host),
        ).fetchone()
    assert row is not None
    return int(row[0])
