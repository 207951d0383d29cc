-- Reports actually submitted for a plan's reporting obligations. A due date of an obligation stays
-- overdue on the dashboards (and in the report-due alert) until a report for it is recorded here.
-- No foreign key to reporting_obligations: reloading the catalog must never drop the record of a
-- report that was filed.
CREATE TABLE report_submissions (
    plan_id       text NOT NULL,
    code          text NOT NULL,
    due_date      date NOT NULL,          -- the due date this report answers
    submitted_on  date NOT NULL,
    reference     text,                   -- document number or link of the report
    recorded_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (plan_id, code, due_date)
);

GRANT SELECT ON report_submissions TO chitieu_readonly;
