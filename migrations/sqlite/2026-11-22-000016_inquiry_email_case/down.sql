DROP INDEX affected_subjects_guardian_email_lower;
DROP INDEX affected_subjects_email_lower;
CREATE INDEX affected_subjects_email ON affected_subjects (set_id, email) WHERE email IS NOT NULL;
CREATE INDEX affected_subjects_guardian_email ON affected_subjects (set_id, guardian_email) WHERE guardian_email IS NOT NULL;
