-- One page of a keyset-paginated list, from up to p_limit + 1 items (JSON objects with an "id",
-- in id order; NULL for none): the first p_limit as "items", and "next_cursor", the id of the
-- last item shown, when one more exists.
CREATE FUNCTION page_json(p_rows jsonb, p_limit integer) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
  SELECT jsonb_build_object(
    'items', coalesce((SELECT jsonb_agg(e ORDER BY n) FROM jsonb_array_elements(p_rows) WITH ORDINALITY t(e, n)
                        WHERE n <= p_limit), '[]'),
    'next_cursor', CASE WHEN jsonb_array_length(coalesce(p_rows, '[]')) > p_limit
                        THEN p_rows->(p_limit - 1)->>'id' END)
$$;
