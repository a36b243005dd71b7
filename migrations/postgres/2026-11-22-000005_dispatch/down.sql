DROP TABLE delivery_attempts;
DROP TABLE outbox;
DROP TABLE dispatch_recipients;
DROP TABLE dispatches;
DROP TABLE plan_entries;
DROP TABLE notice_plans;
