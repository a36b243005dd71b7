-- The inquiry desk looks a contact up in the incident's affected set. Four indexes on
-- affected_subjects (000014) made every recompute of a million people about 2.5 s
-- slower (and the purge of a superseded set 3 s) for a lookup most incidents never
-- make. The desk now keeps its own table, filled from the set the first time a
-- bulletin of the incident takes an inquiry (or is published), and purged with the set:
-- one row per contact (e-mail lower-cased, phone as stored in E.164) and whose it is.
DROP INDEX affected_subjects_email;
DROP INDEX affected_subjects_phone;
DROP INDEX affected_subjects_guardian_email;
DROP INDEX affected_subjects_guardian_phone;

ALTER TABLE affected_sets ADD COLUMN desk_ready BOOLEAN NOT NULL DEFAULT FALSE;

CREATE TABLE desk_contacts (
    set_id BIGINT NOT NULL,
    contact TEXT NOT NULL,
    external_id TEXT NOT NULL,
    audience TEXT NOT NULL,
    PRIMARY KEY (set_id, contact, external_id, audience)
) WITHOUT ROWID;
