"""Our dashboards and provisioning files against Grafana's own definitions.

The dashboards are type-checked against the published npm package @grafana/schema (tsc, versions
pinned in infra/grafana/schema-check/package.json); the alerting files are read the way Grafana's
provisioning code reads them and checked by the rules in chitieu.testing.grafana_rules, each of
which cites the Grafana source file it comes from. Every check is also shown to refuse the defect
it exists for, so none of them can pass vacuously.
"""

from __future__ import annotations

import copy
import re
import tomllib
from typing import Any

import pytest
import yaml

from chitieu.dashboards import alert_rules, build, common
from chitieu.settings import PROJECT_ROOT
from chitieu.testing import grafana_rules as rules
from chitieu.testing import grafana_schema

PROVISIONING = PROJECT_ROOT / "infra" / "grafana" / "provisioning"
COMPOSE = PROJECT_ROOT / "infra" / "compose" / "docker-compose.yml"


def _yaml(rel: str) -> Any:
    return yaml.safe_load((PROVISIONING / rel).read_text(encoding="utf-8"))


def _grafana_service() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))["services"]["grafana"]


def _compose_env(**override: str) -> dict[str, str]:
    """The Grafana container's environment, with a sample value where compose requires one."""
    env = {}
    for name, value in (_grafana_service().get("environment") or {}).items():
        text = str(value)
        required = re.fullmatch(r"\$\{(\w+):\?[^}]*\}", text)
        default = re.fullmatch(r"\$\{(\w+):-([^}]*)\}", text)
        if required:
            text = {"GRAFANA_ALERT_EMAILS": "a@example.gov.vn"}.get(name, f"http://sample/{name.lower()}")
        elif default:
            text = default.group(2)
        env[name] = text
    return {**env, **override}


# --- @grafana/schema ------------------------------------------------------------------------------


def test_one_grafana_version_everywhere() -> None:
    pinned = grafana_schema.pinned_version()
    assert grafana_schema.installed_version() == pinned, "run `make setup` (npm ci) after changing the pin"
    assert _grafana_service()["image"] == f"grafana/grafana:{pinned}"
    lock = tomllib.loads((PROJECT_ROOT / "uv.lock").read_text(encoding="utf-8"))
    (sdk,) = [p for p in lock["package"] if p["name"] == "grafana-foundation-sdk"]
    assert sdk["version"].endswith("!" + pinned), sdk["version"]


def test_built_dashboards_type_check_against_grafana_schema() -> None:
    assert grafana_schema.typecheck(build.dashboard_models()) == []


def test_schema_check_refuses_keys_and_values_grafana_does_not_know() -> None:
    model = copy.deepcopy(build.dashboard_models()["chitieu-overview"])
    variable = next(v for v in model["templating"]["list"] if v["type"] == "query")
    variable["auto_count"] = 30  # an interval variable's setting on a query variable
    table = next(p for p in model["panels"] if p["type"] == "table")
    table["options"]["cellHeigth"] = "sm"
    table["fieldConfig"]["defaults"]["custom"]["align"] = "middle"
    errors = "\n".join(grafana_schema.typecheck({"broken": model}))
    assert re.search(r"auto_count\W+does not exist", errors), errors
    assert re.search(r"cellHeigth\W+does not exist", errors), errors
    assert '"middle"' in errors


def test_no_repeat_settings_without_a_repeat() -> None:
    # @grafana/schema dashboard_types.gen.ts: repeatDirection / maxPerRow only apply "if 'repeat' is set".
    for uid, model in build.dashboard_models().items():
        for panel in model["panels"]:
            if not panel.get("repeat"):
                assert "repeatDirection" not in panel, (uid, panel["title"])
                assert "maxPerRow" not in panel, (uid, panel["title"])


# --- alert rules file ----------------------------------------------------------------------------


def test_rules_file_is_what_grafana_accepts_and_means_what_the_api_sends() -> None:
    groups, errors = rules.rules_file(_yaml("alerting/rules.yaml"), _compose_env())
    assert errors == []
    (group,) = groups
    assert group["name"] == alert_rules.GROUP
    assert group["interval_s"] == alert_rules.GROUP_INTERVAL_S
    read = {r["uid"]: r for r in group["rules"]}
    for sent in alert_rules.api_rules():
        seen = read[sent["uid"]]
        for key in (
            "title",
            "condition",
            "for",
            "noDataState",
            "execErrState",
            "labels",
            "annotations",
            "data",
        ):
            assert seen[key] == sent[key], (sent["uid"], key)
        # every alert links to a panel that exists, with names (not ids) in its text
        dashboard = build.dashboard_models()[seen["annotations"][rules.DASHBOARD_UID]]
        assert int(seen["annotations"][rules.PANEL_ID]) in {p["id"] for p in dashboard["panels"]}
        assert (
            "_name" in seen["annotations"]["summary"]
            or "_title" in seen["annotations"]["summary"]
            or ("$labels.plan " in seen["annotations"]["summary"])
        )
        assert not re.search(r"\$labels\.\w+_id\b", seen["annotations"]["summary"]), seen["annotations"]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda r: r["annotations"].pop(rules.PANEL_ID), "both annotations"),
        (lambda r: r["annotations"].update(summary="{{ $$labels.plan }}"), "'$$'"),
        (lambda r: r.update(condition="D"), "condition 'D' does not exist"),
        (lambda r: r.update(noDataState="Ok"), "noDataState"),
        (lambda r: r.update(uid="chitieu rule with spaces"), "uid"),
        (lambda r: r["labels"].update(team="{{ $labels.team }}"), "labels are interpolated"),
    ],
)
def test_rule_checks_refuse_what_grafana_refuses(mutate: Any, message: str) -> None:
    document = copy.deepcopy(_yaml("alerting/rules.yaml"))
    mutate(document["groups"][0]["rules"][0])
    _, errors = rules.rules_file(document, {})
    assert any(message in e for e in errors), errors


def test_group_interval_is_checked_like_grafana() -> None:
    for interval, ok in (("1h", True), ("90s", True), ("15s", False), ("0s", False), ("hourly", False)):
        document = copy.deepcopy(_yaml("alerting/rules.yaml"))
        document["groups"][0]["interval"] = interval
        _, errors = rules.rules_file(document, {})
        assert (errors == []) is ok, (interval, errors)


def test_interpolation_follows_grafana() -> None:
    env = {"X": "1"}
    assert rules.interpolate("a $X ${X} $__env{X} $$X $$$X", env) == "a 1 1 1 $X $1"
    assert rules.interpolate("{{ $labels.a }}", env) == "{{ .a }}"  # why labels must not hold templates


# --- folder, contact points, policies, compose -----------------------------------------------------


def test_dashboards_and_rules_land_in_one_folder() -> None:
    # pkg/services/provisioning/provisioning.go: alerting is provisioned (RunInitProvisioners) before
    # dashboards (Run); alerting/rules_provisioner.go finds or creates the group's folder by title
    # with a random uid; dashboards/file_reader.go getOrCreateFolder looks a provider's folder up by
    # folderUid when one is set (a second folder of the same title), else by title.
    (provider,) = _yaml("dashboards/chitieu.yaml")["providers"]
    (group,) = _yaml("alerting/rules.yaml")["groups"]
    assert "folderUid" not in provider
    assert provider["folder"] == group["folder"] == common.FOLDER_TITLE


def test_compose_sets_every_variable_provisioning_reads() -> None:
    env = _grafana_service().get("environment") or {}
    for path in sorted(PROVISIONING.rglob("*.yaml")):
        if path.name == "rules.yaml":
            continue  # its $ are escaped or raw; checked above
        missing = rules.env_references(yaml.safe_load(path.read_text(encoding="utf-8"))) - set(env)
        assert not missing, (path.name, missing)


def test_contact_points_are_valid_with_the_compose_environment() -> None:
    document = _yaml("alerting/contact-points.yaml")
    assert rules.contact_point_errors(document, _compose_env()) == []
    empty = rules.contact_point_errors(
        document, _compose_env(GRAFANA_ALERT_WEBHOOK_URL="", GRAFANA_ALERT_EMAILS="")
    )
    assert any("required field 'url'" in e for e in empty)
    assert any("could not find addresses" in e for e in empty)
    # compose refuses to start the container when they are missing, naming the variable
    service_env = _grafana_service()["environment"]
    for name in ("GRAFANA_ALERT_WEBHOOK_URL", "GRAFANA_ALERT_EMAILS"):
        assert re.fullmatch(rf"\$\{{{name}:\?.+\}}", service_env[name]), service_env[name]


def test_policies_route_to_existing_contact_points() -> None:
    names = [cp["name"] for cp in _yaml("alerting/contact-points.yaml")["contactPoints"]]
    policies = _yaml("alerting/policies.yaml")
    assert rules.policy_errors(policies, names) == []
    assert rules.policy_errors(policies, names[:1]) != []
