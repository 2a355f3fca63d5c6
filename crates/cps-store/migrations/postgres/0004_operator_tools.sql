-- Operator tools and webhooks: secret rotation with a grace period, a
-- callback URL per client, catalog overrides, refunds, and the durable
-- outbox of webhook deliveries with a log of every attempt.

-- During a rotation the previous secret keeps working until it expires.
ALTER TABLE clients ADD COLUMN previous_secret TEXT;
ALTER TABLE clients ADD COLUMN previous_secret_expires_at_ms BIGINT;
ALTER TABLE clients ADD COLUMN callback_url TEXT;

ALTER TABLE operations ADD COLUMN refunded_at_ms BIGINT;
ALTER TABLE operations ADD COLUMN refund_reason TEXT;

-- A NULL column keeps the catalog file's value.
CREATE TABLE service_overrides (
    service_id       BIGINT PRIMARY KEY,
    min_amount_cents BIGINT CHECK (min_amount_cents > 0),
    max_amount_cents BIGINT CHECK (max_amount_cents > 0),
    enabled          BIGINT CHECK (enabled IN (0, 1)),
    can_get_balance  BIGINT CHECK (can_get_balance IN (0, 1)),
    updated_at_ms    BIGINT NOT NULL
);

ALTER TABLE postings DROP CONSTRAINT postings_kind_check;
ALTER TABLE postings ADD CONSTRAINT postings_kind_check
    CHECK (kind IN ('credit', 'reserve', 'capture', 'release', 'refund'));

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
    attempts           BIGINT NOT NULL DEFAULT 0,
    next_attempt_at_ms BIGINT NOT NULL,
    last_error         TEXT,
    created_at_ms      BIGINT NOT NULL,
    delivered_at_ms    BIGINT,
    CONSTRAINT webhook_deliveries_operation_event_key UNIQUE (operation_id, event)
);

CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at_ms) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_client ON webhook_deliveries (client_id, created_at_ms);

CREATE TABLE webhook_attempts (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    delivery_id     TEXT NOT NULL REFERENCES webhook_deliveries (id),
    url             TEXT NOT NULL,
    status_code     BIGINT,
    error           TEXT,
    duration_ms     BIGINT NOT NULL,
    attempted_at_ms BIGINT NOT NULL
);

CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id);
