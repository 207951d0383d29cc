"""JSON written by PostgreSQL with the same bytes as `chitieu.api.cache.dumps` (orjson) writes for the
values psycopg reads from the same columns, so that a page can be built in the database and passed
through: no Python object per value, and the same body (hence the same ETag) either way.

`row_to_json` is compact like orjson (json_build_object and json_agg add spaces); text, integers,
booleans and text arrays come out alike. Two kinds differ and are formatted here:
- double precision: both print the shortest digits that read back the same number, but orjson
  writes decimal notation for decimal exponents -5..15 with `.0` on whole numbers (`2.0`, `0.00001`,
  `1e-6`, `1e+16`), PostgreSQL for -4..14 without (`2`, `1e-05`); NaN and infinities are null in
  orjson. Relies on the default extra_float_digits (1: shortest digits), as psycopg's float loader does.
- timestamptz: orjson writes six digits of microseconds or none, PostgreSQL trims trailing zeros;
  both write the session time zone's offset as +HH:MM.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

Kind = Literal["text", "int", "float", "bool", "datetime", "list"]


def _float(e: str) -> str:
    # The usual magnitudes first, where only whole numbers differ; NaN compares above every number.
    return f"""(CASE WHEN abs({e}) >= '1e-4'::float8 AND abs({e}) < '1e15'::float8
            THEN CASE WHEN {e} = trunc({e}) THEN {e}::text || '.0' ELSE {e}::text END
        WHEN {e} = 'NaN'::float8 OR {e} IN ('Infinity'::float8, '-Infinity'::float8) THEN 'null'
        WHEN {e} = 0 THEN CASE WHEN {e}::text = '-0' THEN '-0.0' ELSE '0.0' END
        WHEN abs({e}) >= '1e16'::float8 OR abs({e}) < '1e-5'::float8
            THEN regexp_replace({e}::text, 'e([+-])0*', 'e\\1')
        ELSE regexp_replace({e}::text::numeric::text, '^(-?[0-9]+)$', '\\1.0') END)::json"""


def _datetime(e: str) -> str:
    return f"""to_char({e}, CASE WHEN date_trunc('second', {e}) = {e} THEN 'YYYY-MM-DD"T"HH24:MI:SSTZH:TZM'
                                   ELSE 'YYYY-MM-DD"T"HH24:MI:SS.USTZH:TZM' END)"""


def value(expr: str, kind: Kind) -> str:
    """The SQL of `expr` as row_to_json must see it to write what orjson writes for its value."""
    if kind == "float":
        return _float(expr)
    if kind == "datetime":
        return _datetime(expr)
    return expr


def row_object(fields: Sequence[tuple[str, str, Kind]]) -> str:
    """A scalar subquery: the JSON object of the fields (name, SQL expression, kind), in their order."""
    columns = ", ".join(f'{value(expr, kind)} AS "{name}"' for name, expr, kind in fields)
    return f"(SELECT row_to_json(x) FROM (SELECT {columns}) x)"
