-- The inquiry desk matches e-mail addresses whatever their case ("Aiko@Example.JP"
-- in the registry, "aiko@example.jp" typed on the bulletin page): the lookup
-- compares lower(email) with one value, so the index is on that expression. Not
-- partial: SQLite (without ANALYZE statistics) then reads the answer from the index
-- alone, where a partial index lost to the primary key and scanned the whole set.
DROP INDEX affected_subjects_email;
DROP INDEX affected_subjects_guardian_email;
CREATE INDEX affected_subjects_email_lower ON affected_subjects (set_id, lower(email));
CREATE INDEX affected_subjects_guardian_email_lower ON affected_subjects (set_id, lower(guardian_email));
