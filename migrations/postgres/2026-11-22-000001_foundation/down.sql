DROP TABLE audit_log;
DROP TABLE timeline_entries;
DROP TABLE incidents;
DROP TABLE api_tokens;
DROP TABLE tenants;
