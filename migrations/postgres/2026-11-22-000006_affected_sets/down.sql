ALTER TABLE affected_subjects RENAME TO affected_subjects_by_set;
ALTER INDEX affected_subjects_pkey RENAME TO affected_subjects_by_set_pkey;

CREATE TABLE affected_subjects (
    incident_id TEXT NOT NULL,
    external_id TEXT NOT NULL,
    tenant_id TEXT NOT NULL,
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
    PRIMARY KEY (incident_id, external_id)
);

INSERT INTO affected_subjects
SELECT s.incident_id, a.external_id, s.tenant_id, a.name, a.email, a.phone, a.locale, a.jurisdiction,
       a.minor, a.guardian_name, a.guardian_email, a.guardian_phone, a.push_token, a.postal_address,
       a.preferred_channel, a.exposed_categories, a.channels
FROM affected_subjects_by_set a
JOIN incident_scopes s ON s.set_id = a.set_id;

DROP TABLE affected_subjects_by_set;
ALTER TABLE incident_scopes DROP COLUMN set_id;
DROP TABLE affected_sets;
