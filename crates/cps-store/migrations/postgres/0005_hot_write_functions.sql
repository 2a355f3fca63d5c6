-- The pay flow's two hot writes as functions, so each is one round trip and
-- one implicit transaction instead of about eight statements. SQLite runs
-- the same steps in-process (src/sqlite_hot_writes.rs), where a statement
-- costs no round trip.
--
-- Account ids follow the store's naming: 'float:', 'reserved:' and
-- 'payable:' followed by the client id. Every writer locks a client's
-- accounts in that order (float, then reserved, then payable), so two
-- payments of one client wait for each other instead of deadlocking.

-- Records the request's nonce when one is given, then stores a payment as
-- pending and reserves its amount, unless the nonce was seen before, the
-- client's reference exists or its float does not cover the amount. The
-- nonce goes first, so a replay waits for the first request's commit and is
-- then refused. Locking the float row next makes payments of one client
-- wait for each other, so no one inserts the same reference between the
-- check and the insert.
CREATE FUNCTION cps_reserve(
    p_operation_id TEXT, p_client_id TEXT, p_reference TEXT, p_service_id BIGINT, p_number TEXT,
    p_amount_cents BIGINT, p_now_ms BIGINT, p_api_key TEXT, p_nonce TEXT, p_signature TEXT
) RETURNS TABLE (outcome TEXT, float_cents BIGINT, existing_id TEXT)
LANGUAGE plpgsql AS $$
DECLARE
    v_float_account TEXT := 'float:' || p_client_id;
    v_reserved_account TEXT := 'reserved:' || p_client_id;
    v_float BIGINT;
    v_existing TEXT;
BEGIN
    IF p_nonce IS NOT NULL THEN
        INSERT INTO request_nonces (api_key, nonce, signature, seen_at_ms)
        VALUES (p_api_key, p_nonce, p_signature, p_now_ms)
        ON CONFLICT DO NOTHING;
        IF NOT FOUND THEN
            RETURN QUERY SELECT 'nonce_reused'::TEXT, NULL::BIGINT, NULL::TEXT;
            RETURN;
        END IF;
    END IF;

    SELECT balance_cents INTO v_float FROM accounts WHERE id = v_float_account FOR UPDATE;

    IF p_reference IS NOT NULL THEN
        SELECT id INTO v_existing FROM operations WHERE client_id = p_client_id AND reference = p_reference;
        IF FOUND THEN
            RETURN QUERY SELECT 'reference_exists'::TEXT, v_float, v_existing;
            RETURN;
        END IF;
    END IF;

    IF v_float < p_amount_cents THEN
        RETURN QUERY SELECT 'insufficient_funds'::TEXT, v_float, NULL::TEXT;
        RETURN;
    END IF;

    UPDATE accounts SET balance_cents = balance_cents - p_amount_cents WHERE id = v_float_account
    RETURNING balance_cents INTO v_float;
    INSERT INTO operations (id, client_id, reference, service_id, number, amount_cents, status, created_at_ms)
    VALUES (p_operation_id, p_client_id, p_reference, p_service_id, p_number, p_amount_cents, 'pending', p_now_ms);
    UPDATE accounts SET balance_cents = balance_cents + p_amount_cents WHERE id = v_reserved_account;
    INSERT INTO postings (kind, from_account, to_account, amount_cents, operation_id, created_at_ms)
    VALUES ('reserve', v_float_account, v_reserved_account, p_amount_cents, p_operation_id, p_now_ms);
    INSERT INTO operation_events (operation_id, status, cause, created_at_ms)
    VALUES (p_operation_id, 'pending', 'accepted', p_now_ms);

    RETURN QUERY SELECT 'reserved'::TEXT, v_float, NULL::TEXT;
END;
$$;

-- Moves a pending operation to 'approved' or 'rejected' with its posting,
-- event and webhook. An operation already final is left alone, so a second
-- finalizer (the settler racing the pay flow) posts nothing: the UPDATE locks
-- the row, and the loser finds it final. Returns whether it changed the
-- operation, and the client's float afterwards.
CREATE FUNCTION cps_finalize(
    p_operation_id TEXT, p_status TEXT, p_provider_reference TEXT, p_reject_reason TEXT, p_cause TEXT,
    p_now_ms BIGINT, p_delivery_id TEXT
) RETURNS TABLE (changed BOOLEAN, float_cents BIGINT)
LANGUAGE plpgsql AS $$
DECLARE
    v_client TEXT;
    v_amount BIGINT;
    v_target TEXT;
BEGIN
    IF p_status NOT IN ('approved', 'rejected') THEN
        RAISE EXCEPTION 'cps_finalize: status % is not final', p_status;
    END IF;

    UPDATE operations
    SET status = p_status, provider_reference = p_provider_reference, reject_reason = p_reject_reason,
        completed_at_ms = p_now_ms, answered = 1
    WHERE id = p_operation_id AND status = 'pending'
    RETURNING client_id, amount_cents INTO v_client, v_amount;

    IF NOT FOUND THEN
        SELECT client_id INTO STRICT v_client FROM operations WHERE id = p_operation_id;
        RETURN QUERY SELECT FALSE, balance_cents FROM accounts WHERE id = 'float:' || v_client;
        RETURN;
    END IF;

    v_target := CASE WHEN p_status = 'approved' THEN 'payable:' ELSE 'float:' END || v_client;
    -- A release credits the float, which comes before 'reserved' in the lock
    -- order, so it is locked first.
    IF p_status = 'rejected' THEN
        PERFORM 1 FROM accounts WHERE id = 'float:' || v_client FOR UPDATE;
    END IF;
    UPDATE accounts SET balance_cents = balance_cents - v_amount WHERE id = 'reserved:' || v_client;
    UPDATE accounts SET balance_cents = balance_cents + v_amount WHERE id = v_target;
    INSERT INTO postings (kind, from_account, to_account, amount_cents, operation_id, created_at_ms)
    VALUES (CASE WHEN p_status = 'approved' THEN 'capture' ELSE 'release' END,
            'reserved:' || v_client, v_target, v_amount, p_operation_id, p_now_ms);
    INSERT INTO operation_events (operation_id, status, cause, created_at_ms)
    VALUES (p_operation_id, p_status, p_cause, p_now_ms);
    INSERT INTO webhook_deliveries
        (id, client_id, operation_id, event, status, attempts, next_attempt_at_ms, created_at_ms)
    SELECT p_delivery_id, id, p_operation_id, 'operation.' || p_status, 'pending', 0, p_now_ms, p_now_ms
    FROM clients WHERE id = v_client AND callback_url IS NOT NULL
    ON CONFLICT (operation_id, event) DO NOTHING;

    RETURN QUERY SELECT TRUE, balance_cents FROM accounts WHERE id = 'float:' || v_client;
END;
$$;
