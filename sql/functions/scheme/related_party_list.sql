-- GET /v1/related-parties: the visible declarations, optionally of one provider or institute.
CREATE FUNCTION related_party_list(p_actor jsonb, p_provider uuid, p_institute uuid, p_after uuid,
                                   p_limit integer)
RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT page_json(jsonb_agg(related_party_json(x.r) ORDER BY (x.r).id), p_limit) FROM (
    SELECT r FROM related_parties r
     WHERE related_party_visible(p_actor, r)
       AND (p_provider IS NULL OR r.provider_id = p_provider)
       AND (p_institute IS NULL OR r.institute_id = p_institute)
       AND (p_after IS NULL OR r.id > p_after)
     ORDER BY r.id LIMIT p_limit + 1) x
$$;
