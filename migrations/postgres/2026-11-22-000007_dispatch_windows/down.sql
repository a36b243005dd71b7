DROP INDEX delivery_attempts_at;
DROP INDEX outbox_receipt_due;
ALTER TABLE outbox DROP COLUMN receipt_due_at;
