"""Expand Grafana's PostgreSQL macros and template variables, so panel SQL can run outside Grafana.

Follows the PostgreSQL datasource with `timescaledb: true` (time_bucket for $__timeGroup) and
Grafana's default SQL formatting of variables: a multi-value (or All) variable becomes a list of
single-quoted values joined by commas; a single value is inserted as is unless formatted with
`:sqlstring`. Used by the tests and the panel benchmark; not a general Grafana emulator.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

VariableValue = str | Sequence[str]

_MACRO = re.compile(r"\$__(\w+)\(([^()]*(?:\([^()]*\)[^()]*)*)\)")
_VARIABLE = re.compile(r"\$\{(\w+)(?::(\w+))?\}|\[\[(\w+)(?::(\w+))?\]\]|\$(\w+)")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "M": 2592000, "y": 31536000}


class MacroError(ValueError):
    pass


def interval_seconds(text: str) -> float:
    """'1d' -> 86400; Grafana's units (a year is 365 days, a month 30)."""
    m = re.fullmatch(r"\s*'?(\d+(?:\.\d+)?)(ms|s|m|h|d|w|M|y)'?\s*", text)
    if not m:
        raise MacroError(f"cannot read interval {text!r}")
    return float(m.group(1)) * _UNITS[m.group(2)]


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _format(value: VariableValue, fmt: str | None) -> str:
    values = [value] if isinstance(value, str) else list(value)
    multi = not isinstance(value, str)
    if fmt in ("sqlstring", "singlequote"):
        return ",".join(_quote(v) for v in values)
    if fmt == "doublequote":
        return ",".join('"' + v.replace('"', '\\"') + '"' for v in values)
    if fmt in ("csv", "raw"):
        return ",".join(values)
    if fmt is not None:
        raise MacroError(f"unsupported variable format {fmt!r}")
    return ",".join(_quote(v) for v in values) if multi else values[0]


def _iso(ts: datetime) -> str:
    # Grafana writes the range as RFC 3339 with its fraction of a second (Go's RFC3339Nano):
    # truncating to the second would drop rows from the range's last second.
    text = ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f").rstrip("0").rstrip(".")
    return text + "Z"


def expand(
    sql: str,
    *,
    time_from: datetime,
    time_to: datetime,
    variables: Mapping[str, VariableValue] | None = None,
) -> str:
    """Return `sql` with template variables and $__ macros replaced for the given time range."""
    variables = variables or {}

    def variable(m: re.Match[str]) -> str:
        name = m.group(1) or m.group(3) or m.group(5)
        fmt = m.group(2) or m.group(4)
        if name.startswith("__"):
            return m.group(0)  # a macro or built-in ($__timeFilter...), handled below
        if name not in variables:
            raise MacroError(f"template variable ${name} has no value")
        return _format(variables[name], fmt)

    text = _VARIABLE.sub(variable, sql)
    start, end = _iso(time_from), _iso(time_to)
    epoch_from, epoch_to = int(time_from.timestamp()), int(time_to.timestamp())

    def macro(m: re.Match[str]) -> str:
        name = m.group(1)
        args = [a.strip() for a in m.group(2).split(",")] if m.group(2).strip() else []
        if name == "time":
            return f'{args[0]} AS "time"'
        if name == "timeEpoch":
            return f'extract(epoch from {args[0]}) AS "time"'
        if name == "timeFilter":
            return f"{args[0]} BETWEEN '{start}' AND '{end}'"
        if name == "timeFrom":
            return f"'{start}'"
        if name == "timeTo":
            return f"'{end}'"
        if name in ("timeGroup", "timeGroupAlias"):
            if len(args) < 2:
                raise MacroError(f"$__{name} needs a column and an interval")
            bucket = f"time_bucket('{interval_seconds(args[1]):.0f}s',{args[0]})"
            return bucket + (' AS "time"' if name == "timeGroupAlias" else "")
        if name == "unixEpochFilter":
            return f"{args[0]} >= {epoch_from} AND {args[0]} <= {epoch_to}"
        if name == "unixEpochFrom":
            return str(epoch_from)
        if name == "unixEpochTo":
            return str(epoch_to)
        raise MacroError(f"unsupported macro $__{name}")

    text = _MACRO.sub(macro, text)
    if "$__" in text.replace("$__all", ""):
        raise MacroError(f"unexpanded macro left in: {text}")
    return text
