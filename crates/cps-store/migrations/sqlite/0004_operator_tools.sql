-- Operator tools and webhooks: secret rotation with a grace period, a
-- callback URL per client, catalog overrides, refunds, and the durable
-- outbox of webhook deliveries with a log of every attempt.

-- During a rotation the previous secret keeps working until it expires.
ALTER TABLE clients ADD COLUMN previous_secret TEXT;
ALTER TABLE clients ADD COLUMN previous_secret_expires_at_ms INTEGER;
ALTER TABLE clients ADD COLUMN callback_url TEXT;

ALTER TABLE operations ADD COLUMN refunded_at_ms INTEGER;
ALTER TABLE operations ADD COLUMN refund_reason TEXT;

-- A NULL column keeps the catalog file's value.
CREATE TABLE service_overrides (
    service_id       INTEGER PRIMARY KEY,
    min_amount_cents INTEGER CHECK (min_amount_cents > 0),
    max_amount_cents INTEGER CHECK (max_amount_cents > 0),
    enabled          INTEGER CHECK (enabled IN (0, 1)),
    can_get_balance  INTEGER CHECK (can_get_balance IN (0, 1)),
    updated_at_ms    INTEGER NOT NULL
);

-- SQLite cannot change a CHECK constraint in place, so the postings table is
-- rebuilt to accept refunds; rows keep their ids.
CREATE TABLE postings_new (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    kind          TEXT NOT NULL CHECK (kind IN ('credit', 'reserve', 'capture', 'release', 'refund')),
    from_account  TEXT NOT NULL REFERENCES accounts (id),
    to_account    TEXT NOT NULL REFERENCES accounts (id),
    amount_cents  INTEGER NOT NULL CHECK (amount_cents > 0),
    operation_id  TEXT REFERENCES operations (id),
    created_at_ms INTEGER NOT NULL,
    CHECK (from_account <> to_account)
);
INSERT INTO postings_new (id, kind, from_account, to_account, amount_cents, operation_id, created_at_ms)
SELECT id, kind, from_account, to_account, amount_cents, operation_id, created_at_ms FROM postings;
DROP TABLE postings;
ALTER TABLE postings_new RENAME TO postings;
CREATE INDEX postings_operation ON postings (operation_id);

-- One row per event to deliver, written in the same transaction as the state
-- change it reports, so no final outcome is lost. Its id is the event id a
-- receiver uses to ignore a repeated delivery.
CREATE TABLE webhook_deliveries (
    id                 TEXT PRIMARY KEY,
    client_id          TEXT NOT NULL REFERENCES clients (id),
    operation_id       TEXT NOT NULL REFERENCES operations (id),
    event              TEXT NOT NULL
                       CHECK (event IN ('operation.approved', 'operation.rejected', 'operation.refunded')),
    status             TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts           INTEGER NOT NULL DEFAULT 0,
    next_attempt_at_ms INTEGER NOT NULL,
    last_error         TEXT,
    created_at_ms      INTEGER NOT NULL,
    delivered_at_ms    INTEGER,
    CONSTRAINT webhook_deliveries_operation_event_key UNIQUE (operation_id, event)
);

CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at_ms) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_client ON webhook_deliveries (client_id, created_at_ms);

CREATE TABLE webhook_attempts (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    delivery_id     TEXT NOT NULL REFERENCES webhook_deliveries (id),
    url             TEXT NOT NULL,
    status_code     INTEGER,
    error           TEXT,
    duration_ms     INTEGER NOT NULL,
    attempted_at_ms INTEGER NOT NULL
);

CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id);
