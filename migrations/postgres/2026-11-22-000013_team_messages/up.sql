-- The team's outbox: reminders and digests for the incident-response team (e-mail
-- to the team's addresses, or a signed JSON post to its chat webhook). Queued in the
-- transaction that claims the reminder (`reminders`, unique per subject, threshold
-- and deadline), then claimed by the dispatch worker with a lease like `outbox`
-- rows (locked_at, locked_by, attempts, run_at) and sent with no transaction open.
-- Not `outbox` itself: its rows are a dispatch's person on one channel (dispatch
-- foreign key, notice composition, delivery states, obligations met).
CREATE TABLE team_messages (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    reminder_id TEXT NOT NULL REFERENCES reminders (id),
    channel TEXT NOT NULL,
    address TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    status TEXT NOT NULL,
    run_at TIMESTAMP NOT NULL,
    locked_at TIMESTAMP,
    locked_by TEXT,
    attempts INTEGER NOT NULL,
    last_error TEXT,
    sent_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX team_messages_claim ON team_messages (status, run_at);
CREATE INDEX team_messages_reminder ON team_messages (reminder_id);
