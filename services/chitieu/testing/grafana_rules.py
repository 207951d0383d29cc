"""What a real Grafana refuses in alerting provisioning, written down from Grafana's own source.

No Grafana server runs on the development machines, so the provisioning files we ship and the
payloads `chitieu dashboards push` sends are checked against these rules, and the local stand-in
for Grafana's HTTP API (chitieu.testing.grafana_server) refuses what they refuse. Each rule names the
file of github.com/grafana/grafana (or grafana/alerting, prometheus/...) it comes from; the version
pinned is the one in infra/grafana/schema-check/package.json.

Every function returns a list of error messages; empty means Grafana would accept the input.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

# pkg/services/ngalert/models/alert_rule.go: NoDataStateFromString, ErrStateFromString.
NO_DATA_STATES = {"Alerting", "NoData", "OK", "KeepLast"}
EXEC_ERR_STATES = {"Alerting", "Error", "OK", "KeepLast"}
# pkg/setting/setting_unified_alerting.go: the scheduler's base interval (10 s) and the interval a
# new rule group gets when none is given (1 min).
BASE_INTERVAL_S = 10
DEFAULT_GROUP_INTERVAL_S = 60
# pkg/services/ngalert/models/alert_rule.go: annotations Grafana reads itself.
DASHBOARD_UID = "__dashboardUid__"
PANEL_ID = "__panelId__"
# pkg/util/shortid_generator.go: ValidateUID (at most 40 characters of [a-zA-Z0-9-_]).
_UID = re.compile(r"^[a-zA-Z0-9\-_]{1,40}$")
# github.com/prometheus/common/model/time.go: ParseDuration (what provisioning uses for intervals).
_DURATION = re.compile(r"^((\d+)y)?((\d+)w)?((\d+)d)?((\d+)h)?((\d+)m)?((\d+)s)?((\d+)ms)?$")
_DURATION_S = (365 * 86400, 7 * 86400, 86400, 3600, 60, 1, 0.001)


def valid_uid(uid: str) -> bool:
    return bool(_UID.match(uid or ""))


def parse_duration(text: str) -> float:
    """Seconds in a Prometheus duration ('1h', '90s', '0s'); ValueError if Grafana could not read it."""
    if text == "0":
        return 0.0
    m = _DURATION.fullmatch(text or "")
    if not text or not m:
        raise ValueError(f"not a valid duration string: {text!r}")
    return float(sum(int(m.group(2 * i + 2) or 0) * unit for i, unit in enumerate(_DURATION_S)))


def interpolate(value: str, env: Mapping[str, str]) -> str:
    """A string as Grafana's provisioning reads it from a file.

    pkg/services/provisioning/values/values.go (interpolateValue): the text is split on `$$`, each
    part gets `$__env{NAME}` (pkg/setting: ExpandVar) and then `$NAME` / `${NAME}` (Go's
    os.ExpandEnv: an unknown name becomes empty) expanded, and the parts are joined with `$`.
    """

    def one(part: str) -> str:
        part = re.sub(r"\$__env\{([^}]*)\}", lambda m: env.get(m.group(1), ""), part)
        return re.sub(
            r"\$\{([^}]*)\}|\$([A-Za-z0-9_]+)", lambda m: env.get(m.group(1) or m.group(2), ""), part
        )

    return "$".join(one(part) for part in value.split("$$"))


def env_references(document: Any) -> set[str]:
    """Names of environment variables a provisioning document reads (`$__env{X}`, `${X}`, `$X`)."""
    names: set[str] = set()
    for text in _strings(document):
        for part in text.split("$$"):
            names.update(re.findall(r"\$__env\{([^}]*)\}", part))
            part = re.sub(r"\$__env\{[^}]*\}", "", part)
            names.update(a or b for a, b in re.findall(r"\$\{([^}]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)", part))
    return names


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def _template_errors(where: str, text: str) -> list[str]:
    """Alert templates are Go templates: `$$` or an empty name is a broken variable reference."""
    errors = []
    for expr in re.findall(r"\{\{(.*?)\}\}", text, flags=re.S):
        if "$$" in expr:
            errors.append(f"{where}: template {{{{{expr}}}}} has '$$' (not unescaped here: broken variable)")
        if re.search(r"\$\.?(?![A-Za-z_])", expr.replace("$$", "")):
            errors.append(f"{where}: template {{{{{expr}}}}} lost a variable name")
    return errors


def alert_rule_errors(rule: Mapping[str, Any], *, where: str = "rule") -> list[str]:
    """Rules every alert rule must meet, whether provisioned from a file or through the API."""
    errors: list[str] = []
    uid, title = str(rule.get("uid") or ""), str(rule.get("title") or "")
    where = f"{where} {uid or title!r}"
    # pkg/util/shortid_generator.go ValidateUID, via models/alert_rule.go ValidateAlertRule.
    if not valid_uid(uid):
        errors.append(f"{where}: uid must be 1-40 characters of [a-zA-Z0-9-_]")
    # pkg/services/ngalert/api/tooling/definitions/provisioning_alert_rules.go: title 1..190.
    if not 1 <= len(title) <= 190:
        errors.append(f"{where}: title must have 1 to 190 characters")
    data = rule.get("data") or []
    if not data:
        errors.append(f"{where}: no queries or expressions (models/alert_rule.go)")
    # pkg/services/ngalert/models/errors.go ErrConditionNotExist: the condition names a refId.
    ref_ids = [q.get("refId") for q in data]
    if rule.get("condition") not in ref_ids:
        errors.append(
            f"{where}: condition {rule.get('condition')!r} does not exist, must be one of {ref_ids}"
        )
    if len(set(ref_ids)) != len(ref_ids):
        errors.append(f"{where}: refIds repeat: {ref_ids}")
    for query in data:
        if not query.get("datasourceUid"):
            errors.append(f"{where}: query {query.get('refId')} has no datasourceUid")
        model = query.get("model") or {}
        if model.get("refId") not in (None, query.get("refId")):
            errors.append(f"{where}: query {query.get('refId')} model refId differs")
    # pkg/services/ngalert/models/alert_rule.go NoDataStateFromString / ErrStateFromString.
    if rule.get("noDataState") not in NO_DATA_STATES:
        errors.append(f"{where}: noDataState {rule.get('noDataState')!r} not in {sorted(NO_DATA_STATES)}")
    if rule.get("execErrState") not in EXEC_ERR_STATES:
        errors.append(f"{where}: execErrState {rule.get('execErrState')!r} not in {sorted(EXEC_ERR_STATES)}")
    try:
        if parse_duration(str(rule.get("for") or "0s")) < 0:
            errors.append(f"{where}: for cannot be negative")
    except ValueError as exc:
        errors.append(f"{where}: for: {exc}")
    # pkg/services/ngalert/models/alert_rule.go SetDashboardAndPanelFromAnnotations: both
    # __dashboardUid__ and __panelId__ or neither, and the panel id an integer.
    annotations = rule.get("annotations") or {}
    dash, panel = annotations.get(DASHBOARD_UID, ""), annotations.get(PANEL_ID, "")
    if bool(dash) != bool(panel):
        errors.append(f"{where}: both annotations {DASHBOARD_UID} and {PANEL_ID} must be specified")
    elif panel and not re.fullmatch(r"-?\d+", str(panel)):
        errors.append(f"{where}: annotation {PANEL_ID} must be a valid integer Panel ID")
    for key, text in annotations.items():
        errors.extend(_template_errors(f"{where} annotation {key}", str(text)))
    for key, text in (rule.get("labels") or {}).items():
        errors.extend(_template_errors(f"{where} label {key}", str(text)))
    return errors


def api_rule_errors(rule: Mapping[str, Any], folders: Iterable[str]) -> list[str]:
    """POST/PUT /api/v1/provisioning/alert-rules: the rule rules plus the API's required fields.

    pkg/services/ngalert/api/tooling/definitions/provisioning_alert_rules.go (ProvisionedAlertRule:
    orgID, folderUID, ruleGroup 1..190, title, condition, data, noDataState, execErrState, for are
    required); the folder must exist (pkg/services/ngalert/provisioning/alert_rules.go).
    """
    errors = alert_rule_errors(rule, where="alert rule")
    for key in ("orgID", "folderUID", "ruleGroup", "for"):
        if rule.get(key) in (None, ""):
            errors.append(f"alert rule {rule.get('uid')}: required field {key} missing")
    if not 1 <= len(str(rule.get("ruleGroup") or "")) <= 190:
        errors.append(f"alert rule {rule.get('uid')}: ruleGroup must have 1 to 190 characters")
    if rule.get("folderUID") and rule.get("folderUID") not in set(folders):
        errors.append(f"alert rule {rule.get('uid')}: folder {rule.get('folderUID')} not found")
    return errors


def interval_errors(seconds: float, where: str) -> list[str]:
    """pkg/services/ngalert/models/alert_rule.go ValidateRuleGroupInterval: > 0, a multiple of 10 s."""
    if seconds <= 0 or seconds % BASE_INTERVAL_S:
        return [f"{where}: interval {seconds}s should be non-zero and divided exactly by {BASE_INTERVAL_S}s"]
    return []


def rules_file(document: Mapping[str, Any], env: Mapping[str, str]) -> tuple[list[dict[str, Any]], list[str]]:
    """Read an alert-rules provisioning file as Grafana does: (groups as Grafana sees them, errors).

    pkg/services/provisioning/alerting/rules_types.go: group name, folder and interval, and a
    rule's uid, title, condition, for, states and labels are interpolated (values.StringValue,
    StringMapValue.Value); annotations and the query models are taken raw, so `$$` stays `$$` there
    (not unescaped since Grafana 9.1). Group: name and folder set, interval a valid duration.
    """
    errors: list[str] = []
    if document.get("apiVersion") != 1:
        errors.append("apiVersion must be 1")
    groups = []
    for group in document.get("groups") or []:
        name = interpolate(str(group.get("name") or ""), env).strip()
        folder = interpolate(str(group.get("folder") or ""), env).strip()
        where = f"group {name!r}"
        if not name:
            errors.append("rule group has no name set")
        if not folder:
            errors.append(f"{where}: rule group has no folder set")
        try:
            interval = parse_duration(interpolate(str(group.get("interval") or ""), env))
            errors.extend(interval_errors(interval, where))
        except ValueError as exc:
            errors.append(f"{where}: {exc}")
            interval = 0
        rules = []
        for raw in group.get("rules") or []:
            rule: dict[str, Any] = {
                key: interpolate(str(raw[key]), env)
                for key in ("uid", "title", "condition", "for", "noDataState", "execErrState")
                if key in raw
            }
            rule["labels"] = {k: interpolate(str(v), env) for k, v in (raw.get("labels") or {}).items()}
            for key, text in (raw.get("labels") or {}).items():
                if "{{" in str(text) and rule["labels"][key] != str(text).replace("$$", "$"):
                    errors.append(f"{where} label {key}: labels are interpolated, a template's $ must be $$")
            rule["annotations"] = dict(raw.get("annotations") or {})
            rule["data"] = raw.get("data") or []
            rule["isPaused"] = raw.get("isPaused", False)
            rule.setdefault("noDataState", "NoData")
            rule.setdefault("execErrState", "Alerting")
            errors.extend(alert_rule_errors(rule, where=f"{where} rule"))
            rules.append(rule)
        groups.append({"name": name, "folder": folder, "interval_s": interval, "rules": rules})
    return groups, errors


def contact_point_errors(document: Mapping[str, Any], env: Mapping[str, str]) -> list[str]:
    """pkg/services/provisioning/alerting/contact_point_types.go: name, receiver uid, type and
    settings set; settings interpolated, then validated by the integration (grafana/alerting):
    receivers/webhook/config.go "required field 'url' is not specified",
    receivers/email/config.go "could not find addresses in settings". A failing contact point stops
    Grafana's start-up (provisioning errors are fatal)."""
    errors: list[str] = []
    for point in document.get("contactPoints") or []:
        name = interpolate(str(point.get("name") or ""), env).strip()
        if not name:
            errors.append("contact point: no name is set")
        for receiver in point.get("receivers") or []:
            if not interpolate(str(receiver.get("uid") or ""), env).strip():
                errors.append(f"{name}: no uid is set")
            kind = interpolate(str(receiver.get("type") or ""), env).strip()
            settings = {
                k: interpolate(v, env) if isinstance(v, str) else v
                for k, v in (receiver.get("settings") or {}).items()
            }
            if not settings:
                errors.append(f"{name}: no settings are set")
            if kind == "webhook" and not str(settings.get("url") or "").strip():
                errors.append(f"{name}: required field 'url' is not specified")
            if kind == "email" and not str(settings.get("addresses") or "").strip():
                errors.append(f"{name}: could not find addresses in settings")
    return errors


def policy_errors(document: Mapping[str, Any], contact_points: Iterable[str]) -> list[str]:
    """Every receiver a route names must exist: prometheus/alertmanager config/config.go
    (checkReceiver: "undefined receiver %q used in route"), which Grafana's alertmanager applies."""
    known = set(contact_points)
    errors = []

    def walk(route: Mapping[str, Any]) -> None:
        receiver = route.get("receiver")
        if receiver is not None and receiver not in known:
            errors.append(f"undefined receiver {receiver!r} used in route")
        for child in route.get("routes") or []:
            walk(child)

    for policy in document.get("policies") or []:
        if not policy.get("receiver"):
            errors.append("the root route must name a receiver")
        walk(policy)
    return errors
