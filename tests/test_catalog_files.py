"""The catalog files: schema + cross checks, faithful reading of the seeds, quotes, export without a DB."""

from __future__ import annotations

import json
import re
import shutil
import unicodedata
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from chitieu.catalog import clear_caches
from chitieu.catalog.check import check_catalog
from chitieu.catalog.indicators import load_indicators
from chitieu.catalog.phrases import parse_target_phrase
from chitieu.catalog.plans import load_plans
from chitieu.cli import app
from chitieu.settings import get_settings

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference"
ISSUE_CODES = [
    "tfp_contribution_growth",
    "digital_economy_share_grdp",
    "sectoral_digital_economy_share",
    "online_public_service_usage_rate",
    "online_application_rate",
    "cashless_transaction_share",
    "innovative_enterprise_share",
    "hdi",
    "rnd_spending_share_grdp",
    "rnd_spending_nonstate_share",
    "sti_dx_budget_share",
    "strategic_tech_share_of_sti_budget",
    "rnd_personnel_per_10k",
    "scientific_publications",
    "patent_applications",
    "patent_grants",
    "patent_commercialization_rate",
    "mobile_5g_coverage",
    "gigabit_broadband_access_share",
    "households_fiber_share",
    "communes_fiber_share",
    "villages_mobile_coverage",
    "smartphone_subscription_share",
    "smart_cities_count",
    "hightech_export_share",
    "epayment_account_share_15plus",
    "digital_signature_adult_share",
    "ehealth_record_share",
    "leadership_sti_background_share",
    "ranked_sti_organizations_count",
    "big_tech_firms_attracted_count",
    "digital_tech_enterprises_per_1000",
    "world_class_digital_firms_count",
    "semiconductor_ai_workforce",
    "pii_rank",
    "dti_rank",
    "e_government_index_rank",
    "digital_competitiveness_rank",
    "startup_index_rank",
    "income_rank",
    "dti_score",
    "pii_score",
    "public_service_index_score",
    "population",
    "grdp",
]


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", text)).strip()


@pytest.fixture
def catalog_copy(tmp_path: Path) -> Path:
    src = get_settings().catalog_dir
    dst = tmp_path / "catalog"
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("sources", "routes.yaml"))
    clear_caches()
    yield dst  # type: ignore[misc]
    clear_caches()


def test_catalog_is_valid() -> None:
    assert [str(v) for v in check_catalog()] == []


def test_dictionary_has_every_code_of_the_issue() -> None:
    reg = load_indicators()
    missing = [c for c in ISSUE_CODES if c not in reg]
    assert missing == []
    for code in ("pii_rank", "dti_rank", "income_rank", "e_government_index_rank"):
        ind = reg.get(code)
        assert (ind.value_type, ind.direction, ind.aggregation) == ("rank", "lower", "none")
    assert reg.get("dti_score").value_type == "index_0_1"
    assert (reg.get("dti_score").min_value, reg.get("dti_score").max_value) == (0.0, 1.0)
    assert reg.get("patent_grants").aggregation == "sum"
    assert reg.get("hdi").aggregation_weight == "population"
    assert reg.resolve("Tỷ lệ giao dịch không dùng tiền mặt").code == "cashless_transaction_share"
    assert reg.resolve(unicodedata.normalize("NFD", "PHỦ SÓNG 5G")).code == "mobile_5g_coverage"


def test_every_quote_occurs_in_its_seed(seeds_dir: Path) -> None:
    plans = load_plans()
    checked = 0
    for plan in plans:
        if plan.kind == "national":
            source = REFERENCE / "national-targets-nq57.md"
            assert source.is_file(), f"reference file absent: {source}"
        else:
            assert plan.source_file, plan.id
            source = seeds_dir / plan.source_file
        text = _norm(source.read_text(encoding="utf-8"))
        citations = [t.citation for t in plan.targets] + [b.citation for b in plan.baselines]
        citations += [o.citation for o in plan.reporting_obligations if o.citation] + plan.unquantified
        for c in citations:
            assert _norm(c.quote) in text, f"{plan.id}: quote not found in {source.name}: {c.quote[:80]}"
            checked += 1
    assert checked > 100


def test_phrases_agree_with_the_catalog() -> None:
    checked = 0
    for t in (t for p in load_plans() for t in p.targets if t.phrase and t.kind != "milestone"):
        parsed = parse_target_phrase(t.phrase)
        assert (parsed.operator, parsed.value, parsed.value_max) == (t.operator, t.value, t.value_max), t.id
        assert parsed.every_year == t.every_year, t.id
        checked += 1
    assert checked > 50  # the loop must not pass vacuously on an empty or phrase-less catalog


def _targets() -> dict[str, dict]:  # type: ignore[type-arg]
    return {t.id: t.model_dump() for p in load_plans() for t in p.targets}


def test_seed_readings() -> None:
    """Spot checks a careful reader of the seeds would make."""
    t = _targets()
    # Ninh Thuận: 'đạt 80%' is >=, 'trên 80%' is >; 'ở mức 60%' is >=.
    assert (t["ninh-thuan-319-ctr-tu.t07"]["operator"], t["ninh-thuan-319-ctr-tu.t07"]["value"]) == (">=", 80)
    assert t["ninh-thuan-319-ctr-tu.t06"]["operator"] == ">"
    assert (t["ninh-thuan-319-ctr-tu.t04"]["operator"], t["ninh-thuan-319-ctr-tu.t04"]["value"]) == (">=", 60)
    # Quảng Nam writes cashless as 'trên 80%' (strict) where Ninh Thuận writes 'đạt 80%'.
    assert t["quang-nam-60-ctr-tu.t11"]["operator"] == ">"
    # Shares of a parent, every-year floors, bands, growth, 2045 ranks, relative targets.
    assert t["ninh-thuan-319-ctr-tu.t11"]["parent"] == "ninh-thuan-319-ctr-tu.t10"
    assert t["binh-dinh-ctr-57.t12"]["parent"] == "binh-dinh-ctr-57.t11"
    assert t["ninh-thuan-319-ctr-tu.t12"]["every_year"] is True
    assert t["binh-dinh-ctr-57.t34"]["every_year"] is True
    assert (t["ninh-thuan-319-ctr-tu.t17"]["value"], t["ninh-thuan-319-ctr-tu.t17"]["value_max"]) == (8, 10)
    assert t["quang-nam-60-ctr-tu.t19"]["kind"] == "growth"
    assert (t["binh-dinh-ctr-57.t29"]["indicator"], t["binh-dinh-ctr-57.t29"]["target_year"]) == (
        "pii_rank",
        2045,
    )
    assert t["ninh-thuan-319-ctr-tu.t24"]["relative_to"] == "national"
    assert t["binh-dinh-ctr-57.t10"]["value"] == 0.75
    assert t["binh-dinh-ctr-57.t07"]["value"] == 90
    assert t["ninh-thuan-319-ctr-tu.t19"]["milestone_object"].endswith("Phan Rang - Tháp Chàm")
    # Baselines: Ninh Thuận TFP 42.86 % (2024); Bình Định TFP averaged 2020-2025 (no single year).
    assert t["ninh-thuan-319-ctr-tu.t04"]["baseline"] == {"year": 2024, "value": 42.86, "note": None}
    assert t["ninh-thuan-319-ctr-tu.t22"]["baseline"]["value"] == 18
    assert t["binh-dinh-ctr-57.t05"]["baseline"]["year"] is None
    assert t["binh-dinh-ctr-57.t05"]["baseline"]["value"] == 39.6
    assert t["binh-dinh-ctr-57.t29"]["baseline"]["value"] == 22


def test_provincial_quotes_are_whole_sentences() -> None:
    """A quote is a whole sentence of the seed (it starts and ends one), not a clause cut out of it."""
    for plan in load_plans():
        if plan.kind == "national":
            continue
        citations = [(t.id, t.citation) for t in plan.targets] + [
            (b.indicator, b.citation) for b in plan.baselines
        ]
        citations += [(o.code, o.citation) for o in plan.reporting_obligations if o.citation]
        citations += [("unquantified", c) for c in plan.unquantified]
        for what, c in citations:
            q = _norm(c.quote)
            assert q[0].isupper() or q[0].isdigit(), f"{plan.id} {what}: quote starts mid-sentence: {q[:60]}"
            assert q[-1] in ".;", f"{plan.id} {what}: quote stops mid-sentence: {q[-60:]}"


def test_review_corrections() -> None:
    """Readings added or corrected by the independent review of the catalog against the seeds."""
    t = _targets()
    # 'Hoàn thành xây dựng, kết nối, chia sẻ đồng bộ cơ sở dữ liệu ...': a 2030 milestone in all three.
    for tid in ("ninh-thuan-319-ctr-tu.t27", "quang-nam-60-ctr-tu.t31", "binh-dinh-ctr-57.t37"):
        assert (t[tid]["indicator"], t[tid]["kind"], t[tid]["target_year"]) == (
            "milestone_databases_connected",
            "milestone",
            2030,
        ), tid
        assert "cơ sở dữ liệu quốc gia" in t[tid]["milestone_object"]
    assert t["ninh-thuan-319-ctr-tu.t28"]["milestone_object"] == "sàn giao dịch dữ liệu"
    assert "Trung tâm dữ liệu tỉnh" in t["quang-nam-60-ctr-tu.t32"]["milestone_object"]
    # Quảng Nam: 'đạt mức cao trên trung bình cả nước' is relative to the national series.
    assert (t["quang-nam-60-ctr-tu.t33"]["relative_to"], t["quang-nam-60-ctr-tu.t33"]["operator"]) == (
        "national",
        ">",
    )
    # 57-NQ/TW 2045: top 30 for innovation AND for digital transformation.
    assert {t[f"national-57-nq-tw.t{n}"]["indicator"] for n in (19, 20)} == {
        "gii_rank",
        "world_digital_transformation_rank",
    }
    assert t["national-57-nq-tw.t20"]["value"] == 30
    assert t["national-57-nq-tw.t20"]["operator"] == "<="
    # 'thêm ít nhất 03' depends on the 2030 outcome: flagged for review.
    assert t["binh-dinh-ctr-57.t32"]["needs_review"] is True
    # The monitoring body each programme names (Bình Định IV.7, Quảng Nam III.3); none for Ninh Thuận.
    assert {v["lead_agency"] for k, v in t.items() if k.startswith("binh-dinh-ctr-57.")} == {
        "Văn phòng Tỉnh ủy Bình Định"
    }
    assert all(v["lead_agency"] for k, v in t.items() if k.startswith("quang-nam-60-ctr-tu."))
    assert not any(v["lead_agency"] for k, v in t.items() if k.startswith("ninh-thuan-319-ctr-tu."))
    plans = {p.id: p for p in load_plans()}
    nb = {o.code: o for o in plans["ninh-binh-kh-03-nq-cp"].reporting_obligations}
    assert nb["programme-review-2025"].recipient is None  # IV.2 names no recipient
    assert nb["yearly-dx-completion-assessment"].recurrence == "yearly"
    yearly_citation = nb["yearly-dx-completion-assessment"].citation
    assert yearly_citation is not None
    assert yearly_citation.section == "II.1"


def test_plan_coverage() -> None:
    plans = {p.id: p for p in load_plans()}
    assert set(plans) == {
        "ninh-thuan-319-ctr-tu",
        "quang-nam-60-ctr-tu",
        "ninh-binh-kh-03-nq-cp",
        "binh-dinh-ctr-57",
        "national-57-nq-tw",
    }
    assert plans["national-57-nq-tw"].jurisdiction == "vn"
    nb = plans["ninh-binh-kh-03-nq-cp"]
    half = next(o for o in nb.reporting_obligations if o.recurrence == "half_yearly")
    assert half.due_dates == ["06-15", "12-01"]
    assert any(o.recurrence == "once" and o.due_dates == ["2025-12-31"] for o in nb.reporting_obligations)
    nt = plans["ninh-thuan-319-ctr-tu"]
    assert {o.recurrence for o in nt.reporting_obligations} == {"yearly", "every_3_years", "every_5_years"}
    qn_baselines = {b.indicator: b for b in plans["quang-nam-60-ctr-tu"].baselines}
    assert qn_baselines["online_application_rate"].value == 65.8
    assert all(not b.year_stated and b.year is None for b in qn_baselines.values())


def _edit(path: Path, fn) -> None:  # type: ignore[no-untyped-def]
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    fn(doc)
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")


def test_check_reports_every_violation_with_file_and_path(catalog_copy: Path) -> None:
    plan = catalog_copy / "plans" / "ninh-thuan-319-ctr-tu.yaml"

    def breakage(doc: dict) -> None:  # type: ignore[type-arg]
        doc["targets"][0]["indicator"] = "no_such_indicator"
        doc["targets"][1]["id"] = doc["targets"][2]["id"]
        doc["targets"][3]["operator"] = "≥"
        doc["targets"][10]["parent"] = "ninh-thuan-319-ctr-tu.t99"
        doc["targets"][5]["value"] = 81  # disagrees with its phrase 'đạt trên 80%'
        doc["targets"][6]["jurisdiction"] = "old-99"
        doc["targets"][7]["value"] = 140  # a share above 100 %

    _edit(plan, breakage)
    violations = [str(v) for v in check_catalog(catalog_copy)]
    joined = "\n".join(violations)
    assert all(v.startswith("catalog/plans/ninh-thuan-319-ctr-tu.yaml: $.targets[") for v in violations), (
        joined
    )
    assert "$.targets[0].indicator" in joined
    assert "no_such_indicator" in joined
    assert "duplicate target id" in joined
    assert "$.targets[3].operator" in joined
    assert "$.targets[10].parent" in joined
    assert "$.targets[5].value" in joined
    assert "$.targets[6].jurisdiction" in joined
    assert "$.targets[7].value" in joined
    assert "outside the range" in joined


def test_cli_check_exits_non_zero_on_errors(catalog_copy: Path) -> None:
    _edit(catalog_copy / "indicators.yaml", lambda d: d["indicators"][0].update(value_type="percent"))
    result = CliRunner().invoke(app, ["catalog", "check", "--catalog-dir", str(catalog_copy)])
    assert result.exit_code == 1
    assert "indicators.yaml" in result.output
    assert "value_type" in result.output
    ok = CliRunner().invoke(app, ["catalog", "check"])
    assert ok.exit_code == 0, ok.output


def test_export_needs_no_database(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody:nothing@127.0.0.1:1/none")
    get_settings.cache_clear()
    result = CliRunner().invoke(app, ["catalog", "export", "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert len(rows) == sum(len(p.targets) for p in load_plans())
    for row in rows:
        for key in (
            "plan_id",
            "indicator",
            "target_year",
            "kind",
            "operator",
            "value",
            "value_max",
            "every_year",
        ):
            assert key in row
        assert set(row["jurisdiction"]) >= {"name", "code", "valid_from", "valid_to"}
        assert set(row["source"]) == {"document", "section", "quote"}
        for key in ("lead_agency", "parent", "relative_to", "milestone_object", "baseline"):
            assert key in row
    by_plan = {r["plan_id"] for r in rows}
    assert {"ninh-thuan-319-ctr-tu", "quang-nam-60-ctr-tu", "binh-dinh-ctr-57"} <= by_plan
    nt = next(r for r in rows if r["id"] == "ninh-thuan-319-ctr-tu.t04")
    assert nt["jurisdiction"] == {
        "id": "old-58",
        "name": "Ninh Thuận",
        "code": "58",
        "valid_from": None,
        "valid_to": "2025-06-30",
    }
