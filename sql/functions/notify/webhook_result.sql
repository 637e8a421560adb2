-- What one attempt of a leased delivery came to: logged; a 2xx answer delivers it; anything
-- else makes it due again after a backoff doubling from 1 s (capped at one hour), until the
-- 12th attempt fails it for good. An attempt whose lease was lost meanwhile (another worker
-- took the delivery over) is only logged.
CREATE FUNCTION webhook_result(p_id uuid, p_attempt integer, p_http_status integer,
                               p_error text, p_duration_ms integer)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  v_ok boolean := p_http_status BETWEEN 200 AND 299;
BEGIN
  INSERT INTO webhook_attempts (delivery_id, attempt, http_status, error, duration_ms)
  VALUES (p_id, p_attempt, p_http_status, left(p_error, 500), p_duration_ms)
  ON CONFLICT DO NOTHING;
  UPDATE webhook_deliveries
     SET status = CASE WHEN v_ok THEN 'delivered' WHEN attempts >= 12 THEN 'failed' ELSE 'pending' END,
         finished_at = CASE WHEN v_ok OR attempts >= 12 THEN now() END,
         next_attempt_at = now() + make_interval(secs => least(3600, 2 ^ (attempts - 1))),
         lease_until = NULL,
         last_error = CASE WHEN v_ok THEN NULL
                           ELSE coalesce(left(p_error, 500), 'HTTP ' || p_http_status) END
   WHERE id = p_id AND attempts = p_attempt AND status = 'pending';
END $$;
