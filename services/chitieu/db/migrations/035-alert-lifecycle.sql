-- Alert lifecycle bookkeeping. Never edit after it lands: add 036, 037...

-- An episode is one firing..resolved stretch of an alert; a re-open starts the next one.
-- Outbox dedup keys are built from (alert id, episode, event, notify_count), never from a clock,
-- so re-running a sync with the same inputs enqueues nothing new.
ALTER TABLE alerts
    ADD COLUMN episode       integer NOT NULL DEFAULT 1,
    ADD COLUMN notify_count  integer NOT NULL DEFAULT 0,   -- notices sent in the current episode
    ADD COLUMN silenced_by   bigint REFERENCES alert_silences (id),
    ADD COLUMN opened_at     timestamptz;                  -- start of the current episode

UPDATE alerts SET opened_at = first_fired_at WHERE opened_at IS NULL;

-- State transitions only (opened, reopened, resolved, notified, suppressed): one row each.
CREATE TABLE alert_events (
    id        bigserial PRIMARY KEY,
    alert_id  bigint NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    at        timestamptz NOT NULL,
    episode   integer NOT NULL,
    event     text NOT NULL CHECK (event IN ('opened', 'reopened', 'resolved', 'notified', 'suppressed')),
    detail    jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX alert_events_alert_idx ON alert_events (alert_id, at);
CREATE INDEX alert_events_at_idx ON alert_events (at DESC);

CREATE INDEX alerts_labels_idx ON alerts USING gin (labels);
CREATE INDEX notification_outbox_alert_idx ON notification_outbox (alert_id);
