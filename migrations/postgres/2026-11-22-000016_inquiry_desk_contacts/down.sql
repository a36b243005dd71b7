DROP TABLE desk_contacts;
ALTER TABLE affected_sets DROP COLUMN desk_ready;
CREATE INDEX affected_subjects_email ON affected_subjects (set_id, email) WHERE email IS NOT NULL;
CREATE INDEX affected_subjects_phone ON affected_subjects (set_id, phone) WHERE phone IS NOT NULL;
CREATE INDEX affected_subjects_guardian_email ON affected_subjects (set_id, guardian_email) WHERE guardian_email IS NOT NULL;
CREATE INDEX affected_subjects_guardian_phone ON affected_subjects (set_id, guardian_phone) WHERE guardian_phone IS NOT NULL;
