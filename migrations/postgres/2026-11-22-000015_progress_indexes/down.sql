DROP INDEX dispatch_recipients_state;
CREATE INDEX outbox_dispatch_status ON outbox (dispatch_id, status);
DROP INDEX outbox_dispatch_progress;
