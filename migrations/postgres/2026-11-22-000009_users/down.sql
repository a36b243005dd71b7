DROP INDEX audit_log_target;
DROP TABLE sign_in_failures;
DROP TABLE sessions;
DROP TABLE password_links;
DROP TABLE users;
