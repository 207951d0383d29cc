"""Connections to our database. Everything else goes through here."""

from __future__ import annotations

import psycopg
from psycopg.rows import dict_row

from chitieu.settings import get_settings


def connect(dsn: str | None = None, *, autocommit: bool = False, dict_rows: bool = False) -> psycopg.Connection:
    """Open a connection to DATABASE_URL (or the embedded cluster), or to `dsn` when given."""
    conn = psycopg.connect(
        dsn or get_settings().dsn(),
        autocommit=autocommit,
        row_factory=dict_row if dict_rows else psycopg.rows.tuple_row,  # type: ignore[arg-type]
        application_name="chitieu",
    )
    return conn
