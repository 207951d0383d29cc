"""Every SQL query the dashboards and alert rules run, for tests and the panel benchmark."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from chitieu.dashboards import alert_rules, build


@dataclass(frozen=True)
class PanelQuery:
    dashboard_uid: str
    panel_id: int
    panel_title: str
    ref_id: str
    raw_sql: str
    fmt: str

    @property
    def label(self) -> str:
        return f"{self.dashboard_uid}#{self.panel_id} {self.panel_title} [{self.ref_id}]"


def _panels(model: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in model.get("panels") or []:
        yield panel
        yield from panel.get("panels") or []


def panel_queries(models: dict[str, dict[str, Any]] | None = None) -> list[PanelQuery]:
    models = models if models is not None else build.dashboard_models()
    out = []
    for uid, model in models.items():
        for panel in _panels(model):
            for target in panel.get("targets") or []:
                out.append(
                    PanelQuery(
                        uid,
                        panel["id"],
                        panel["title"],
                        target["refId"],
                        target["rawSql"],
                        target.get("format", "table"),
                    )
                )
    return out


def variable_queries(models: dict[str, dict[str, Any]] | None = None) -> list[PanelQuery]:
    models = models if models is not None else build.dashboard_models()
    out = []
    for uid, model in models.items():
        for variable in (model.get("templating") or {}).get("list") or []:
            if variable.get("type") == "query":
                out.append(PanelQuery(uid, 0, f"${variable['name']}", "var", variable["query"], "table"))
    return out


def alert_queries() -> list[PanelQuery]:
    out = []
    for rule in alert_rules.api_rules():
        for item in rule["data"]:
            model = item["model"]
            if "rawSql" in model:
                out.append(PanelQuery("alert-rules", 0, rule["uid"], item["refId"], model["rawSql"], "table"))
    return out
