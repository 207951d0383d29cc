"""Turn the summaries other modules return (dataclasses, pydantic models, objects with to_json)
into small JSON values for XCom and reports. Data frames never go through here."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

MAX_LIST = 20  # XCom carries summaries, not data: long lists are cut with a count


def jsonable(obj: Any, *, max_list: int = MAX_LIST) -> Any:
    if obj is None or isinstance(obj, bool | int | float | str):
        return obj
    if isinstance(obj, datetime | date):
        return obj.isoformat()
    if isinstance(obj, Decimal):
        return float(obj)
    if isinstance(obj, Path):
        return str(obj)
    to_json = getattr(obj, "to_json", None)
    if callable(to_json):
        value = to_json()
        return jsonable(json.loads(value) if isinstance(value, str | bytes) else value, max_list=max_list)
    model_dump = getattr(obj, "model_dump", None)
    if callable(model_dump):
        return jsonable(model_dump(mode="json"), max_list=max_list)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return jsonable({f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}, max_list=max_list)
    if isinstance(obj, Mapping):
        return {str(k): jsonable(v, max_list=max_list) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set | frozenset):
        items = list(obj)
        out = [jsonable(v, max_list=max_list) for v in items[:max_list]]
        if len(items) > max_list:
            out.append({"truncated": len(items) - max_list})
        return out
    if hasattr(obj, "__dict__"):
        return jsonable({k: v for k, v in vars(obj).items() if not k.startswith("_")}, max_list=max_list)
    return str(obj)
