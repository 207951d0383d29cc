"""Type-check built dashboards against Grafana's own published schema, the npm package @grafana/schema.

Each dashboard becomes a TypeScript module in which every panel is an object literal typed with the
`Options` / `FieldConfig` of its panel plugin, every variable a `VariableModel`, and the dashboard a
`Dashboard`. TypeScript's excess-property check then rejects every key Grafana's schema does not
define (Grafana silently drops such keys), and wrong value types. The compiler and the schema are
installed by `make setup` (`npm ci` in infra/grafana/schema-check, versions pinned there).
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from chitieu.settings import PROJECT_ROOT

SCHEMA_DIR = PROJECT_ROOT / "infra" / "grafana" / "schema-check"
NODE_MODULES = SCHEMA_DIR / "node_modules"
TSC = NODE_MODULES / "typescript" / "bin" / "tsc"
_RAW = "@grafana/schema/dist/esm/raw/composable"
# panel type -> module with that panel plugin's Options and FieldConfig (the schema's own layout)
PANEL_MODULES = {
    "table": f"{_RAW}/table/panelcfg/x/TablePanelCfg_types.gen.js",
    "stat": f"{_RAW}/stat/panelcfg/x/StatPanelCfg_types.gen.js",
    "timeseries": f"{_RAW}/timeseries/panelcfg/x/TimeSeriesPanelCfg_types.gen.js",
    "barchart": f"{_RAW}/barchart/panelcfg/x/BarChartPanelCfg_types.gen.js",
    "text": f"{_RAW}/text/panelcfg/x/TextPanelCfg_types.gen.js",
}
# Plugins without custom field options (the schema exports no FieldConfig for them).
NO_FIELD_CONFIG = {"stat", "text"}
_HEADER = """\
import type * as S from '@grafana/schema';
import type * as R from '@grafana/schema/dist/esm/raw/dashboard/x/dashboard_types.gen.js';
{imports}
// JSON holds an enum's value, not its TypeScript name: accept the values, keep every other check.
type Loose<T> = T extends string ? `${{T}}` : T extends number | boolean | null | undefined ? T
  : T extends Array<infer U> ? Array<Loose<U>> : T extends object ? {{ [K in keyof T]: Loose<T[K]> }} : T;
// A panel whose options and custom field config are exactly its plugin's, so unknown keys are errors.
type Strict<O, C> = Loose<Omit<S.Panel, 'options' | 'fieldConfig'> & {{
  options: O;
  fieldConfig?: Omit<S.FieldConfigSource, 'defaults'> & {{
    defaults: Omit<S.FieldConfig, 'custom'> & {{ custom?: C }};
  }};
}}>;
"""


def installed_version() -> str:
    """The @grafana/schema version installed (what the dashboards are checked against)."""
    package = NODE_MODULES / "@grafana" / "schema" / "package.json"
    return str(json.loads(package.read_text(encoding="utf-8"))["version"])


def pinned_version() -> str:
    """The Grafana version the project pins (package.json of the schema check): the one place."""
    package = json.loads((SCHEMA_DIR / "package.json").read_text(encoding="utf-8"))
    return str(package["dependencies"]["@grafana/schema"])


def _ident(panel_type: str) -> str:
    return "P_" + "".join(ch if ch.isalnum() else "_" for ch in panel_type)


def typescript_source(model: dict[str, Any]) -> str:
    """A TypeScript module that compiles only if `model` fits Grafana's dashboard schema."""
    panels = list(model.get("panels") or [])
    types = sorted({p["type"] for p in panels if p.get("type") != "row"})
    unknown = [t for t in types if t not in PANEL_MODULES]
    if unknown:
        raise ValueError(f"no schema module known for panel types {unknown}")
    imports = "\n".join(f"import type * as {_ident(t)} from '{PANEL_MODULES[t]}';" for t in types)
    lines = [_HEADER.format(imports=imports)]
    names = []
    for i, panel in enumerate(panels):
        name = f"panel{i}"
        names.append(name)
        literal = json.dumps(panel, ensure_ascii=False, indent=2)
        if panel.get("type") == "row":
            lines.append(f"const {name}: Loose<S.RowPanel> = {literal};")
        else:
            ident = _ident(panel["type"])
            custom = "Record<string, never>" if panel["type"] in NO_FIELD_CONFIG else f"{ident}.FieldConfig"
            lines.append(f"const {name}: Strict<{ident}.Options, {custom}> = {literal};")
    for i, variable in enumerate((model.get("templating") or {}).get("list") or []):
        lines.append(
            f"export const variable{i}: Loose<S.VariableModel> = {json.dumps(variable, ensure_ascii=False)};"
        )
    # Annotations are checked against the raw schema: its veneer narrows a target to a DataQuery,
    # which has no place for the built-in "-- Grafana --" tag filter (type, tags, matchAny, limit).
    rest = {k: v for k, v in model.items() if k not in ("panels", "templating")}
    lines.append(
        "export const dashboard: Loose<Omit<S.Dashboard, 'panels' | 'templating' | 'annotations'> & "
        f"{{ annotations?: R.AnnotationContainer }}> = {json.dumps(rest, ensure_ascii=False, indent=2)};"
    )
    lines.append(f"export const panels = [{', '.join(names)}];")
    return "\n".join(lines) + "\n"


def typecheck(models: dict[str, dict[str, Any]]) -> list[str]:
    """tsc's error lines for the given dashboards (uid -> model); empty when they all fit the schema."""
    if not TSC.exists():
        raise FileNotFoundError(f"{TSC} is missing: run `make setup` (npm ci in {SCHEMA_DIR})")
    with tempfile.TemporaryDirectory(prefix="chitieu-schema-") as tmp:
        work = Path(tmp)
        # module resolution walks up from each file: let it find the pinned packages
        os.symlink(NODE_MODULES, work / "node_modules")
        files = []
        for uid, model in models.items():
            path = work / f"{uid}.mts"
            path.write_text(typescript_source(model), encoding="utf-8")
            files.append(str(path))
        result = subprocess.run(
            [
                "node",
                str(TSC),
                "--noEmit",
                "--strict",
                "--module",
                "nodenext",
                "--moduleResolution",
                "nodenext",
                "--target",
                "es2022",
                "--skipLibCheck",
                *files,
            ],
            cwd=work,
            capture_output=True,
            text=True,
            check=False,
        )
        output = (result.stdout + result.stderr).replace(str(work) + os.sep, "")
    errors = [line for line in output.splitlines() if "error TS" in line]
    if result.returncode != 0 and not errors:
        raise RuntimeError(f"tsc failed without type errors: {output}")
    return errors
