"""Shared defaults and panel factories for the Chỉ Tiêu dashboards (grafana-foundation-sdk).

The foundation SDK has no PostgreSQL query builder, so `SqlQuery` registers a raw-SQL query type for
the `grafana-postgresql-datasource` plugin, as in the SDK's custom-query example. Every panel and
query names its datasource through the `${datasource}` variable, whose default is the provisioned
datasource uid `chitieu-timescaledb`.
"""

from __future__ import annotations

import json
import textwrap
from typing import Any, Literal, Self

from grafana_foundation_sdk.builders import barchart as barchart_builder
from grafana_foundation_sdk.builders import common as common_builder
from grafana_foundation_sdk.builders import dashboard, stat, table, timeseries
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog import runtime as cogruntime
from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.cog.plugins import register_default_plugins
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models.dashboard import (
    DashboardCursorSync,
    DataSourceRef,
    DataTransformerConfig,
    DynamicConfigValue,
    Panel,
    RangeMap,
    RegexMap,
    SpecialValueMap,
    Threshold,
    ThresholdsMode,
    ValueMap,
    ValueMappingResult,
    VariableOption,
    VariableRefresh,
    VariableSort,
)

from chitieu import statuses
from chitieu.vietnam_time import TZ_NAME

PLUGIN = "grafana-postgresql-datasource"
DATASOURCE_UID = "chitieu-timescaledb"
DATASOURCE_NAME = "Chỉ Tiêu TimescaleDB"
FOLDER_UID = "chitieu"
FOLDER_TITLE = "Chỉ Tiêu"
DATASOURCE = DataSourceRef(type_val=PLUGIN, uid="${datasource}")
TAGS = ["chitieu", "nq57"]
# Annotations pushed by `chitieu dashboards push` carry this tag (plus their own key tag).
ANNOTATION_TAG = "chitieu"

Format = Literal["table", "time_series"]
PanelBuilder = cogbuilder.Builder[Panel]


class SqlQuery(cogvariants.Dataquery):
    """A raw SQL target of the PostgreSQL datasource (code mode)."""

    def __init__(
        self,
        raw_sql: str = "",
        ref_id: str | None = None,
        fmt: Format = "table",
        hide: bool | None = None,
        datasource: DataSourceRef | None = None,
    ) -> None:
        self.raw_sql = raw_sql
        self.ref_id = ref_id
        self.fmt = fmt
        self.hide = hide
        self.datasource = datasource or DATASOURCE

    def to_json(self) -> dict[str, object]:
        payload: dict[str, object] = {
            "datasource": self.datasource.to_json(),
            "editorMode": "code",
            "format": self.fmt,
            "rawQuery": True,
            "rawSql": self.raw_sql,
        }
        if self.ref_id is not None:
            payload["refId"] = self.ref_id
        if self.hide is not None:
            payload["hide"] = self.hide
        return payload

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Self:
        ds = data.get("datasource") or {}
        return cls(
            raw_sql=data.get("rawSql", ""),
            ref_id=data.get("refId"),
            fmt=data.get("format", "table"),
            hide=data.get("hide"),
            datasource=DataSourceRef(type_val=ds.get("type"), uid=ds.get("uid")),
        )


class Sql(cogbuilder.Builder[SqlQuery]):
    """Builder for `SqlQuery`: `Sql("SELECT ...").ref_id("A").format("time_series")`."""

    def __init__(self, raw_sql: str) -> None:
        self._internal = SqlQuery(raw_sql=_dedent(raw_sql))

    def build(self) -> SqlQuery:
        return self._internal

    def ref_id(self, ref_id: str) -> Self:
        self._internal.ref_id = ref_id
        return self

    def format(self, fmt: Format) -> Self:
        self._internal.fmt = fmt
        return self

    def hide(self, hide: bool) -> Self:
        self._internal.hide = hide
        return self

    def datasource(self, datasource: DataSourceRef) -> Self:
        self._internal.datasource = datasource
        return self


def sql_variant_config() -> cogruntime.DataqueryConfig:
    return cogruntime.DataqueryConfig(identifier=PLUGIN, from_json_hook=SqlQuery.from_json)


_registered = False


def register_plugins() -> None:
    """Let cog unmarshal our dashboards (default plugins + the raw-SQL query type)."""
    global _registered
    if not _registered:
        register_default_plugins()
        cogruntime.register_dataquery_variant(sql_variant_config())
        _registered = True


def describe(vi: str, en: str) -> str:
    """A panel's help text: Vietnamese first, English after it."""
    return f"{vi}\n\nEN: {en}"


def _dedent(text: str) -> str:
    return "\n".join(line.rstrip() for line in textwrap.dedent(text).strip().splitlines())


def sql(raw_sql: str, ref_id: str = "A", fmt: Format = "table") -> Sql:
    return Sql(raw_sql).ref_id(ref_id).format(fmt)


# --- variables ------------------------------------------------------------------------------------


def datasource_variable() -> dashboard.DatasourceVariable:
    return (
        dashboard.DatasourceVariable("datasource")
        .label("Nguồn dữ liệu")
        .type(PLUGIN)
        .current(VariableOption(selected=True, text=DATASOURCE_NAME, value=DATASOURCE_UID))
    )


def query_variable(
    name: str, label: str, query: str, *, multi: bool, description: str
) -> dashboard.QueryVariable:
    """Options in the query's own order (sort disabled): the queries list what has data first, so a
    single-value variable opens on something to show."""
    variable = (
        dashboard.QueryVariable(name)
        .label(label)
        .description(description)
        .query(_dedent(query))
        .datasource(DATASOURCE)
        .refresh(VariableRefresh.ON_DASHBOARD_LOAD)
        .sort(VariableSort.DISABLED)
        .multi(multi)
        .include_all(multi)
    )
    if multi:
        variable = variable.current(VariableOption(selected=True, text="All", value="$__all"))
    return variable


def plan_variable() -> dashboard.QueryVariable:
    return query_variable(
        "plan",
        "Kế hoạch",
        """
        SELECT id AS __value, coalesce(jurisdiction_name || ' – ', '') || document_number AS __text
        FROM dash_plans ORDER BY kind DESC, 2
        """,
        multi=True,
        description=describe(
            "Các chương trình, kế hoạch thực hiện Nghị quyết 57-NQ/TW.",
            "Plans implementing Resolution 57-NQ/TW.",
        ),
    )


def jurisdiction_variable() -> dashboard.QueryVariable:
    """One jurisdiction at a time (a chart of one territory's series, path and projection)."""
    return query_variable(
        "jurisdiction",
        "Địa bàn",
        """
        SELECT jurisdiction_id AS __value, jurisdiction_name AS __text
        FROM dash_variable_options WHERE plan_id IN ($plan)
        GROUP BY jurisdiction_id, jurisdiction_name, jurisdiction_level
        ORDER BY bool_or(has_data) DESC, jurisdiction_level = 'national', jurisdiction_name
        """,
        multi=False,
        description=describe(
            "Tỉnh (hoặc cả nước) có chỉ tiêu trong các kế hoạch đã chọn; nơi có số liệu đứng trước.",
            "Jurisdictions with targets in the selected plans, those with data first.",
        ),
    )


def indicator_variable(*, filtered: bool = True) -> dashboard.QueryVariable:
    if filtered:
        query = """
        SELECT indicator_code AS __value, indicator_name AS __text
        FROM dash_variable_options WHERE plan_id IN ($plan) AND jurisdiction_id = ${jurisdiction:sqlstring}
        GROUP BY indicator_code, indicator_name
        ORDER BY bool_or(has_data) DESC, indicator_name
        """
    else:
        query = """
        SELECT code AS __value, name_vi AS __text
        FROM dash_indicators ORDER BY national_series DESC, province_series DESC, name_vi
        """
    return query_variable(
        "indicator",
        "Chỉ tiêu",
        query,
        multi=False,
        description=describe(
            "Một chỉ tiêu; chỉ tiêu có số liệu đứng trước.", "One indicator, those with data first."
        ),
    )


# --- field config helpers --------------------------------------------------------------------------


def status_mappings() -> list[ValueMap | RangeMap | RegexMap | SpecialValueMap]:
    """Status key -> its Vietnamese label and colour, from the one vocabulary (chitieu.statuses)."""
    options = {
        s.key: ValueMappingResult(text=s.label_vi, color=s.color, index=i)
        for i, s in enumerate(statuses.STATUSES)
    }
    return [ValueMap(options=options)]


def value_mappings(options: dict[str, tuple[str, str]]) -> list[dict[str, Any]]:
    """A Grafana value mapping: raw value -> (display text, colour)."""
    return [
        {
            "type": "value",
            "options": {
                k: {"text": text, "color": color, "index": i}
                for i, (k, (text, color)) in enumerate(options.items())
            },
        }
    ]


def mapped_column(
    options: dict[str, tuple[str, str]], *, background: bool = False, width: int | None = None
) -> list[DynamicConfigValue]:
    """Field-config properties of a column whose raw values are shown as words in colour."""
    cells = colored_cells().to_json() if background else {"type": "color-text"}
    props = [prop("mappings", value_mappings(options)), prop("custom.cellOptions", cells)]
    return props + ([prop("custom.width", width)] if width else [])


# Status of a figure (observations.status).
OBSERVATION_STATUS = {"final": ("chính thức", "green"), "provisional": ("sơ bộ", "orange")}


def thresholds(*steps: tuple[float | None, str]) -> dashboard.ThresholdsConfig:
    return (
        dashboard.ThresholdsConfig()
        .mode(ThresholdsMode.ABSOLUTE)
        .steps([Threshold(value=value, color=color) for value, color in steps])
    )


def prop(prop_id: str, value: object) -> DynamicConfigValue:
    return DynamicConfigValue(id_val=prop_id, value=value)


def transformation(transform_id: str, options: dict[str, object]) -> DataTransformerConfig:
    return DataTransformerConfig(id_val=transform_id, options=options)


def colored_cells() -> common.TableColoredBackgroundCellOptions:
    return common.TableColoredBackgroundCellOptions(mode=common.TableCellBackgroundDisplayMode.BASIC)


# --- panels ---------------------------------------------------------------------------------------


def table_panel(title: str, description: str, query: Sql, *, w: int = 24, h: int = 8) -> table.Panel:
    return (
        table.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .with_target(query)
        .span(w)
        .height(h)
        .filterable(True)
        .cell_height(common.TableCellHeight.SM)
        .cell_options(common.TableAutoCellOptions())
    )


def stat_panel(title: str, description: str, query: Sql, *, w: int = 6, h: int = 4) -> stat.Panel:
    return (
        stat.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .with_target(query)
        .span(w)
        .height(h)
        .reduce_options(common_builder.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
        .color_mode(common.BigValueColorMode.BACKGROUND)
        .graph_mode(common.BigValueGraphMode.NONE)
    )


def timeseries_panel(
    title: str, description: str, *queries: Sql, w: int = 24, h: int = 10
) -> timeseries.Panel:
    panel = (
        timeseries.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .span(w)
        .height(h)
        .line_width(2)
        .show_points(common.VisibilityMode.ALWAYS)
        .point_size(5)
        .span_nulls(True)
        .legend(
            common_builder.VizLegendOptions()
            .display_mode(common.LegendDisplayMode.TABLE)
            .placement(common.LegendPlacement.BOTTOM)
            .show_legend(True)
            .calcs(["lastNotNull"])
        )
        .tooltip(
            common_builder.VizTooltipOptions()
            .mode(common.TooltipDisplayMode.MULTI)
            .sort(common.SortOrder.NONE)
        )
    )
    for query in queries:
        panel = panel.with_target(query)
    return panel


def barchart_panel(
    title: str, description: str, query: Sql, *, x_field: str, w: int = 12, h: int = 8, stacked: bool = False
) -> barchart_builder.Panel:
    return (
        barchart_builder.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .with_target(query)
        .span(w)
        .height(h)
        .x_field(x_field)
        .stacking(common.StackingMode.NORMAL if stacked else common.StackingMode.NONE)
        .show_value(common.VisibilityMode.AUTO)
        .legend(
            common_builder.VizLegendOptions()
            .display_mode(common.LegendDisplayMode.LIST)
            .placement(common.LegendPlacement.BOTTOM)
            .show_legend(True)
        )
    )


def text_row(title: str) -> dashboard.Row:
    return dashboard.Row(title)


def annotation_queries() -> list[dashboard.AnnotationQuery]:
    """Built-in annotations plus those `chitieu dashboards push` writes (alerts, revisions)."""
    grafana = DataSourceRef(type_val="grafana", uid="-- Grafana --")
    return [
        dashboard.AnnotationQuery()
        .name("Annotations & Alerts")
        .datasource(grafana)
        .enable(True)
        .hide(True)
        .icon_color("rgba(0, 211, 255, 1)")
        .type("dashboard")
        .built_in(1),
        dashboard.AnnotationQuery()
        .name("Cảnh báo và hiệu chỉnh số liệu")
        .datasource(grafana)
        .enable(True)
        .hide(False)
        .icon_color("orange")
        .target(dashboard.AnnotationTarget().type("tags").tags([ANNOTATION_TAG]).match_any(True).limit(500)),
    ]


def new_dashboard(
    uid: str, title: str, description: str, *, time_from: str, time_to: str
) -> dashboard.Dashboard:
    builder = (
        dashboard.Dashboard(title)
        .uid(uid)
        .description(description)
        .tags(TAGS)
        .editable()
        .timezone(TZ_NAME)  # times are stored in UTC and shown in Vietnam's time
        .time(time_from, time_to)
        .refresh("")
        .tooltip(DashboardCursorSync.CROSSHAIR)
        .with_variable(datasource_variable())
    )
    for annotation in annotation_queries():
        builder = builder.annotation(annotation)
    return builder


def assign_panel_ids(model: Any) -> Any:
    """Stable panel ids 1..n in layout order (Grafana would otherwise number them on save)."""
    next_id = 1
    for panel in model.panels or []:
        panel.id_val = next_id
        next_id += 1
        for inner in getattr(panel, "panels", None) or []:
            inner.id_val = next_id
            next_id += 1
    return model


# Keys the SDK's model classes always write but Grafana ignores where they appear: interval-variable
# settings on other variables, a repeat direction without a repeat, and the table footer when it
# is off (dropped from the table's options in Grafana 12). @grafana/schema's VariableModel has no
# `auto*` keys; a test type-checks the built dashboards against it.
_INTERVAL_ONLY = ("auto", "auto_count", "auto_min")


def drop_ignored_keys(model: dict[str, Any]) -> dict[str, Any]:
    for variable in (model.get("templating") or {}).get("list") or []:
        if variable.get("type") != "interval":
            for key in _INTERVAL_ONLY:
                variable.pop(key, None)
    for panel in model.get("panels") or []:
        for inner in [panel, *(panel.get("panels") or [])]:
            if not inner.get("repeat"):
                inner.pop("repeatDirection", None)
                inner.pop("maxPerRow", None)
            footer = (inner.get("options") or {}).get("footer")
            if isinstance(footer, dict) and not footer.get("show"):
                inner["options"].pop("footer")
    return model


def to_json(model: Any) -> str:
    """Deterministic JSON: sorted keys, two-space indent, trailing newline."""
    text = JSONEncoder(sort_keys=True, indent=2, ensure_ascii=False).encode(model)
    # Round-trip through json so that key order is sorted at every depth whatever the encoder did.
    data = json.loads(text)
    if isinstance(data, dict) and "panels" in data:
        data = drop_ignored_keys(data)
    return json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
