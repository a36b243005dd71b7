DROP INDEX affected_subjects_guardian_phone;
DROP INDEX affected_subjects_guardian_email;
DROP INDEX affected_subjects_phone;
DROP INDEX affected_subjects_email;
DROP TABLE bulletin_inquiries;
ALTER TABLE bulletins DROP COLUMN inquiry_key;
