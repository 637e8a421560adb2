-- A refusal caused by one field of the request: the problem slug, the field (a body field such
-- as "vouchers[2].amount_fen", or a query parameter) and what is wrong with it. The server
-- answers the problem with errors: [{field, message}] and detail "<field>: <message>".
CREATE FUNCTION problem_at(p_slug text, p_field text, p_message text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION USING ERRCODE = 'SL000', MESSAGE = p_slug, COLUMN = p_field,
                        DETAIL = p_message;
END $$;
