-- The cursor of a row under a sort key: base64url("<sort>|<value>|<id>"), opaque to clients.
-- Immutable all through, so that the planner inlines it into offer_search's statement instead
-- of parsing and planning its body on every search: the text is ASCII without backslashes (a
-- sort key, a number, a UUID), which decode(..., 'escape') turns into its bytes unchanged.
CREATE FUNCTION offer_cursor(p_sort text, p_value text, p_id uuid) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT rtrim(translate(replace(encode(decode(p_sort || '|' || coalesce(p_value, '') || '|' || p_id::text,
                                               'escape'), 'base64'), E'\n', ''), '+/', '-_'), '=')
$$;
