"""What every portal connector shares: an httpx client with timeouts, a small retry, clear errors.

Publishers' servers are slow and flaky (5xx, dropped connections): those are retried a few times
with exponential backoff. A 4xx means our request or the source spec is wrong, so it fails at once
with a message naming the URL and status, in Vietnamese and English.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

import httpx

from chitieu.errors import ChitieuError
from chitieu.ingest.records import ParseError, Payload

DEFAULT_TIMEOUT_S = 30.0
DEFAULT_RETRIES = 3
DEFAULT_BACKOFF_S = 0.5
USER_AGENT = "chitieu/0.1 (+indicator monitoring; Resolution 57-NQ/TW)"


class SpecLike(Protocol):
    """The part of ingest.specs.SourceSpec the portal connectors read."""

    @property
    def id(self) -> str: ...

    @property
    def url(self) -> str | None: ...

    @property
    def indicator(self) -> str | None: ...

    @property
    def options(self) -> Mapping[str, Any]: ...


class FetchError(ChitieuError):
    """A source could not be fetched: a 4xx, or a 5xx / network failure that outlasted the retries."""

    code = "fetch_failed"

    def __init__(self, en: str, vi: str, *, url: str, status: int | None = None):
        super().__init__(en, vi)
        self.url = url
        self.status = status


class ConfigError(ChitieuError, ValueError):
    """A source spec that lacks what its connector needs (bilingual, like every rejection)."""

    code = "source_misconfigured"


def utcnow() -> datetime:
    return datetime.now(UTC)


def _describe(exc: httpx.HTTPError) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


class PortalConnector:
    """Base of the HTTP connectors: holds the spec, the client and the retry policy.

    Options read from spec.options: `timeout` (seconds), `retries` (extra attempts after the
    first), `backoff` (seconds before the first retry; doubles each time).
    """

    kind = "portal"

    def __init__(self, spec: SpecLike, *, http: httpx.Client | None = None):
        self.spec = spec
        self.options: dict[str, Any] = dict(spec.options or {})
        self._owns_http = http is None
        self.http = http or httpx.Client(
            timeout=float(self.options.get("timeout", DEFAULT_TIMEOUT_S)),
            headers={"User-Agent": USER_AGENT},
            follow_redirects=True,
        )
        self.retries = int(self.options.get("retries", DEFAULT_RETRIES))
        self.backoff = float(self.options.get("backoff", DEFAULT_BACKOFF_S))
        # Generic SourceSpec fields, read when the spec has them (ingest.specs.SourceSpec does).
        self.spec_resources: list[str] = [str(r) for r in getattr(spec, "resources", None) or []]
        self.spec_columns: dict[str, str] = dict(getattr(spec, "columns", None) or {})
        self.spec_period: str | None = getattr(spec, "period", None)

    # -- lifecycle ---------------------------------------------------------------------------------
    def close(self) -> None:
        if self._owns_http:
            self.http.close()

    def __enter__(self) -> PortalConnector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- helpers for subclasses ------------------------------------------------------------------
    def listed_resources(self, *option_names: str) -> list[str]:
        """Resources named by spec.resources, else by the first of these options that is set."""
        if self.spec_resources:
            return list(self.spec_resources)
        for name in option_names:
            given = self.options.get(name)
            if given:
                return [str(given)] if isinstance(given, str | int) else [str(r) for r in given]
        return []

    def require_url(self) -> str:
        if not self.spec.url:
            raise ConfigError(
                f"source {self.spec.id!r} ({self.kind}) has no url",
                f"nguồn {self.spec.id!r} ({self.kind}) chưa khai báo url",
            )
        return self.spec.url

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """One HTTP exchange with retries on 5xx and transport errors; raises FetchError otherwise."""
        attempt = 0
        while True:
            try:
                response = self.http.request(method, url, **kwargs)
            except httpx.TransportError as exc:
                if attempt < self.retries:
                    self._sleep(attempt)
                    attempt += 1
                    continue
                raise FetchError(
                    f"could not reach {url} after {attempt + 1} attempts ({_describe(exc)})",
                    f"không kết nối được {url} sau {attempt + 1} lần thử ({_describe(exc)})",
                    url=url,
                ) from exc
            if response.status_code >= 500:
                if attempt < self.retries:
                    self._sleep(attempt)
                    attempt += 1
                    continue
                raise FetchError(
                    f"{url} answered HTTP {response.status_code} after {attempt + 1} attempts",
                    f"{url} trả về lỗi HTTP {response.status_code} sau {attempt + 1} lần thử",
                    url=url,
                    status=response.status_code,
                )
            if response.status_code >= 400:
                detail = response.text[:200].strip()
                raise FetchError(
                    f"{url} answered HTTP {response.status_code}"
                    f" (check the source spec's url and options){': ' + detail if detail else ''}",
                    f"{url} trả về lỗi HTTP {response.status_code}"
                    f" (kiểm tra url và tuỳ chọn của nguồn){': ' + detail if detail else ''}",
                    url=url,
                    status=response.status_code,
                )
            return response

    def _sleep(self, attempt: int) -> None:
        if self.backoff > 0:
            time.sleep(self.backoff * (2**attempt))


def join_pages(pages: list[bytes]) -> bytes:
    """Keep each page body verbatim, as elements of one JSON array (valid when every page is JSON)."""
    return b"[" + b",\n".join(page.strip() or b"null" for page in pages) + b"]"


def paged_payload(
    name: str, resource: str, pages: list[bytes], *, fetched_at: datetime, url: str, **meta: str
) -> Payload:
    """A resource's JSON pages, kept verbatim as one archived payload; `meta` says how many (and
    whatever else the connector knows about the answer)."""
    return Payload(
        name=name,
        content=join_pages(pages),
        fetched_at=fetched_at,
        url=url,
        media_type="application/json",
        resource=resource,
        meta={"pages": str(len(pages)), **meta},
    )


def load_json(content: bytes, what: str) -> Any:
    """Decode a JSON payload, or raise ParseError naming what it should have been."""
    try:
        return json.loads(content.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        snippet = content[:60].decode("utf-8", "replace")
        raise ParseError(
            f"{what} is not valid JSON ({exc.__class__.__name__}); starts with {snippet!r}",
            f"{what} không phải JSON hợp lệ ({exc.__class__.__name__}); bắt đầu bằng {snippet!r}",
        ) from exc


def as_text(value: Any) -> str:
    """A label as found, for the string-typed RawRecord fields (None -> '')."""
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)
