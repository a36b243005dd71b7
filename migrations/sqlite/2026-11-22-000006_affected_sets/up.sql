-- Affected sets get a small integer key. Each recompute writes a new set and
-- points the scope at it; the superseded set is purged afterwards in its own
-- transaction, so a recompute neither deletes nor stores two UUIDs per row
-- (about 70 bytes of a 150-byte row).
CREATE TABLE affected_sets (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id TEXT NOT NULL REFERENCES incidents (id),
    created_at TIMESTAMP NOT NULL
);

ALTER TABLE incident_scopes ADD COLUMN set_id BIGINT;

INSERT INTO affected_sets (incident_id, created_at)
SELECT incident_id, COALESCE(computed_at, updated_at) FROM incident_scopes;

UPDATE incident_scopes
SET set_id = (SELECT a.id FROM affected_sets a WHERE a.incident_id = incident_scopes.incident_id);

ALTER TABLE affected_subjects RENAME TO affected_subjects_by_incident;

-- The materialised affected set (see 000003 for the columns).
CREATE TABLE affected_subjects (
    set_id BIGINT NOT NULL,
    external_id TEXT NOT NULL,
    name TEXT,
    email TEXT,
    phone TEXT,
    locale TEXT,
    jurisdiction TEXT,
    minor BOOLEAN NOT NULL,
    guardian_name TEXT,
    guardian_email TEXT,
    guardian_phone TEXT,
    push_token TEXT,
    postal_address TEXT,
    preferred_channel TEXT,
    exposed_categories BIGINT NOT NULL,
    channels INTEGER NOT NULL,
    PRIMARY KEY (set_id, external_id)
) WITHOUT ROWID;

INSERT INTO affected_subjects
SELECT s.set_id, a.external_id, a.name, a.email, a.phone, a.locale, a.jurisdiction, a.minor,
       a.guardian_name, a.guardian_email, a.guardian_phone, a.push_token, a.postal_address,
       a.preferred_channel, a.exposed_categories, a.channels
FROM affected_subjects_by_incident a
JOIN incident_scopes s ON s.incident_id = a.incident_id;

DROP TABLE affected_subjects_by_incident;
