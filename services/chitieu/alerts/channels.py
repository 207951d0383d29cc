"""Notification channels and the routes to them (catalog/routes.yaml, setting CHITIEU_ROUTES_FILE): which
channels hear which alerts.

A route matches an alert when every key of its `match` map matches one of the listed values of the
alert's label of that name (case/diacritics-insensitive); `jurisdiction` also matches the
jurisdiction's name and the jurisdiction whose data was used. An alert goes to every matching route;
when none matches, to the `default: true` route(s). Channels are apprise URLs whose secrets are
written as `${ENV_VAR}` (or `${ENV_VAR:-fallback}`) and expanded only at send time, never stored.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from chitieu.errors import ChitieuError
from chitieu.settings import get_settings
from chitieu.textnorm import fold_key

# A fallback may itself refer to a variable, one level deep (`${A:-json://h:${PORT:-8099}/x}`), so that
# the demo's default channel follows the demo receiver's port setting. Values are never expanded again.
_ENV_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-((?:[^{}$]|\$(?!\{)|\$\{[^{}]*\})*))?\}")
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
# A route on `jurisdiction` also looks at these labels.
_ALIASED_LABELS = {"jurisdiction": ("jurisdiction", "jurisdiction_name", "data_jurisdiction")}


class ChannelError(ChitieuError, ValueError):
    """A routes file that cannot be used."""

    code = "bad-routes"


class MissingSecret(ChitieuError, KeyError):
    """A channel URL names an environment variable that is not set."""

    code = "missing-secret"

    def __init__(self, name: str) -> None:
        super().__init__(
            f"missing environment variable {name}", f"thiếu biến môi trường {name}", code=self.code
        )
        self.name = name


@dataclass(frozen=True)
class Route:
    name: str
    channels: tuple[str, ...]
    match: tuple[tuple[str, frozenset[str]], ...] = ()
    default: bool = False

    def matches(self, labels: Mapping[str, str]) -> bool:
        if not self.match:
            return not self.default
        for key, accepted in self.match:
            names = _ALIASED_LABELS.get(key, (key,))
            if not any(fold_key(labels[n]) in accepted for n in names if n in labels):
                return False
        return True


def channel_id(url: str) -> str:
    """A short stable id of an (unexpanded) channel URL, for dedup keys and logs."""
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:12]


def channel_environment() -> dict[str, str]:
    """Where `${NAME}` is looked up: the process environment, then the `.env` file that settings
    read (pydantic-settings does not export it to os.environ)."""
    from dotenv import dotenv_values  # a dependency of pydantic-settings

    env = {k: v for k, v in dotenv_values(".env").items() if v is not None} if Path(".env").is_file() else {}
    env.update(os.environ)
    return env


def expand_env(url: str, environ: Mapping[str, str] | None = None) -> str:
    env = channel_environment() if environ is None else environ

    def sub(m: re.Match[str]) -> str:
        name, fallback = m.group(1), m.group(2)
        value = env.get(name)
        if value:
            return value
        if fallback is not None:
            return expand_env(fallback, env)
        raise MissingSecret(name)

    return _ENV_RE.sub(sub, url)


def referenced_values(url: str, environ: Mapping[str, str] | None = None) -> list[str]:
    """The values of the environment variables `url` refers to (to scrub them from error texts)."""
    env = channel_environment() if environ is None else environ
    values: list[str] = []
    for m in _ENV_RE.finditer(url):
        name, fallback = m.group(1), m.group(2)
        if env.get(name):
            values.append(env[name])
        elif fallback:
            values += referenced_values(fallback, env)
    return values


def redact(url: str) -> str:
    """A URL safe to print: credentials in the authority replaced by ***."""
    return re.sub(r"(://)([^/@\s]+)@", r"\1***@", url)


def parse_routes(data: object, origin: str = "routes") -> list[Route]:
    if data is None:
        return []
    if not isinstance(data, dict) or not isinstance(data.get("routes", []), list):
        raise ChannelError(
            f"{origin}: expected a mapping with a 'routes' list",
            f"{origin}: cần một khoá 'routes' là danh sách",
        )
    routes: list[Route] = []
    seen: set[str] = set()
    for i, item in enumerate(data.get("routes") or []):
        where = f"{origin}: routes[{i}]"
        if not isinstance(item, dict):
            raise ChannelError(
                f"{where}: each route must be a mapping", f"{where}: mỗi tuyến phải là một ánh xạ"
            )
        name = str(item.get("name", "")).strip()
        if not _NAME_RE.match(name):
            raise ChannelError(
                f"{where}: invalid route name '{name}' (lowercase letters, digits, - _ .)",
                f"{where}: tên tuyến '{name}' không hợp lệ (chữ thường, số, - _ .)",
            )
        if name in seen:
            raise ChannelError(
                f"{where}: duplicate route name '{name}'", f"{where}: tên tuyến '{name}' bị trùng"
            )
        seen.add(name)
        channels = item.get("channels") or []
        if isinstance(channels, str):
            channels = [channels]
        if not channels or not all(isinstance(c, str) and c.strip() for c in channels):
            raise ChannelError(
                f"{where} ({name}): needs at least one channel (apprise URL)",
                f"{where} ({name}): cần ít nhất một kênh (URL apprise)",
            )
        match = item.get("match") or {}
        if not isinstance(match, dict):
            raise ChannelError(
                f"{where} ({name}): 'match' must be a label map",
                f"{where} ({name}): 'match' phải là ánh xạ nhãn",
            )
        default = bool(item.get("default", False))
        if not match and not default:
            raise ChannelError(
                f"{where} ({name}): a route without 'match' must say 'default: true'",
                f"{where} ({name}): tuyến không có 'match' phải đặt 'default: true'",
            )
        pairs = []
        for key, values in sorted(match.items()):
            vals = values if isinstance(values, list) else [values]
            pairs.append((str(key), frozenset(fold_key(str(v)) for v in vals)))
        routes.append(Route(name, tuple(c.strip() for c in channels), tuple(pairs), default))
    return routes


def load_routes(path: Path | None = None) -> list[Route]:
    """Routes from CHITIEU_ROUTES_FILE (or `path`); a missing file means no routes."""
    file = Path(path) if path is not None else get_settings().routes_file
    if not file.is_file():
        return []
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ChannelError(f"{file}: invalid YAML: {exc}", f"{file}: YAML không hợp lệ: {exc}") from exc
    return parse_routes(data, str(file))


def select_routes(routes: list[Route], labels: Mapping[str, str]) -> list[Route]:
    chosen = [r for r in routes if not r.default and r.matches(labels)]
    return chosen or [r for r in routes if r.default]


def find_route(
    routes: list[Route], name_or_jurisdiction: str, labels: Mapping[str, str] | None = None
) -> list[Route]:
    """Routes for `chitieu alerts test-route`: the route of that name, else the routes an alert of
    that jurisdiction (`labels`, default {"jurisdiction": name_or_jurisdiction}) would reach."""
    named = [r for r in routes if r.name == name_or_jurisdiction]
    if named:
        return named
    return select_routes(routes, labels or {"jurisdiction": name_or_jurisdiction})
