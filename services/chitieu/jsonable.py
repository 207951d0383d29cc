"""Plain JSON values from what our modules hand around: dataclasses, pydantic models, objects with
`to_json`, numpy and Decimal numbers, dates, paths. One definition for the summaries a pipeline task
returns, the upload reports stored as jsonb and the API's answers (as orjson's `default`). Data
frames never go through here."""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

MAX_LIST = 20  # a summary carries counts, not data: longer lists are cut, with how many were cut


def jsonable(obj: Any, *, max_list: int | None = MAX_LIST) -> Any:
    """`obj` as JSON values (dict, list, str, int, float, bool, None). Lists longer than `max_list`
    are cut and end with `{"truncated": n}`; `max_list=None` keeps every item. NaN and infinities
    become None: JSON has no such numbers and PostgreSQL's jsonb refuses them."""
    if isinstance(obj, Decimal):  # first: numeric columns make this the common case in answers
        return _finite(float(obj))
    if obj is None or isinstance(obj, bool | int | str):
        return obj
    if isinstance(obj, float):  # float(): numpy's float64 is a subclass that orjson does not write
        return _finite(float(obj))
    if isinstance(obj, datetime | date | time):
        return obj.isoformat()
    if isinstance(obj, Mapping):
        return {str(k): jsonable(v, max_list=max_list) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set | frozenset):
        items = list(obj)
        if max_list is None or len(items) <= max_list:
            return [jsonable(v, max_list=max_list) for v in items]
        return [jsonable(v, max_list=max_list) for v in items[:max_list]] + [
            {"truncated": len(items) - max_list}
        ]
    return jsonable(_unwrapped(obj), max_list=max_list)


def json_default(value: Any) -> Any:
    """orjson's `default`: what orjson cannot write itself (Decimal, sets, models), made writable."""
    return jsonable(value, max_list=None)


def _finite(number: float) -> float | None:
    return number if math.isfinite(number) else None


def _unwrapped(obj: Any) -> Any:
    """One step towards plain values; `str()` when nothing else fits (always ends the recursion)."""
    if isinstance(obj, Path):
        return str(obj)
    to_json = getattr(obj, "to_json", None)
    if callable(to_json):
        value = to_json()
        return json.loads(value) if isinstance(value, str | bytes) else value
    model_dump = getattr(obj, "model_dump", None)
    if callable(model_dump):
        return model_dump(mode="json")
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
    tolist = getattr(obj, "tolist", None)  # numpy numbers and arrays: Python's own
    if callable(tolist):
        value = tolist()
        return value if value is not obj else str(obj)
    if hasattr(obj, "__dict__"):
        return {k: v for k, v in vars(obj).items() if not k.startswith("_")}
    return str(obj)
