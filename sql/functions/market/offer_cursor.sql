-- The cursor of a row under a sort key: base64url("<sort>|<value>|<id>"), opaque to clients.
CREATE FUNCTION offer_cursor(p_sort text, p_value text, p_id uuid) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT rtrim(translate(replace(encode(convert_to(p_sort || '|' || coalesce(p_value, '') || '|' || p_id, 'UTF8'),
                                        'base64'), E'\n', ''), '+/', '-_'), '=')
$$;
