-- The delivery state machine (docs/ARCHITECTURE.md).

-- Guardians' own contacts per channel: a notice for a guardian goes only to a
-- guardian contact, never to the child's device or address.
ALTER TABLE subjects ADD COLUMN guardian_push_token TEXT;
ALTER TABLE subjects ADD COLUMN guardian_postal_address TEXT;
ALTER TABLE affected_subjects ADD COLUMN guardian_push_token TEXT;
ALTER TABLE affected_subjects ADD COLUMN guardian_postal_address TEXT;

-- The locale a person wanted, beside the one their notice uses.
ALTER TABLE plan_entries ADD COLUMN wanted_locale TEXT;
ALTER TABLE dispatch_recipients ADD COLUMN wanted_locale TEXT;

-- People whom a published bulletin covers instead of an individual notice:
-- "bulletin <id> v<n>".
ALTER TABLE dispatch_recipients ADD COLUMN covered_by TEXT;

-- Warnings shown at approval (language downgrades), and cancellation.
ALTER TABLE dispatches ADD COLUMN warnings TEXT NOT NULL DEFAULT '[]';
ALTER TABLE dispatches ADD COLUMN cancelled_by TEXT;
ALTER TABLE dispatches ADD COLUMN cancelled_at TIMESTAMP;

-- Whether the tenant's send window still holds a queued message back:
-- applies | held (until run_at) | released (by an approver).
ALTER TABLE outbox ADD COLUMN send_window TEXT NOT NULL DEFAULT 'applies';
CREATE INDEX outbox_dispatch_status ON outbox (dispatch_id, status);

-- Why an obligation to notify people is still open after its dispatch completed.
ALTER TABLE obligations ADD COLUMN status_note TEXT;

-- Relays a worker has paused after relay-wide failures (refused connections,
-- timeouts, 421): people's attempts are not spent while a relay is paused.
CREATE TABLE relay_pauses (
    relay TEXT PRIMARY KEY NOT NULL,
    channel TEXT NOT NULL,
    paused_since TIMESTAMP NOT NULL,
    paused_until TIMESTAMP NOT NULL,
    reason TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
