-- Settlement of pending operations: each keeps a visible count of attempts,
-- its last error, when it may be tried next, and whether an operator must
-- look at it because it could not be settled in time.

ALTER TABLE operations ADD COLUMN settle_attempts BIGINT NOT NULL DEFAULT 0;
ALTER TABLE operations ADD COLUMN last_settle_error TEXT;
ALTER TABLE operations ADD COLUMN next_settle_at_ms BIGINT NOT NULL DEFAULT 0;
ALTER TABLE operations ADD COLUMN needs_operator BIGINT NOT NULL DEFAULT 0 CHECK (needs_operator IN (0, 1));

DROP INDEX operations_pending;
CREATE INDEX operations_pending ON operations (next_settle_at_ms, created_at_ms)
    WHERE status = 'pending' AND needs_operator = 0;
