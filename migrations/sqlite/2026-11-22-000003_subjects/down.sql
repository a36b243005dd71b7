DROP TABLE affected_subjects;
DROP TABLE scope_subject_ids;
DROP TABLE incident_scopes;
DROP TABLE subjects;
