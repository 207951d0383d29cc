-- Targets with their plan, jurisdiction and indicator names: one row per target.
DROP VIEW IF EXISTS targets_detail CASCADE;
CREATE VIEW targets_detail AS
SELECT t.id AS target_id,
       t.plan_id,
       p.document_number,
       p.issuer,
       t.jurisdiction_id,
       j.name AS jurisdiction_name,
       j.code AS jurisdiction_code,
       j.valid_from AS jurisdiction_valid_from,
       j.valid_to AS jurisdiction_valid_to,
       t.indicator_code,
       i.name_vi AS indicator_name_vi,
       i.name_en AS indicator_name_en,
       i.unit,
       i.direction,
       t.target_year,
       t.kind,
       t.operator,
       t.value,
       t.value_max,
       t.every_year,
       t.parent_target_id,
       t.relative_to,
       t.milestone_object,
       t.due_date,
       t.baseline_year,
       t.baseline_value,
       t.baseline_note,
       t.lead_agency,
       t.phrase,
       t.cite_document,
       t.cite_section,
       t.cite_quote,
       t.needs_review,
       t.notes
FROM targets t
JOIN plans p ON p.id = t.plan_id
JOIN jurisdictions j ON j.id = t.jurisdiction_id
JOIN indicators i ON i.code = t.indicator_code;
