-- Clients, their float accounts, operations, the double-entry ledger and the
-- nonce replay records. Times are Unix milliseconds (UTC); amounts are integer
-- cents of VES. Integers are BIGINT so both databases decode them as i64.

CREATE TABLE clients (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    api_key       TEXT NOT NULL UNIQUE,
    -- HMAC needs the secret itself, so it cannot be stored as a one-way hash.
    secret        TEXT NOT NULL,
    enabled       BIGINT NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    created_at_ms BIGINT NOT NULL
);

-- Each posting moves an amount from one account to another, so the sum of all
-- balances is always zero. `funding` is money received from outside (it goes
-- negative as clients are credited); `biller_payable` is what CPS owes billers.
CREATE TABLE accounts (
    id            TEXT PRIMARY KEY,
    kind          TEXT NOT NULL
                  CHECK (kind IN ('funding', 'biller_payable', 'client_float', 'client_reserved')),
    client_id     TEXT REFERENCES clients (id),
    balance_cents BIGINT NOT NULL DEFAULT 0,
    CHECK (kind NOT IN ('client_float', 'client_reserved') OR balance_cents >= 0)
);

INSERT INTO accounts (id, kind) VALUES ('funding', 'funding'), ('biller_payable', 'biller_payable');

CREATE TABLE operations (
    id                 TEXT PRIMARY KEY,
    client_id          TEXT NOT NULL REFERENCES clients (id),
    reference          TEXT,
    service_id         BIGINT NOT NULL,
    number             TEXT NOT NULL,
    amount_cents       BIGINT NOT NULL CHECK (amount_cents > 0),
    status             TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected', 'refunded')),
    provider_reference TEXT,
    -- The biller's reason for a rejection, in its own words; never shown raw.
    reject_reason      TEXT,
    -- 1 once the request that created the operation has sent its answer. A
    -- retry that finds 0 while the operation is young is still in progress.
    answered           BIGINT NOT NULL DEFAULT 0 CHECK (answered IN (0, 1)),
    created_at_ms      BIGINT NOT NULL,
    completed_at_ms    BIGINT,
    CONSTRAINT operations_client_reference_key UNIQUE (client_id, reference)
);

CREATE INDEX operations_client_created ON operations (client_id, created_at_ms);
CREATE INDEX operations_pending ON operations (created_at_ms) WHERE status = 'pending';

CREATE TABLE postings (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind          TEXT NOT NULL CHECK (kind IN ('credit', 'reserve', 'capture', 'release')),
    from_account  TEXT NOT NULL REFERENCES accounts (id),
    to_account    TEXT NOT NULL REFERENCES accounts (id),
    amount_cents  BIGINT NOT NULL CHECK (amount_cents > 0),
    operation_id  TEXT REFERENCES operations (id),
    created_at_ms BIGINT NOT NULL,
    CHECK (from_account <> to_account)
);

CREATE INDEX postings_operation ON postings (operation_id);

-- Append-only history of every state change of an operation.
CREATE TABLE operation_events (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    operation_id  TEXT NOT NULL REFERENCES operations (id),
    status        TEXT NOT NULL,
    cause         TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL
);

CREATE INDEX operation_events_operation ON operation_events (operation_id);

-- One row per accepted signed request. The primary key makes the replay check
-- and its record a single atomic insert, which also holds across instances
-- sharing the database.
CREATE TABLE request_nonces (
    api_key    TEXT NOT NULL,
    nonce      TEXT NOT NULL,
    signature  TEXT NOT NULL,
    seen_at_ms BIGINT NOT NULL,
    PRIMARY KEY (api_key, nonce, signature)
);

CREATE INDEX request_nonces_seen ON request_nonces (seen_at_ms);
