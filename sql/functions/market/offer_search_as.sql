-- GET /v1/offers in one round trip (api/offers.c, RF_ONE_TRIP): the caller's authentication
-- (the keyed hash of its API key or of its session token; a search is a GET, so a cookie needs
-- no X-CSRF-Token) and the search travel as one statement. No row for unknown, revoked or
-- expired credentials or a disabled user, and the server then takes its usual path, which
-- answers 401 as it always has. Any role may search (the route admits every role);
-- offer_search_rows applies the own-offers rule of the statuses other than active to the actor
-- api_actor() would build.
--
-- The first row is the principal's five columns (user, role, organization, city, API key or
-- session) with its offer columns NULL; each further row is one offer of the page, limit + 1 at
-- most, in the search's order, with the principal's columns NULL: the server reads them once,
-- and repeated on every row they were ~40 % of the values' bytes (153 of ~384 a row).
-- The offer's columns are its fields in the order offer_json's jsonb keeps them (shortest key first, then bytewise; free_units when the
-- search has a window), then the value its cursor holds (offer_search_value). The server
-- renders the page from them, the same bytes offer_search answers (api/offers.c), timestamps
-- as ts() renders them: the database walks the index and the servers, which scale out, build
-- the JSON (in PostgreSQL, offer_json and its four ts() calls cost several times the walk:
-- README, Measurements).
--
-- plan_cache_mode = force_generic_plan: PL/pgSQL's statements are prepared once per connection,
-- but with the plan cache's default a statement whose custom plan looks cheaper (the sort and
-- the filters known) is planned again on every call, and planning the RETURN QUERY inlines
-- offer_free_units and offer_search_value, parsing their bodies each time: that planning was
-- a third of the statement's cost (pgbench, 16 connections: ~4 600 tps, ~6 500 with it).
CREATE FUNCTION offer_search_as(p_token_hash text, p_cookie boolean, p_request_id text,
                                p_ip text, p_f jsonb, p_sort text, p_after text,
                                p_after_id uuid, p_limit integer)
RETURNS TABLE (w_user uuid, w_role text, w_org uuid, w_city text, w_credential uuid,
               r_id uuid, r_pue numeric, r_zone text, r_units integer, r_region text,
               r_status text, r_version integer, r_created_at timestamptz,
               r_free_units integer, r_updated_at timestamptz, r_accelerator text,
               r_green_share numeric, r_provider_id uuid, r_available_from timestamptz,
               r_resource_class text, r_available_until timestamptz,
               r_memory_gib_per_unit integer, r_fp16_tflops_per_unit numeric,
               r_price_fen_per_unit_hour bigint, r_cursor_value text)
LANGUAGE plpgsql STABLE SET plan_cache_mode = force_generic_plan SET jit = off AS $$
DECLARE
  v_from timestamptz := (p_f->>'available_from')::timestamptz;
  v_until timestamptz := (p_f->>'available_until')::timestamptz;
  v_sort text := coalesce(p_sort, 'id');
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
  RETURN NEXT; -- the principal, its offer columns NULL
  RETURN QUERY
    SELECT NULL::uuid, NULL::text, NULL::uuid, NULL::text, NULL::uuid,
           o.id, o.pue, o.zone, o.units, o.region, o.status, o.version, o.created_at,
           offer_free_units(o, v_from, v_until),
           o.updated_at, o.accelerator, o.green_share, o.provider_id, o.available_from,
           o.resource_class, o.available_until, o.memory_gib_per_unit,
           o.fp16_tflops_per_unit, o.price_fen_per_unit_hour, offer_search_value(o, v_sort)
      FROM offer_search_rows(
             jsonb_build_object('request_id', p_request_id, 'ip', p_ip, 'user_id', w_user,
                                'role', w_role, 'org_id', w_org, 'city_id', w_city),
             p_f, p_sort, p_after, p_after_id, p_limit) o;
END $$;
