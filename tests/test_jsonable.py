"""The one JSON coercion: what pipeline summaries, upload reports and API answers are made of."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import numpy as np
import orjson
from pydantic import BaseModel

from chitieu.jsonable import MAX_LIST, json_default, jsonable


@dataclasses.dataclass
class _Counts:
    loaded: int
    when: date


class _Model(BaseModel):
    name: str
    share: float


class _Exported:
    def to_json(self) -> str:
        return '{"rows": 3}'


def test_values_become_plain_json() -> None:
    value = {
        "decimal": Decimal("12.50"),
        "int64": np.int64(7),
        "float64": np.float64(0.25),
        "bool": np.bool_(True),
        "nan": float("nan"),
        "numpy_nan": np.float64("nan"),
        "infinite": Decimal("Infinity"),
        "moment": datetime(2025, 7, 1, 8, 30, tzinfo=UTC),
        "path": Path("/srv/a.xlsx"),
        "dataclass": _Counts(3, date(2025, 7, 1)),
        "model": _Model(name="Ninh Thuận", share=9.26),
        "exported": _Exported(),
        2024: "a number as a key",
        "set": {1},
    }
    out = jsonable(value)
    assert out == {
        "decimal": 12.5,
        "int64": 7,
        "float64": 0.25,
        "bool": True,
        "nan": None,
        "numpy_nan": None,
        "infinite": None,
        "moment": "2025-07-01T08:30:00+00:00",
        "path": "/srv/a.xlsx",
        "dataclass": {"loaded": 3, "when": "2025-07-01"},
        "model": {"name": "Ninh Thuận", "share": 9.26},
        "exported": {"rows": 3},
        "2024": "a number as a key",
        "set": [1],
    }
    # Plain: the standard library writes it without help, and PostgreSQL's jsonb would take it.
    assert type(out["int64"]) is int
    assert type(out["float64"]) is float
    json.dumps(out, allow_nan=False)


def test_summaries_cut_long_lists_and_reports_keep_them() -> None:
    rows = list(range(MAX_LIST + 5))
    assert jsonable(rows) == [*range(MAX_LIST), {"truncated": 5}]
    assert jsonable({"rows": rows}, max_list=None) == {"rows": rows}


def test_orjson_default_agrees_with_jsonable() -> None:
    value = {"share": Decimal("6.45"), "n": np.int64(3), "labels": frozenset({"a"}), "nan": Decimal("NaN")}
    written = orjson.loads(orjson.dumps(value, default=json_default))
    assert written == jsonable(value) == {"share": 6.45, "n": 3, "labels": ["a"], "nan": None}
