-- GET /v1/offers in one round trip (api/offers.c, RF_ONE_TRIP): the caller's authentication
-- (the keyed hash of its API key or of its session token; a search is a GET, so a cookie needs
-- no X-CSRF-Token) and the search travel as one statement. Returns the principal's five columns
-- (user, role, organization, city, API key or session) and the page offer_search answers for
-- the actor api_actor() would build; no row for unknown, revoked or expired credentials or a
-- disabled user, and the server then takes its usual path, which answers 401 as it always has.
-- Any role may search (the route admits every role); offer_search applies the own-offers rule
-- of the statuses other than active to the actor.
CREATE FUNCTION offer_search_as(p_token_hash text, p_cookie boolean, p_request_id text,
                                p_ip text, p_f jsonb, p_sort text, p_after text,
                                p_after_id uuid, p_limit integer,
                                OUT w_user uuid, OUT w_role text, OUT w_org uuid,
                                OUT w_city text, OUT w_credential uuid, OUT w_page json)
RETURNS SETOF record LANGUAGE plpgsql STABLE AS $$
BEGIN
  IF p_cookie THEN
    SELECT u.id, u.role, u.organization_id, coalesce(o.city_id::text, ''), s.id
      INTO w_user, w_role, w_org, w_city, w_credential
      FROM sessions s JOIN users u ON u.id = s.user_id
      JOIN organizations o ON o.id = u.organization_id
     WHERE s.token_hash = p_token_hash AND s.expires_at > now() AND u.disabled_at IS NULL;
  ELSE
    SELECT u.id, u.role, u.organization_id, coalesce(o.city_id::text, ''), k.id
      INTO w_user, w_role, w_org, w_city, w_credential
      FROM api_keys k JOIN users u ON u.id = k.user_id
      JOIN organizations o ON o.id = u.organization_id
     WHERE k.key_hash = p_token_hash AND k.revoked_at IS NULL AND u.disabled_at IS NULL;
  END IF;
  IF w_user IS NULL THEN
    RETURN;
  END IF;
  w_page := offer_search(
    jsonb_build_object('request_id', p_request_id, 'ip', p_ip, 'user_id', w_user,
                       'role', w_role, 'org_id', w_org, 'city_id', w_city),
    p_f, p_sort, p_after, p_after_id, p_limit);
  RETURN NEXT;
END $$;
