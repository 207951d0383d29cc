"""The committed dashboards and provisioning: rebuild-and-diff, structure, references between them."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from chitieu.dashboards import alert_rules, build, common, inventory, macros
from chitieu.settings import PROJECT_ROOT

PROVISIONING = PROJECT_ROOT / "infra" / "grafana" / "provisioning"
UIDS = {
    "chitieu-overview",
    "chitieu-indicator-detail",
    "chitieu-province-comparison",
    "chitieu-data-operations",
}


def _committed() -> dict[str, dict[str, Any]]:
    return {
        path.stem: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted((PROJECT_ROOT / build.BUILD_DIR).glob("*.json"))
    }


def _panels(model: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for panel in model["panels"]:
        out.append(panel)
        out.extend(panel.get("panels") or [])
    return out


def _yaml(rel: str) -> Any:
    return yaml.safe_load((PROVISIONING / rel).read_text(encoding="utf-8"))


def test_build_reproduces_the_committed_files() -> None:
    assert build.stale() == [], "run `chitieu dashboards build` and commit the result"


def test_build_is_deterministic_and_writes_nothing_when_up_to_date(tmp_path: Path) -> None:
    first = build.write(tmp_path)
    assert {p.relative_to(tmp_path) for p in first} == set(build.outputs())
    snapshot = {p: p.read_bytes() for p in first}
    assert build.write(tmp_path) == []
    assert {p: p.read_bytes() for p in first} == snapshot
    assert build.stale(tmp_path) == []
    (tmp_path / build.BUILD_DIR / "chitieu-overview.json").write_text("{}", encoding="utf-8")
    assert build.stale(tmp_path) == [build.BUILD_DIR / "chitieu-overview.json"]


def test_committed_dashboards_have_the_stable_uids() -> None:
    models = _committed()
    assert set(models) == UIDS
    for uid, model in models.items():
        assert model["uid"] == uid
        assert model["title"].startswith("Chỉ Tiêu – ")


@pytest.mark.parametrize("uid", sorted(UIDS))
def test_panel_ids_unique_and_grid_does_not_overlap(uid: str) -> None:
    panels = _panels(_committed()[uid])
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids))
    assert all(isinstance(i, int) and i > 0 for i in ids)
    cells: dict[tuple[int, int], int] = {}
    for panel in panels:
        pos = panel["gridPos"]
        assert pos["x"] >= 0, panel["title"]
        assert pos["x"] + pos["w"] <= 24, panel["title"]
        for x in range(pos["x"], pos["x"] + pos["w"]):
            for y in range(pos["y"], pos["y"] + pos["h"]):
                assert (x, y) not in cells, f"{panel['title']} overlaps panel {cells[(x, y)]}"
                cells[(x, y)] = panel["id"]


@pytest.mark.parametrize("uid", sorted(UIDS))
def test_titles_and_help_texts_vietnamese_first(uid: str) -> None:
    vietnamese = re.compile(r"[ạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹđ]")
    model = _committed()[uid]
    texts = [(p["title"], p.get("description") or "") for p in _panels(model) if p["type"] != "row"]
    texts += [
        (f"${v['name']}", v.get("description") or "")
        for v in model["templating"]["list"]
        if v["type"] == "query"
    ]
    texts.append((model["title"], model["description"]))
    for title, description in texts:
        assert re.search(r"[à-ỹđ]", title.lower()) or title.startswith("$"), f"not Vietnamese: {title}"
        vi, sep, en = description.partition("\n\nEN: ")
        assert sep, f"{title}: help text needs Vietnamese, then 'EN: ' and English"
        assert vietnamese.search(vi.lower()), f"{title}: Vietnamese part is not Vietnamese: {vi}"
        assert en, f"{title}: no English part"
        assert not vietnamese.search(en.lower()), f"{title}: English part: {en}"


@pytest.mark.parametrize("uid", sorted(UIDS))
def test_dashboards_show_vietnam_time(uid: str) -> None:
    assert _committed()[uid]["timezone"] == "Asia/Ho_Chi_Minh"


def test_datasources_are_the_provisioned_one() -> None:
    provisioned = {d["uid"]: d for d in _yaml("datasources/chitieu.yaml")["datasources"]}
    assert set(provisioned) == {common.DATASOURCE_UID}
    ds = provisioned[common.DATASOURCE_UID]
    assert ds["type"] == "grafana-postgresql-datasource"
    assert ds["jsonData"]["timescaledb"] is True
    assert ds["jsonData"]["postgresVersion"] == 1500
    assert ds["user"] == "$__env{CHITIEU_READONLY_DB_USER}"
    assert ds["secureJsonData"]["password"] == "$__env{CHITIEU_READONLY_DB_PASSWORD}"
    for uid, model in _committed().items():
        variables = {v["name"]: v for v in model["templating"]["list"]}
        ds_var = variables["datasource"]
        assert ds_var["type"] == "datasource"
        assert ds_var["query"] == "grafana-postgresql-datasource"
        assert ds_var["current"]["value"] in provisioned, uid
        for v in variables.values():
            if v["type"] == "query":
                assert v["datasource"]["uid"] == "${datasource}", (uid, v["name"])
        for panel in _panels(model):
            if panel["type"] == "row":
                continue
            assert panel["datasource"] == {"type": "grafana-postgresql-datasource", "uid": "${datasource}"}
            for target in panel["targets"]:
                assert target["datasource"]["uid"] == "${datasource}"
                assert target["rawQuery"] is True
                assert target["format"] in ("table", "time_series")


def test_indicator_detail_has_the_three_variables() -> None:
    variables = {v["name"]: v for v in _committed()["chitieu-indicator-detail"]["templating"]["list"]}
    assert {"plan", "jurisdiction", "indicator"} <= set(variables)
    # many plans; one jurisdiction and one indicator at a time (one territory's series per chart)
    assert variables["plan"]["multi"]
    assert not variables["jurisdiction"]["multi"]
    assert not variables["indicator"]["multi"]
    # the options' own order (what has data first), not Grafana's alphabetical sort
    assert variables["jurisdiction"]["sort"] == variables["indicator"]["sort"] == 0


def test_provider_points_at_the_built_dashboards() -> None:
    providers = _yaml("dashboards/chitieu.yaml")["providers"]
    assert len(providers) == 1
    provider = providers[0]
    assert provider["options"]["path"] == "/var/lib/grafana/dashboards"
    # By title, like the rule group: see test_grafana_provisioning (one folder, whatever comes first).
    assert "folderUid" not in provider
    assert provider["folder"] == common.FOLDER_TITLE


def _duration_hours(text: str) -> float:
    m = re.fullmatch(r"(\d+)([smhdw])", text)
    assert m, text
    return int(m.group(1)) * {"s": 1 / 3600, "m": 1 / 60, "h": 1, "d": 24, "w": 168}[m.group(2)]


def test_notification_policy_and_contact_points() -> None:
    receivers = {cp["name"] for cp in _yaml("alerting/contact-points.yaml")["contactPoints"]}
    policy = _yaml("alerting/policies.yaml")["policies"][0]
    assert policy["receiver"] in receivers
    assert _duration_hours(policy["repeat_interval"]) >= 168
    for route in policy["routes"]:
        assert route["receiver"] in receivers
        assert _duration_hours(route.get("repeat_interval", policy["repeat_interval"])) >= 168
    text = (PROVISIONING / "alerting/contact-points.yaml").read_text(encoding="utf-8")
    assert "$__env{GRAFANA_ALERT_WEBHOOK_URL}" in text
    assert "$__env{GRAFANA_ALERT_EMAILS}" in text


def test_alert_rules_file_is_consistent() -> None:
    document = _yaml("alerting/rules.yaml")
    (group,) = document["groups"]
    assert group["folder"] == common.FOLDER_TITLE
    rules = group["rules"]
    assert {r["labels"]["rule"] for r in rules} == {
        "behind_trajectory",
        "every_year_missed",
        "milestone_overdue",
        "data_stale",
        "report_due",
    }
    assert len({r["uid"] for r in rules}) == len(rules)
    for rule in rules:
        ref_ids = [d["refId"] for d in rule["data"]]
        assert len(ref_ids) == len(set(ref_ids))
        assert rule["condition"] in ref_ids
        for item in rule["data"]:
            assert item["datasourceUid"] in (common.DATASOURCE_UID, "__expr__")
            assert item["model"]["refId"] == item["refId"]
            if "expression" in item["model"]:
                assert item["model"]["expression"] in ref_ids
                assert item["model"]["expression"] != item["refId"]
        # Grafana reads annotations raw (no $$ unescaping): templates are written as Grafana runs them.
        assert "$$" not in json.dumps(rule["annotations"], ensure_ascii=False)


def test_api_rules_match_the_file() -> None:
    document = _yaml("alerting/rules.yaml")
    file_rules = {r["uid"]: r for r in document["groups"][0]["rules"]}
    api = alert_rules.api_rules()
    assert {r["uid"] for r in api} == set(file_rules)  # the same rules, none missing on either side
    for rule in api:
        assert rule["folderUID"] == common.FOLDER_UID
        assert rule["ruleGroup"] == alert_rules.GROUP
        assert file_rules[rule["uid"]]["data"] == rule["data"]
        assert file_rules[rule["uid"]]["annotations"] == rule["annotations"]


def test_panel_sql_expands_completely() -> None:
    values = {"plan": ["a", "b"], "jurisdiction": ["x"], "indicator": "i"}
    queries = inventory.panel_queries() + inventory.variable_queries()
    assert len(queries) > 10
    for q in queries:
        text = macros.expand(
            q.raw_sql,
            time_from=datetime(2020, 1, 1, tzinfo=UTC),
            time_to=datetime(2021, 1, 1, tzinfo=UTC),
            variables=values,
        )
        assert "$" not in text, q.label
        assert "[[" not in text, q.label


def test_cli_build_check_passes_on_the_committed_tree() -> None:
    from typer.testing import CliRunner

    from chitieu.cli import app

    result = CliRunner().invoke(app, ["dashboards", "build", "--check"])
    assert result.exit_code == 0, result.output
