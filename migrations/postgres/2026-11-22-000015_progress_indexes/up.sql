-- Progress of a dispatch is read while it sends (the API and the incident page poll
-- it): its counts come from these indexes alone, without visiting the rows.
CREATE INDEX outbox_dispatch_progress ON outbox (dispatch_id, channel, status, send_window, run_at);
DROP INDEX outbox_dispatch_status;
CREATE INDEX dispatch_recipients_state ON dispatch_recipients (dispatch_id, state);
