"""API keys: created, listed and revoked by `chitieu apikey ...` and by admins over the API.

A token reads `ct_<prefix>_<secret>`; the prefix (public, unique) names the key in lists and logs,
and only the token's sha256 is stored.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime
from typing import Any, Literal

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from chitieu.errors import ChitieuError

Role = Literal["viewer", "engineer", "admin"]
ROLES: tuple[Role, ...] = ("viewer", "engineer", "admin")
RANK = {role: i for i, role in enumerate(ROLES)}
# Every column but the token's hash.
PUBLIC_COLUMNS = sql.SQL(
    "id, prefix, role, name, created_at, created_by, expires_at, revoked_at, last_used_at"
)


class ApiKeyError(ChitieuError):
    """A bad key request (the API answers it as a 422 problem)."""

    http_status = 422


def token_sha256(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_key(
    conn: psycopg.Connection[Any],
    *,
    role: str,
    name: str,
    created_by: str | None = None,
    expires_at: datetime | None = None,
) -> tuple[str, dict[str, Any]]:
    """A new key: (the token, to be shown once; the stored row without any secret)."""
    if role not in RANK:
        raise ApiKeyError(
            f"unknown role '{role}' (viewer, engineer, admin)", f"vai trò '{role}' không hợp lệ"
        )
    if not name.strip():
        raise ApiKeyError("a key needs a name", "cần đặt tên cho khóa")
    # (A time without an offset is read as the machine's local time, as the CLI's user means it.)
    if expires_at is not None and expires_at.astimezone(UTC) <= datetime.now(UTC):
        raise ApiKeyError(
            f"expiry {expires_at.isoformat()} is already past: the key could never be used",
            f"thời hạn {expires_at.isoformat()} đã qua; khóa sẽ không dùng được",
        )
    prefix = secrets.token_hex(4)
    token = f"ct_{prefix}_{secrets.token_urlsafe(32)}"
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            sql.SQL("""INSERT INTO api_keys (prefix, token_sha256, role, name, created_by, expires_at)
                VALUES (%s, %s, %s, %s, %s, %s) RETURNING {}""").format(PUBLIC_COLUMNS),
            (prefix, token_sha256(token), role, name.strip(), created_by, expires_at),
        )
        row = cur.fetchone()
    assert row is not None
    return token, row


def list_keys(conn: psycopg.Connection[Any], *, include_revoked: bool = False) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            sql.SQL("SELECT {} FROM api_keys WHERE %s OR revoked_at IS NULL ORDER BY id").format(
                PUBLIC_COLUMNS
            ),
            (include_revoked,),
        )
        return cur.fetchall()


def revoke_key(conn: psycopg.Connection[Any], ref: str) -> dict[str, Any] | None:
    """Revoke by id or prefix; None when no active key matches. Takes effect at once in every API
    process (the change is announced to their caches)."""
    key_id = int(ref) if ref.isdigit() else None
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            sql.SQL("""UPDATE api_keys SET revoked_at = now()
                WHERE (id = %s OR prefix = %s) AND revoked_at IS NULL RETURNING {}""").format(PUBLIC_COLUMNS),
            (key_id, ref),
        )
        return cur.fetchone()
