-- The inquiry desk ("am I affected?") of a public bulletin. Each inquiry is kept
-- only as keyed hashes (HMAC-SHA256 with the bulletin's `inquiry_key`) of the
-- contact asked about and of the client's address, with its time: enough to
-- throttle per contact and per client and to send a person's notice at most once
-- a day, never the contact in clear, never whether it matched (the bulletin's
-- counters `inquiries` / `inquiries_matched` hold the totals for the report).
ALTER TABLE bulletins ADD COLUMN inquiry_key TEXT;

CREATE TABLE bulletin_inquiries (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    bulletin_id TEXT NOT NULL REFERENCES bulletins (id),
    contact_hash TEXT NOT NULL,
    client_hash TEXT NOT NULL,
    at TIMESTAMP NOT NULL
);
CREATE INDEX bulletin_inquiries_contact ON bulletin_inquiries (bulletin_id, contact_hash, at);
CREATE INDEX bulletin_inquiries_client ON bulletin_inquiries (bulletin_id, client_hash, at);

-- An inquiry looks the contact up in the incident's affected set.
CREATE INDEX affected_subjects_email ON affected_subjects (set_id, email) WHERE email IS NOT NULL;
CREATE INDEX affected_subjects_phone ON affected_subjects (set_id, phone) WHERE phone IS NOT NULL;
CREATE INDEX affected_subjects_guardian_email ON affected_subjects (set_id, guardian_email) WHERE guardian_email IS NOT NULL;
CREATE INDEX affected_subjects_guardian_phone ON affected_subjects (set_id, guardian_phone) WHERE guardian_phone IS NOT NULL;
