"""What the DAG files need at parse time: which ingestion DAGs exist and their schedules.

Reads catalog/sources/*.yaml one file at a time (files only: no database, no network), so a spec
that does not validate yields a DAG that fails with the spec's error instead of hiding the others.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from chitieu.settings import get_settings


@dataclass(frozen=True)
class SourceDagEntry:
    dag_id: str
    spec_id: str
    schedule: str | None
    title: str
    kind: str
    file: str
    error: str | None = None  # the spec's validation error, shown by the DAG's only task


def _files(directory: Path) -> list[Path]:
    return sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")])


def load_spec(spec_id: str, directory: Path | None = None) -> Any:
    """One source spec by id, read file by file: another spec's error never blocks this source."""
    from chitieu.ingest.specs import parse_spec

    directory = directory or get_settings().sources_dir
    for path in _files(directory):
        try:
            doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError):
            continue  # another source's broken file; its own DAG reports it
        if isinstance(doc, dict) and doc.get("id") == spec_id:
            return parse_spec(doc, origin=path.name)
    raise KeyError(f"no source spec {spec_id!r} in {directory} / không có nguồn {spec_id!r}")


def _dag_id(spec_id: str) -> str:
    return "ingest_" + "".join(ch if ch.isalnum() or ch in "_-." else "_" for ch in spec_id)


def source_dag_entries(directory: Path | None = None) -> list[SourceDagEntry]:
    from chitieu.ingest.specs import parse_spec

    directory = directory or get_settings().sources_dir
    entries: dict[str, SourceDagEntry] = {}
    for path in _files(directory):
        spec_id = path.stem
        try:
            doc = yaml.safe_load(path.read_text(encoding="utf-8"))
            if isinstance(doc, dict) and isinstance(doc.get("id"), str):
                spec_id = doc["id"]
            spec = parse_spec(doc, origin=path.name)
        except Exception as exc:  # a broken spec must not take the other sources' DAGs down
            entry = SourceDagEntry(_dag_id(spec_id), spec_id, None, spec_id, "invalid", path.name, str(exc))
        else:
            entry = SourceDagEntry(_dag_id(spec.id), spec.id, spec.schedule, spec.title, spec.kind, path.name)
        if entry.dag_id in entries:
            entry = SourceDagEntry(
                entry.dag_id + "_" + path.stem,
                entry.spec_id,
                None,
                entry.title,
                "invalid",
                path.name,
                f"{path.name}: source id {entry.spec_id!r} is defined twice",
            )
        entries[entry.dag_id] = entry
    return list(entries.values())
