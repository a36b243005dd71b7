DROP TABLE incident_evaluations;
DROP TABLE obligations;
ALTER TABLE tenants DROP COLUMN profile;
