"""The Grafana macro / template-variable expander used to run panel SQL outside Grafana."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chitieu.dashboards.macros import MacroError, expand, interval_seconds

FROM = datetime(2024, 1, 1, tzinfo=UTC)
TO = datetime(2024, 1, 2, 12, 30, tzinfo=UTC)


def _x(sql: str, **variables: object) -> str:
    return expand(sql, time_from=FROM, time_to=TO, variables=variables)  # type: ignore[arg-type]


def test_time_macros() -> None:
    assert _x("WHERE $__timeFilter(t)") == "WHERE t BETWEEN '2024-01-01T00:00:00Z' AND '2024-01-02T12:30:00Z'"
    assert _x('$__timeFilter("time")') == "\"time\" BETWEEN '2024-01-01T00:00:00Z' AND '2024-01-02T12:30:00Z'"
    assert _x("x >= $__timeFrom() AND x < $__timeTo()") == (
        "x >= '2024-01-01T00:00:00Z' AND x < '2024-01-02T12:30:00Z'"
    )
    assert _x("$__unixEpochFilter(e)") == "e >= 1704067200 AND e <= 1704198600"
    assert _x("$__unixEpochFrom()-$__unixEpochTo()") == "1704067200-1704198600"
    assert _x("$__time(c)") == 'c AS "time"'


def test_time_group_uses_time_bucket() -> None:
    assert (
        _x("SELECT $__timeGroupAlias(started_at, 1d)")
        == "SELECT time_bucket('86400s',started_at) AS \"time\""
    )
    assert _x("$__timeGroup(c, '5m')") == "time_bucket('300s',c)"
    assert interval_seconds("1y") == 365 * 86400
    with pytest.raises(MacroError):
        _x("$__timeGroup(c)")


def test_variables_multi_single_and_formats() -> None:
    assert _x("plan_id IN ($plan)", plan=["a", "b'c"]) == "plan_id IN ('a','b''c')"
    assert _x("x = '$one'", one="v") == "x = 'v'"
    assert _x("x = ${one:sqlstring}", one="it's") == "x = 'it''s'"
    assert _x("x IN (${m:csv})", m=["1", "2"]) == "x IN (1,2)"
    assert _x("x = [[one]]", one="7") == "x = 7"
    assert _x("x = ${m}", m=["only"]) == "x = 'only'"


def test_unknown_variable_or_macro_is_an_error() -> None:
    with pytest.raises(MacroError):
        _x("x = $missing")
    with pytest.raises(MacroError):
        _x("$__nope(x)")
    with pytest.raises(MacroError):
        _x("${one:weird}", one="x")
