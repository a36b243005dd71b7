DROP TABLE report_shares;
DROP TABLE report_answers;
DROP TABLE report_versions;
