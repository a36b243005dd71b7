DROP TABLE reminders;
DROP TABLE tasks;
DROP TABLE incident_runbooks;
