DROP TABLE bulletin_checklist;
DROP TABLE bulletin_versions;
DROP TABLE bulletins;
