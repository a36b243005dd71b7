-- When a sent message's delivery receipt is due: a provider that sends receipts
-- gets the channel's receipt timeout; a row still `sent` after it has failed and
-- its person moves to their next channel. Kept on the failed row, so a receipt
-- that arrives late is recognised (and written to the ledger once).
ALTER TABLE outbox ADD COLUMN receipt_due_at TIMESTAMP;
CREATE INDEX outbox_receipt_due ON outbox (status, receipt_due_at) WHERE receipt_due_at IS NOT NULL;

-- The sending rate of a dispatch is counted from the attempts of the last minute.
CREATE INDEX delivery_attempts_at ON delivery_attempts (at);
