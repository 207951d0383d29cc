"""Draw every panel of the built dashboards from the live database, as Grafana would, to PNG files.

No Grafana server can run on the development machines. This runs each panel's own SQL through the
same macro and variable expansion (chitieu.dashboards.macros), applies the panel's transformations
and field config (units, decimals, value mappings including regex ones with `$1`, thresholds, cell
colours, overrides by name and regex, hidden fields), and draws the result with matplotlib: one PNG
per panel and one per dashboard laid out by the panels' gridPos. Numbers are formatted the way
Grafana formats them (a decimal point), so what Vietnamese readers see with a decimal comma is what
the views already wrote as text.

Variables take the dashboard's default: a multi-value one with "All" gets every option, a single
one its first option (the variable queries order what has data first).
"""

from __future__ import annotations

import math
import re
import textwrap
import unicodedata
from collections.abc import Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import psycopg
from matplotlib.axes import Axes
from matplotlib.patches import Rectangle
from matplotlib.ticker import FuncFormatter

from chitieu.dashboards import build, macros

# Grafana's named colours (light theme), what the panels' configs refer to.
COLORS = {
    "green": "#73BF69",
    "semi-dark-green": "#56A64B",
    "dark-green": "#37872D",
    "yellow": "#FADE2A",
    "orange": "#FF9830",
    "red": "#F2495C",
    "semi-dark-red": "#E02F44",
    "dark-red": "#C4162A",
    "blue": "#5794F2",
    "dark-blue": "#1F60C4",
    "purple": "#B877D9",
    "text": "#C7D0D9",
    "gray": "#9FA7B3",
    "grey": "#9FA7B3",
    "transparent": "#FFFFFF",
}
PALETTE = ["#7EB26D", "#EAB839", "#6ED0E0", "#EF843C", "#E24D42", "#1F78C1", "#BA43A9", "#705DA0", "#508642"]
GRID_W_PX, GRID_H_PX, DPI = 80, 30, 100
# the dashboard's timezone, for the times shown (set while a dashboard is drawn)
DISPLAY_TZ: ContextVar[tzinfo] = ContextVar("DISPLAY_TZ", default=UTC)


@dataclass
class Frame:
    columns: list[str]
    rows: list[list[Any]]
    ref_id: str = "A"
    fmt: str = "table"
    # field config for the frame's numbers from another query (transformation configFromData)
    number_config: dict[str, Any] = field(default_factory=dict)


@dataclass
class PanelPreview:
    dashboard_uid: str
    panel_id: int
    title: str
    type: str
    rows: int
    path: Path | None = None
    error: str | None = None
    frames: list[Frame] = field(default_factory=list)


def color(name: str | None) -> str | None:
    if not name:
        return None
    return COLORS.get(name, name if name.startswith("#") else None)


# --- time range and variables -----------------------------------------------------------------


def parse_relative(text: str, now: datetime) -> datetime:
    """Grafana's relative times: now, now-10y, now+20y/y, now/y, now-30d."""
    m = re.fullmatch(r"now(?:([+-])(\d+)([smhdwMy]))?(?:/([dMy]))?", text)
    if not m:
        return datetime.fromisoformat(text)
    ts = now
    if m.group(1):
        n = int(m.group(2)) * (1 if m.group(1) == "+" else -1)
        unit = m.group(3)
        if unit == "y":
            ts = ts.replace(year=ts.year + n)
        elif unit == "M":
            month = ts.month - 1 + n
            ts = ts.replace(year=ts.year + month // 12, month=month % 12 + 1, day=1)
        else:
            ts = ts + timedelta(seconds=n * macros.interval_seconds(f"1{unit}"))
    if m.group(4) == "y":
        ts = ts.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
    elif m.group(4) == "M":
        ts = ts.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    elif m.group(4) == "d":
        ts = ts.replace(hour=0, minute=0, second=0, microsecond=0)
    return ts


def time_range(model: dict[str, Any], now: datetime) -> tuple[datetime, datetime]:
    return parse_relative(model["time"]["from"], now), parse_relative(model["time"]["to"], now)


def _query(conn: psycopg.Connection, sql: str) -> tuple[list[str], list[list[Any]]]:
    cur = conn.execute(sql.encode())  # panel SQL, expanded (composed at build time, not from input)
    return [d.name for d in cur.description or []], [list(r) for r in cur.fetchall()]


def resolve_variables(
    conn: psycopg.Connection, model: dict[str, Any], rng: tuple[datetime, datetime]
) -> dict[str, macros.VariableValue]:
    values: dict[str, macros.VariableValue] = {}
    for variable in (model.get("templating") or {}).get("list") or []:
        if variable["type"] != "query":
            continue
        sql = macros.expand(variable["query"], time_from=rng[0], time_to=rng[1], variables=values)
        _, rows = _query(conn, sql)
        options = [str(r[0]) for r in rows]
        current = (variable.get("current") or {}).get("value")
        if variable.get("multi"):
            values[variable["name"]] = options if current in (None, "$__all", ["$__all"]) else current
        else:
            chosen = current if current and current != "$__all" and current in options else None
            values[variable["name"]] = chosen or (options[0] if options else "")
    return values


# --- data: queries, transformations, field config ------------------------------------------------


def panel_frames(
    conn: psycopg.Connection,
    panel: dict[str, Any],
    variables: dict[str, macros.VariableValue],
    rng: tuple[datetime, datetime],
) -> list[Frame]:
    frames = []
    for target in panel.get("targets") or []:
        if target.get("hide"):
            continue
        sql = macros.expand(target["rawSql"], time_from=rng[0], time_to=rng[1], variables=variables)
        columns, rows = _query(conn, sql)
        frames.append(Frame(columns, rows, target.get("refId", "A"), target.get("format", "table")))
    for transform in panel.get("transformations") or []:
        frames = transform_frames(frames, transform["id"], transform.get("options") or {})
    return frames


def transform_frames(frames: list[Frame], transform_id: str, options: dict[str, Any]) -> list[Frame]:
    if transform_id == "groupingToMatrix":
        out = []
        for f in frames:
            ci, ri, vi = (f.columns.index(options[k]) for k in ("columnField", "rowField", "valueField"))
            cols: list[Any] = []
            rows: dict[Any, dict[Any, Any]] = {}
            for r in f.rows:
                if r[ci] not in cols:
                    cols.append(r[ci])
                rows.setdefault(r[ri], {})[r[ci]] = r[vi]
            empty = None if options.get("emptyValue") == "null" else ""
            name = f"{options['rowField']}\\{options['columnField']}"
            out.append(
                Frame(
                    [name, *map(str, cols)], [[k, *[v.get(c, empty) for c in cols]] for k, v in rows.items()]
                )
            )
        return out
    if transform_id == "configFromData":
        source = [f for f in frames if f.ref_id == options["configRefId"]]
        rest = [f for f in frames if f.ref_id != options["configRefId"]]
        config: dict[str, Any] = {}
        if source and source[0].rows:
            row = dict(zip(source[0].columns, source[0].rows[0], strict=True))
            config = {
                m["handlerKey"]: row[m["fieldName"]]
                for m in options.get("mappings") or []
                if m["fieldName"] in row
            }
        for f in rest:
            f.number_config.update(config)
        return rest
    if transform_id == "organize":
        excluded = options.get("excludeByName") or {}
        renames = options.get("renameByName") or {}
        out = []
        for f in frames:
            keep = [i for i, c in enumerate(f.columns) if not excluded.get(c)]
            out.append(
                Frame(
                    [renames.get(f.columns[i], f.columns[i]) for i in keep],
                    [[r[i] for i in keep] for r in f.rows],
                )
            )
        return out
    raise ValueError(f"preview does not know transformation {transform_id!r}")


def field_config(panel: dict[str, Any], name: str) -> dict[str, Any]:
    """The panel's defaults with every matching override applied (Grafana's order)."""
    config = dict((panel.get("fieldConfig") or {}).get("defaults") or {})
    config["custom"] = dict(config.get("custom") or {})
    for override in (panel.get("fieldConfig") or {}).get("overrides") or []:
        matcher = override["matcher"]
        if matcher["id"] == "byName":
            hit = matcher.get("options") == name
        elif matcher["id"] == "byRegexp":
            hit = re.fullmatch(str(matcher.get("options")), name) is not None
        else:
            hit = False
        if hit:
            for prop in override.get("properties") or []:
                if prop["id"].startswith("custom."):
                    config["custom"][prop["id"][7:]] = prop.get("value")
                else:
                    config[prop["id"]] = prop.get("value")
    return config


def map_value(value: Any, mappings: Sequence[dict[str, Any]]) -> tuple[str | None, str | None]:
    """Grafana's value mappings: (display text, colour) or (None, None) when none applies."""
    for mapping in mappings or []:
        kind, options = mapping.get("type"), mapping.get("options") or {}
        if kind == "value" and value is not None and str(value) in options:
            result = options[str(value)]
            return result.get("text"), result.get("color")
        if kind == "regex" and value is not None:
            pattern = options.get("pattern", "")
            if re.search(pattern, str(value)):
                result = options.get("result") or {}
                text = re.sub(pattern, _go_replacement(result.get("text") or ""), str(value))
                return text, result.get("color")
        if kind == "range" and isinstance(value, int | float):
            lo, hi = options.get("from"), options.get("to")
            if (lo is None or value >= lo) and (hi is None or value <= hi):
                result = options.get("result") or {}
                return result.get("text"), result.get("color")
        if kind == "special" and value is None and options.get("match") in ("null", "null+nan"):
            result = options.get("result") or {}
            return result.get("text"), result.get("color")
    return None, None


def _go_replacement(text: str) -> str:
    # JavaScript's String.replace writes a group as $1; Python's re.sub as \1
    return re.sub(r"\$(\d)", r"\\\1", text.replace("\\", "\\\\"))


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def threshold_color(value: Any, config: dict[str, Any]) -> str | None:
    steps = (config.get("thresholds") or {}).get("steps") or []
    value = float(value) if isinstance(value, Decimal) else value
    if not steps or not isinstance(value, int | float):
        return None
    chosen = steps[0]["color"]
    for step in steps[1:]:
        if step.get("value") is not None and value >= step["value"]:
            chosen = step["color"]
    return str(chosen)


def format_value(value: Any, config: dict[str, Any]) -> str:
    """A value as Grafana shows it: unit, decimals (auto when unset), a decimal point."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(DISPLAY_TZ.get()).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    decimals = config.get("decimals")
    if decimals is None:
        size = abs(value)
        decimals = 0 if float(value).is_integer() else 1 if size >= 10 else 2 if size >= 1 else 3
    text = f"{value:.{int(decimals)}f}"
    unit = str(config.get("unit") or "")
    if unit == "percent":
        return text + "%"
    if unit.startswith("suffix:"):
        return text + unit[7:]
    if unit.startswith("prefix:"):
        return unit[7:] + text
    return text


@dataclass
class Cell:
    text: str
    background: str | None = None
    foreground: str | None = None


def display_cell(value: Any, config: dict[str, Any]) -> Cell:
    text, mapped = map_value(value, config.get("mappings") or [])
    text = format_value(value, config) if text is None else text
    cell_type = (config.get("custom", {}).get("cellOptions") or {}).get("type", "auto")
    fixed = (
        (config.get("color") or {}).get("fixedColor")
        if (config.get("color") or {}).get("mode") == "fixed"
        else None
    )
    shade = color(mapped) or color(threshold_color(value, config)) or color(fixed)
    if cell_type == "color-background":
        return Cell(text, background=shade)
    if cell_type == "color-text":
        return Cell(text, foreground=shade)
    return Cell(text)


# --- drawing ---------------------------------------------------------------------------------------


def _title(ax: Axes, panel: dict[str, Any]) -> None:
    ax.set_title(panel.get("title", ""), loc="left", fontsize=10, fontweight="bold")


def draw_stat(ax: Axes, panel: dict[str, Any], frames: list[Frame]) -> int:
    ax.axis("off")
    _title(ax, panel)
    values = [(c, r[i]) for f in frames for r in f.rows[-1:] for i, c in enumerate(f.columns)]
    if not values:
        ax.text(0.5, 0.5, "No data", ha="center", va="center", fontsize=14, color="#888")
        return 0
    # several fields side by side, each with its own config (Grafana's stat with values: false)
    width = 1 / len(values)
    for n, (name, value) in enumerate(values):
        config = field_config(panel, name)
        cell = display_cell(value, {**config, "custom": {"cellOptions": {"type": "color-background"}}})
        ax.add_patch(
            Rectangle((n * width, 0), width, 1, transform=ax.transAxes, color=cell.background or "#F4F5F5")
        )
        ax.text(
            (n + 0.5) * width,
            0.45,
            cell.text,
            ha="center",
            va="center",
            fontsize=24,
            fontweight="bold",
            color="#111",
            transform=ax.transAxes,
        )
    return 1


def draw_table(ax: Axes, panel: dict[str, Any], frames: list[Frame], height_px: int) -> int:
    ax.axis("off")
    _title(ax, panel)
    frame = frames[0] if frames else Frame([], [])
    shown = [i for i, c in enumerate(frame.columns) if not field_config(panel, c)["custom"].get("hidden")]
    if not frame.rows:
        ax.text(0.5, 0.5, "No data", ha="center", va="center", fontsize=12, color="#888")
        return 0
    rows = frame.rows
    for sort in (panel.get("options") or {}).get("sortBy") or []:
        idx = frame.columns.index(sort["displayName"]) if sort["displayName"] in frame.columns else None
        if idx is not None:
            rows = sorted(rows, key=lambda r: (r[idx] is None, r[idx]), reverse=bool(sort.get("desc")))
    capacity = max(1, height_px // 22 - 2)
    rows = rows[:capacity]
    configs = {i: field_config(panel, frame.columns[i]) for i in shown}
    headers = [str(configs[i].get("displayName") or frame.columns[i]) for i in shown]
    cells = [
        [
            display_cell(r[i], {**configs[i], **frame.number_config} if _is_number(r[i]) else configs[i])
            for i in shown
        ]
        for r in rows
    ]
    widths = [configs[i]["custom"].get("width") for i in shown]
    width_total = sum(w or 110 for w in widths)
    wrap = [
        max(6, int((w or 110) / width_total * 24 * GRID_W_PX / 6.2 * (panel["gridPos"]["w"] / 24)))
        for w in widths
    ]
    text = [[textwrap.shorten(c.text, wrap[j], placeholder="…") for j, c in enumerate(row)] for row in cells]
    table = ax.table(
        cellText=text,
        colLabels=[textwrap.shorten(h, wrap[j], placeholder="…") for j, h in enumerate(headers)],
        cellColours=[[c.background or "#FFFFFF" for c in row] for row in cells],
        colWidths=[(w or 110) / width_total for w in widths],
        loc="upper left",
        cellLoc="left",
    )
    table.auto_set_font_size(False)
    table.set_fontsize(7.5)
    for (r, col), cell in table.get_celld().items():
        cell.set_edgecolor("#DDDDDD")
        cell.set_height(1 / (len(rows) + 1.5) if len(rows) + 1 > capacity / 2 else 0.9 / (capacity + 1))
        if r == 0:
            cell.set_text_props(fontweight="bold")
            cell.set_facecolor("#F4F5F5")
        elif cells[r - 1][col].foreground:
            cell.set_text_props(color=cells[r - 1][col].foreground, fontweight="bold")
    return len(frame.rows)


def series_of(frames: list[Frame]) -> list[tuple[str, list[datetime], list[float | None]]]:
    series: dict[str, tuple[list[datetime], list[float | None]]] = {}
    for f in frames:
        if not f.rows:
            continue
        ti = f.columns.index("time")
        if "metric" in f.columns:
            mi, vi = f.columns.index("metric"), f.columns.index("value")
            for r in f.rows:
                xs, ys = series.setdefault(str(r[mi]), ([], []))
                xs.append(r[ti])
                ys.append(None if r[vi] is None else float(r[vi]))
        else:
            for i, c in enumerate(f.columns):
                if i == ti:
                    continue
                xs, ys = series.setdefault(c, ([], []))
                for r in f.rows:
                    xs.append(r[ti])
                    ys.append(None if r[i] is None else float(r[i]))
    return [(name, xs, ys) for name, (xs, ys) in series.items()]


def _xy(xs: list[datetime], ys: list[float | None]) -> tuple[Any, list[float]]:
    return mdates.date2num(xs), [math.nan if y is None else y for y in ys]


def draw_timeseries(ax: Axes, panel: dict[str, Any], frames: list[Frame]) -> int:
    _title(ax, panel)
    all_series = series_of(frames)
    if not all_series:
        ax.axis("off")
        ax.text(0.5, 0.5, "No data", ha="center", va="center", fontsize=12, color="#888")
        return 0
    bars = (panel["fieldConfig"]["defaults"].get("custom") or {}).get("drawStyle") == "bars"
    for n, (name, times, values) in enumerate(all_series):
        xs, ys = _xy(times, values)
        config = field_config(panel, name)
        custom = config["custom"]
        fixed = color((config.get("color") or {}).get("fixedColor"))
        if (config.get("color") or {}).get("mode") != "fixed":
            fixed = None
        line_color = fixed or PALETTE[n % len(PALETTE)]
        style = custom.get("lineStyle") or {}
        dashes = style.get("dash") if style.get("fill") == "dash" else None
        points = custom.get("showPoints", "always") != "never"
        label = str(config.get("displayName") or name)
        if bars:
            ax.bar(
                xs,
                [0 if math.isnan(y) else y for y in ys],
                width=0.8,
                color=line_color,
                label=label,
                alpha=0.8,
            )
        elif custom.get("drawStyle") == "points":
            ax.scatter(xs, ys, s=(custom.get("pointSize") or 5) * 8, color=line_color, label=label, zorder=3)
        else:
            ax.plot(
                xs,
                ys,
                color=line_color,
                label=label,
                linewidth=custom.get("lineWidth") or 2,
                dashes=dashes or (None, None),
                marker="o" if points else None,
                markersize=(custom.get("pointSize") or 5) / 1.5,
            )
    unit_config = {**panel["fieldConfig"]["defaults"], **(frames[0].number_config if frames else {})}
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: format_value(v, unit_config)))
    ax.xaxis.set_major_locator(mdates.YearLocator())
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y"))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=6.5, loc="upper left", ncol=2 if len(all_series) > 6 else 1, framealpha=0.7)
    return sum(len(xs) for _, xs, _ in all_series)


def draw_barchart(ax: Axes, panel: dict[str, Any], frames: list[Frame]) -> int:
    _title(ax, panel)
    frame = frames[0] if frames else Frame([], [])
    if not frame.rows:
        ax.axis("off")
        ax.text(0.5, 0.5, "No data", ha="center", va="center", fontsize=12, color="#888")
        return 0
    x_field = (panel.get("options") or {}).get("xField") or frame.columns[0]
    xi = frame.columns.index(x_field)
    labels = [str(r[xi]) for r in frame.rows]
    stacked = (panel.get("options") or {}).get("stacking") == "normal"
    bottom = [0.0] * len(labels)
    positions = list(range(len(labels)))
    numeric = [i for i in range(len(frame.columns)) if i != xi]
    for n, i in enumerate(numeric):
        name = frame.columns[i]
        config = field_config(panel, name)
        fixed = (
            color((config.get("color") or {}).get("fixedColor"))
            if (config.get("color") or {}).get("mode") == "fixed"
            else None
        )
        values = [float(r[i] or 0) for r in frame.rows]
        if stacked:
            ax.barh(positions, values, left=bottom, color=fixed or PALETTE[n % len(PALETTE)], label=name)
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        else:
            ax.barh(positions, values, color=fixed or PALETTE[n % len(PALETTE)], label=name)
    ax.set_yticks(positions, [textwrap.shorten(x, 38, placeholder="…") for x in labels], fontsize=7)
    ax.invert_yaxis()
    ax.grid(alpha=0.3, axis="x")
    if len(numeric) > 1:
        ax.legend(fontsize=6.5, loc="lower right")
    return len(frame.rows)


def draw_text(ax: Axes, panel: dict[str, Any]) -> int:
    ax.axis("off")
    _title(ax, panel)
    content = (panel.get("options") or {}).get("content") or ""
    ax.text(
        0, 0.95, "\n".join(textwrap.fill(line, 160) for line in content.splitlines()), va="top", fontsize=7.5
    )
    return 1


def draw(ax: Axes, panel: dict[str, Any], frames: list[Frame], height_px: int) -> int:
    kind = panel["type"]
    if kind == "stat":
        return draw_stat(ax, panel, frames)
    if kind == "table":
        return draw_table(ax, panel, frames, height_px)
    if kind == "timeseries":
        return draw_timeseries(ax, panel, frames)
    if kind == "barchart":
        return draw_barchart(ax, panel, frames)
    if kind == "text":
        return draw_text(ax, panel)
    raise ValueError(f"preview cannot draw panel type {kind!r}")


def _slug(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text.lower().replace("đ", "d")).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", plain).strip("-")[:40]


def render_dashboard(
    conn: psycopg.Connection, uid: str, model: dict[str, Any], out_dir: Path, now: datetime
) -> list[PanelPreview]:
    DISPLAY_TZ.set(ZoneInfo(model["timezone"]) if model.get("timezone") not in (None, "", "browser") else UTC)
    rng = time_range(model, now)
    variables = resolve_variables(conn, model, rng)
    target = out_dir / uid
    target.mkdir(parents=True, exist_ok=True)
    for old in target.glob("*.png"):  # a panel renamed or removed leaves no stale picture
        old.unlink()
    panels = [p for p in model["panels"] if p["type"] != "row"]
    bottom = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in model["panels"])
    whole = plt.figure(figsize=(24 * GRID_W_PX / DPI, bottom * GRID_H_PX / DPI), dpi=DPI)
    results = []
    for panel in panels:
        pos = panel["gridPos"]
        result = PanelPreview(uid, panel["id"], panel["title"], panel["type"], 0)
        try:
            result.frames = panel_frames(conn, panel, variables, rng)
        except psycopg.Error as exc:
            conn.rollback()
            result.error = str(exc).strip()
        width_px, height_px = pos["w"] * GRID_W_PX, pos["h"] * GRID_H_PX
        figure = plt.figure(figsize=(width_px / DPI, height_px / DPI), dpi=DPI)
        ax = figure.add_axes(
            (0.06, 0.1, 0.9, 0.78)
            if panel["type"] in ("timeseries", "barchart")
            else (0.01, 0.02, 0.98, 0.88)
        )
        if panel["type"] == "barchart":
            ax.set_position((0.3, 0.1, 0.66, 0.78))
        result.rows = draw(ax, panel, result.frames, height_px) if result.error is None else 0
        result.path = target / f"{panel['id']:02d}-{_slug(panel['title'])}.png"
        figure.savefig(result.path)
        plt.close(figure)
        box = (
            pos["x"] / 24 + 0.004,
            1 - (pos["y"] + pos["h"]) / bottom + 0.004,
            pos["w"] / 24 - 0.008,
            pos["h"] / bottom - 0.012,
        )
        inner = whole.add_axes(box)
        if panel["type"] in ("timeseries", "barchart"):
            left = 0.25 if panel["type"] == "barchart" else 0.05
            inner.set_position(
                (box[0] + box[2] * left, box[1] + box[3] * 0.08, box[2] * (0.97 - left), box[3] * 0.8)
            )
        if result.error is None:
            draw(inner, panel, result.frames, height_px)
        results.append(result)
    whole.savefig(target / "_dashboard.png")
    plt.close(whole)
    return results


def render(conn: psycopg.Connection, out_dir: Path, now: datetime | None = None) -> list[PanelPreview]:
    """Every panel of every built dashboard, drawn from `conn`'s data into `out_dir`."""
    now = now or datetime.now(UTC)
    results = []
    for uid, model in build.dashboard_models().items():
        results.extend(render_dashboard(conn, uid, model, out_dir, now))
    return results
