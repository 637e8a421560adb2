-- The offer and its version (the ETag); no row when it does not exist or is not visible.
CREATE FUNCTION offer_get(p_actor jsonb, p_id uuid) RETURNS TABLE (offer jsonb, version integer)
LANGUAGE sql STABLE AS $$
  SELECT offer_json(o), o.version FROM offers o WHERE o.id = p_id AND offer_visible(p_actor, o)
$$;
