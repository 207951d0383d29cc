"""Connections to our database. Everything else goes through here."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.rows import dict_row, tuple_row

from chitieu.settings import get_settings


def connect(
    dsn: str | None = None, *, autocommit: bool = False, dict_rows: bool = False
) -> psycopg.Connection[Any]:
    """Open a connection to DATABASE_URL (or the embedded cluster), or to `dsn` when given."""
    return psycopg.Connection.connect(
        dsn or get_settings().dsn(),
        autocommit=autocommit,
        row_factory=dict_row if dict_rows else tuple_row,
        application_name="chitieu",
    )
