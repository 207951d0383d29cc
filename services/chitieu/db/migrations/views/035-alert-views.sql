-- Alert views for dashboards and the API; re-applied on every migrate.
DROP VIEW IF EXISTS alerts_active CASCADE;
CREATE VIEW alerts_active AS
SELECT a.id, a.rule, a.severity, a.plan_id, a.jurisdiction_id, a.indicator_code, a.target_year,
       a.target_id, a.summary_vi, a.summary_en, a.labels, a.opened_at, a.last_seen_at,
       a.last_notified_at, a.episode, a.notify_count,
       a.silenced_by IS NOT NULL AS silenced
FROM alerts a
WHERE a.state = 'firing';

DROP VIEW IF EXISTS notification_outbox_summary CASCADE;
CREATE VIEW notification_outbox_summary AS
SELECT channel, status, count(*) AS notifications, max(sent_at) AS last_sent_at,
       min(next_attempt_at) FILTER (WHERE status = 'pending') AS next_attempt_at
FROM notification_outbox
GROUP BY channel, status;
