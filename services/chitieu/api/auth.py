"""Who is calling (a bearer API key, or nobody) and whether they may: roles and request rates.

viewer < engineer < admin: viewers read, engineers also upload and silence, admins also manage keys.
With CHITIEU_API_PUBLIC_READ, the reads of published results (catalog, targets, series, statuses, exports,
alerts without their internal fields) answer without a key; what engineers handle (uploads,
silences, keys) always needs one. Verified keys are remembered until the key table changes (its
changes are NOTIFYed like the data's), so a revocation applies at once.

The check runs in `BodyLimit` (bodylimit.py) before a byte of the body is read, and the route's
dependency takes the principal it found; the dependency checks by itself only when no middleware did.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

import limits
import limits.aio
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from psycopg.rows import dict_row

from chitieu.api.deps import AsyncConn, run_pooled
from chitieu.api.keys import RANK, Role, token_sha256
from chitieu.api.problems import Problem

LAST_USED_EVERY_S = 60.0
_bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer ct_…`")


@dataclass(frozen=True)
class Principal:
    key_id: int | None
    prefix: str | None
    role: Role | None
    name: str
    client: str

    @property
    def identity(self) -> str:
        """What request rates are counted against: the key, or the client address without one."""
        return f"key:{self.prefix}" if self.prefix else f"ip:{self.client}"


@dataclass
class _Known:
    principal: Principal
    expires_at: datetime | None
    version: int
    last_used_write: float


class Gate:
    """Per-process state of authentication and rate limiting (one per app)."""

    def __init__(self, app_state: Any, *, public_read: bool, rate: str, anonymous_rate: str) -> None:
        self.state = app_state
        self.public_read = public_read
        self.rate = limits.parse(rate)
        self.anonymous_rate = limits.parse(anonymous_rate)
        # The asyncio flavour: the threaded one starts a timer thread every few milliseconds under load.
        storage = limits.aio.storage.MemoryStorage()
        self.limiter = limits.aio.strategies.SlidingWindowCounterRateLimiter(storage)
        self._known: dict[str, _Known] = {}

    def _version(self) -> int | None:
        feed = self.state.feed
        return feed.version if feed is not None and feed.listening else None

    async def _lookup(self, token: str, client: str) -> Principal:
        digest = token_sha256(token)
        version = self._version()
        now = datetime.now(UTC)
        known = self._known.get(digest)
        if known is None or version is None or known.version != version:

            async def find(conn: AsyncConn) -> dict[str, Any] | None:
                async with conn.cursor(row_factory=dict_row) as cur:
                    await cur.execute(
                        """SELECT id, prefix, role, name, expires_at FROM api_keys
                           WHERE token_sha256 = %s AND revoked_at IS NULL""",
                        (digest,),
                    )
                    return await cur.fetchone()

            # Bounded wait: with the database down the caller gets a 503 in seconds, not a 500.
            row = await run_pooled(self.state.pool, find)
            if row is None:
                self._known.pop(digest, None)
                raise _unauthorized("Khóa API không hợp lệ hoặc đã bị thu hồi", "invalid or revoked API key")
            principal = Principal(row["id"], row["prefix"], row["role"], row["name"], client)
            known = _Known(principal, row["expires_at"], version if version is not None else -1, 0.0)
            if version is not None:
                self._known[digest] = known
        if known.expires_at is not None and known.expires_at <= now:
            raise _unauthorized("Khóa API đã hết hạn", "API key expired")
        if time.monotonic() - known.last_used_write > LAST_USED_EVERY_S:
            known.last_used_write = time.monotonic()

            async def touch(conn: AsyncConn) -> None:
                await conn.execute(
                    "UPDATE api_keys SET last_used_at = now() WHERE id = %s", (known.principal.key_id,)
                )

            # Setting a time to now() can be repeated: run like a read.
            await run_pooled(self.state.pool, touch)
        return known.principal

    async def _limit(self, principal: Principal) -> None:
        rate = self.rate if principal.prefix else self.anonymous_rate
        if await self.limiter.hit(rate, principal.identity):
            return
        reset = (await self.limiter.get_window_stats(rate, principal.identity)).reset_time
        retry = max(1, int(reset - time.time() + 0.999))
        raise Problem(
            429,
            vi=f"Vượt giới hạn {rate}; thử lại sau {retry} giây",
            en=f"rate limit of {rate} exceeded; retry in {retry} s",
            headers={"Retry-After": str(retry), "RateLimit-Policy": str(rate)},
        )

    async def check(self, client: str, token: str | None, role: Role, *, public: bool) -> Principal:
        """The caller of an operation that needs `role` (`public`: a published read, open to anyone
        under CHITIEU_API_PUBLIC_READ); a Problem (401, 403, 429, 503) when they may not call it."""
        if not token:
            principal = Principal(None, None, None, "anonymous", client)
            if not (public and self.public_read):
                await self._limit(principal)
                raise _unauthorized("Cần khóa API (Authorization: Bearer …)", "an API key is required")
        else:
            try:
                principal = await self._lookup(token, client)
            except Problem:
                # Wrong keys count against the client address: guessing costs a database query.
                await self._limit(Principal(None, None, None, "anonymous", client))
                raise
            if RANK[principal.role or "viewer"] < RANK[role]:
                await self._limit(principal)
                raise Problem(
                    403,
                    vi=f"Khóa '{principal.name}' ({principal.role}) không có quyền này; cần vai trò {role}",
                    en=f"key '{principal.name}' ({principal.role}) may not do this; role {role} required",
                )
        await self._limit(principal)
        return principal


def _unauthorized(vi: str, en: str) -> Problem:
    return Problem(401, vi=vi, en=en, headers={"WWW-Authenticate": 'Bearer realm="chitieu"'})


@dataclass(frozen=True)
class Requirement:
    role: Role
    public: bool


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer …` header (another scheme is no key at all)."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def requirement_of(call: Any) -> Requirement | None:
    return getattr(call, "requirement", None)


def _requirement(role: Role, *, public: bool) -> Any:
    async def dependency(
        request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
    ) -> Principal:
        # The body-limit middleware authenticates first and leaves the principal it found.
        checked = getattr(request.state, "principal", None)
        if isinstance(checked, Principal):
            return checked
        gate: Gate = request.app.state.gate
        client = request.client.host if request.client else "unknown"
        token = credentials.credentials if credentials is not None else None
        return await gate.check(client, token, role, public=public)

    dependency.requirement = Requirement(role, public)  # type: ignore[attr-defined]
    return Depends(dependency)


# Published results: open to anyone with CHITIEU_API_PUBLIC_READ.
Reader = Annotated[Principal, _requirement("viewer", public=True)]
# What only key holders read: uploads (file names, uploaders, raw cells), silences (who, why).
Viewer = Annotated[Principal, _requirement("viewer", public=False)]
Engineer = Annotated[Principal, _requirement("engineer", public=False)]
Admin = Annotated[Principal, _requirement("admin", public=False)]
