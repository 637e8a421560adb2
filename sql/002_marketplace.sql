-- 002 — the capacity marketplace: regions, offers, search, matching, orders.
--
-- Invariant I3 (no double booking) lives here: order_create locks the offer row, so that the
-- orders of one offer are decided one at a time across every server process, and admits an
-- order only if the busiest instant of its window still has room for it.
--
-- Seams that sql/003_vouchers.sql replaces (same signatures): order_apply_vouchers,
-- order_reverse_redemptions, match_subsidy.

-- ==== regions ==============================================================================
-- The eight hub nodes of "East Data, West Computing" (DESIGN.md §2). Fixed reference data;
-- api/marketplace.c validates region codes against the same list.
CREATE TABLE regions (
  code text PRIMARY KEY,
  zone text NOT NULL CHECK (zone IN ('east', 'west')),
  name text NOT NULL
);
INSERT INTO regions (code, zone, name) VALUES
  ('jing-jin-ji', 'east', 'Beijing–Tianjin–Hebei'),
  ('yangtze-delta', 'east', 'Yangtze River Delta'),
  ('greater-bay', 'east', 'Guangdong–Hong Kong–Macao Greater Bay Area'),
  ('cheng-yu', 'east', 'Chengdu–Chongqing'),
  ('inner-mongolia', 'west', 'Inner Mongolia'),
  ('guizhou', 'west', 'Guizhou'),
  ('gansu', 'west', 'Gansu'),
  ('ningxia', 'west', 'Ningxia');

CREATE FUNCTION region_list() RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object(
    'items', coalesce(jsonb_agg(jsonb_build_object('code', code, 'zone', zone, 'name', name)
                                ORDER BY zone, code), '[]'),
    'next_cursor', NULL)
    FROM regions
$$;

-- ==== offers ===============================================================================
CREATE TABLE offers (
  id                      uuid PRIMARY KEY DEFAULT uuid_v7(),
  provider_id             uuid NOT NULL REFERENCES organizations (id),
  resource_class          text NOT NULL CHECK (resource_class IN ('gpu', 'npu', 'cpu')),
  accelerator             text NOT NULL CHECK (accelerator ~ '^[A-Za-z0-9][A-Za-z0-9 ._+-]{0,63}$'),
  units                   integer NOT NULL CHECK (units BETWEEN 1 AND 1000000),
  fp16_tflops_per_unit    numeric NOT NULL CHECK (fp16_tflops_per_unit BETWEEN 0 AND 100000),
  memory_gib_per_unit     integer NOT NULL CHECK (memory_gib_per_unit BETWEEN 1 AND 65536),
  region                  text NOT NULL REFERENCES regions (code),
  zone                    text NOT NULL,  -- the region's zone, kept here so that it is indexable
  price_fen_per_unit_hour bigint NOT NULL CHECK (price_fen_per_unit_hour BETWEEN 1 AND 10000000000),
  available_from          timestamptz NOT NULL,
  available_until         timestamptz NOT NULL,
  pue                     numeric NOT NULL CHECK (pue BETWEEN 1.0 AND 3.0),
  green_share             numeric NOT NULL CHECK (green_share BETWEEN 0 AND 1),
  status                  text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'paused', 'withdrawn')),
  version                 integer NOT NULL DEFAULT 1,
  -- performance per fen: the sort key "tflops_per_fen" (not money: a ratio for ranking)
  tflops_per_fen          numeric GENERATED ALWAYS AS
                            (round(fp16_tflops_per_unit / price_fen_per_unit_hour, 12)) STORED,
  created_at              timestamptz NOT NULL DEFAULT now(),
  updated_at              timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT offers_window CHECK (available_until > available_from)
);
-- One index per sort key over the searchable (active) offers, each ending in id for the keyset,
-- so that every sort walks an index and stops after limit + 1 matches.
CREATE INDEX offers_active_id ON offers (id) WHERE status = 'active';
CREATE INDEX offers_active_price ON offers (price_fen_per_unit_hour, id) WHERE status = 'active';
CREATE INDEX offers_active_tpf ON offers (tflops_per_fen, id) WHERE status = 'active';
CREATE INDEX offers_active_green ON offers (green_share, id) WHERE status = 'active';
CREATE INDEX offers_active_created ON offers (created_at, id) WHERE status = 'active';
-- The selective filters: class and region (and zone), accelerator, provider.
CREATE INDEX offers_active_class_region ON offers (resource_class, region, price_fen_per_unit_hour, id)
  WHERE status = 'active';
CREATE INDEX offers_active_zone ON offers (zone, resource_class, price_fen_per_unit_hour, id)
  WHERE status = 'active';
CREATE INDEX offers_active_accelerator ON offers (accelerator, price_fen_per_unit_hour, id)
  WHERE status = 'active';
CREATE INDEX offers_active_from ON offers (available_from, price_fen_per_unit_hour, id)
  WHERE status = 'active';
CREATE INDEX offers_provider ON offers (provider_id, id);

-- ==== orders ===============================================================================
CREATE TABLE orders (
  id           uuid PRIMARY KEY DEFAULT uuid_v7(),
  offer_id     uuid NOT NULL REFERENCES offers (id),
  institute_id uuid NOT NULL REFERENCES organizations (id),
  created_by   uuid NOT NULL REFERENCES users (id),
  units        integer NOT NULL CHECK (units > 0),
  start_at     timestamptz NOT NULL,
  end_at       timestamptz NOT NULL,
  hours        integer NOT NULL CHECK (hours > 0),
  price_fen_per_unit_hour bigint NOT NULL CHECK (price_fen_per_unit_hour > 0),
  gross_fen    bigint NOT NULL CHECK (gross_fen > 0),
  subsidy_fen  bigint NOT NULL DEFAULT 0 CHECK (subsidy_fen >= 0),
  net_fen      bigint NOT NULL,
  status       text NOT NULL DEFAULT 'reserved' CHECK (status IN ('reserved', 'completed', 'cancelled')),
  created_at   timestamptz NOT NULL DEFAULT now(),
  cancelled_at timestamptz,
  completed_at timestamptz,
  CONSTRAINT orders_window CHECK (end_at > start_at),
  CONSTRAINT orders_net CHECK (net_fen = gross_fen - subsidy_fen AND net_fen >= 0)
);
-- Capacity checks read the live orders of one offer around a window.
CREATE INDEX orders_offer_live ON orders (offer_id, start_at, end_at) INCLUDE (units)
  WHERE status <> 'cancelled';
CREATE INDEX orders_institute ON orders (institute_id, id);
CREATE INDEX orders_offer ON orders (offer_id, id);

-- ==== JSON shapes ==========================================================================
CREATE FUNCTION offer_json(o offers) RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object(
    'id', o.id, 'provider_id', o.provider_id, 'resource_class', o.resource_class,
    'accelerator', o.accelerator, 'units', o.units,
    'fp16_tflops_per_unit', o.fp16_tflops_per_unit, 'memory_gib_per_unit', o.memory_gib_per_unit,
    'region', o.region, 'zone', o.zone, 'price_fen_per_unit_hour', o.price_fen_per_unit_hour,
    'available_from', ts(o.available_from), 'available_until', ts(o.available_until),
    'pue', o.pue, 'green_share', o.green_share, 'status', o.status, 'version', o.version,
    'created_at', ts(o.created_at), 'updated_at', ts(o.updated_at))
$$;

CREATE FUNCTION order_json(o orders) RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object(
    'id', o.id, 'offer_id', o.offer_id, 'institute_id', o.institute_id,
    'created_by', o.created_by, 'units', o.units, 'start', ts(o.start_at), 'end', ts(o.end_at),
    'hours', o.hours, 'price_fen_per_unit_hour', o.price_fen_per_unit_hour,
    'gross_fen', o.gross_fen, 'subsidy_fen', o.subsidy_fen, 'net_fen', o.net_fen,
    'status', o.status, 'created_at', ts(o.created_at),
    'cancelled_at', ts(o.cancelled_at), 'completed_at', ts(o.completed_at))
$$;

-- ==== capacity =============================================================================
-- Units of an offer held by live (reserved or completed) orders at the busiest instant of
-- [p_from, p_until). Holdings form a step function that changes only at order boundaries: a
-- sweep over those boundaries, ends before starts at the same instant (windows are half-open),
-- finds its maximum.
CREATE FUNCTION offer_reserved_peak(p_offer uuid, p_from timestamptz, p_until timestamptz)
RETURNS integer LANGUAGE sql STABLE AS $$
  SELECT coalesce(max(held), 0)::integer FROM (
    SELECT sum(delta) OVER (ORDER BY at, delta) AS held FROM (
      SELECT greatest(o.start_at, p_from) AS at, o.units AS delta
        FROM orders o
       WHERE o.offer_id = p_offer AND o.status <> 'cancelled'
         AND o.start_at < p_until AND o.end_at > p_from
      UNION ALL
      SELECT o.end_at, -o.units
        FROM orders o
       WHERE o.offer_id = p_offer AND o.status <> 'cancelled'
         AND o.start_at < p_until AND o.end_at > p_from AND o.end_at < p_until) steps) sweep
$$;

-- Billed per started hour (DESIGN.md §2).
CREATE FUNCTION billed_hours(p_start timestamptz, p_end timestamptz) RETURNS bigint
LANGUAGE sql IMMUTABLE AS $$
  SELECT ceil(extract(epoch FROM p_end - p_start) / 3600)::bigint
$$;

-- gross_fen = units × started hours × price, refused when it does not fit in int64.
CREATE FUNCTION gross_fen(p_units bigint, p_hours bigint, p_price bigint) RETURNS bigint
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
  v numeric := p_units::numeric * p_hours * p_price;
BEGIN
  IF v > 9223372036854775807 THEN
    PERFORM problem('validation-failed', 'units: the cost of this window exceeds the largest amount');
  END IF;
  RETURN v::bigint;
END $$;

-- ==== offers: create, read, update, withdraw ==============================================
-- Whether the actor may see offer o: active offers are the public catalogue; paused and
-- withdrawn ones only their provider and the operator see.
CREATE FUNCTION offer_visible(p_actor jsonb, o offers) RETURNS boolean LANGUAGE sql STABLE AS $$
  SELECT o.status = 'active' OR p_actor->>'role' = 'operator'
      OR o.provider_id = (p_actor->>'org_id')::uuid
$$;

CREATE FUNCTION offer_create(p_actor jsonb, p_class text, p_accelerator text, p_units integer,
                             p_tflops numeric, p_memory integer, p_region text, p_price bigint,
                             p_from timestamptz, p_until timestamptz, p_pue numeric,
                             p_green numeric)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_zone text;
  v_offer offers;
BEGIN
  IF p_actor->>'role' <> 'provider' THEN
    PERFORM problem('forbidden', 'only providers post offers');
  END IF;
  SELECT zone INTO v_zone FROM regions WHERE code = p_region;
  IF NOT FOUND THEN
    PERFORM problem('validation-failed', 'region: unknown region ' || p_region);
  END IF;
  IF p_until <= p_from THEN
    PERFORM problem('validation-failed', 'available_until: must be after available_from');
  END IF;
  IF p_until <= now() THEN
    PERFORM problem('validation-failed', 'available_until: must be in the future');
  END IF;
  INSERT INTO offers (provider_id, resource_class, accelerator, units, fp16_tflops_per_unit,
                      memory_gib_per_unit, region, zone, price_fen_per_unit_hour,
                      available_from, available_until, pue, green_share)
  VALUES ((p_actor->>'org_id')::uuid, p_class, p_accelerator, p_units, p_tflops, p_memory,
          p_region, v_zone, p_price, p_from, p_until, p_pue, p_green)
  RETURNING * INTO v_offer;
  PERFORM audit_append(p_actor, 'offer.create', 'offer', v_offer.id, offer_json(v_offer));
  RETURN offer_json(v_offer);
END $$;

-- The offer and its version (the ETag); no row when it does not exist or is not visible.
CREATE FUNCTION offer_get(p_actor jsonb, p_id uuid) RETURNS TABLE (offer jsonb, version integer)
LANGUAGE sql STABLE AS $$
  SELECT offer_json(o), o.version FROM offers o WHERE o.id = p_id AND offer_visible(p_actor, o)
$$;

-- Locks the actor's own offer for a change; someone else's answers 404 as if it did not exist.
-- p_version (the If-Match value) must be current when given.
CREATE FUNCTION offer_lock_own(p_actor jsonb, p_id uuid, p_version integer) RETURNS offers
LANGUAGE plpgsql AS $$
DECLARE
  v_offer offers;
BEGIN
  SELECT * INTO v_offer FROM offers
   WHERE id = p_id AND provider_id = (p_actor->>'org_id')::uuid FOR UPDATE;
  IF NOT FOUND OR p_actor->>'role' <> 'provider' THEN
    PERFORM problem('not-found', 'no offer ' || p_id);
  END IF;
  IF p_version IS NOT NULL AND p_version <> v_offer.version THEN
    PERFORM problem('precondition-failed',
                    format('the offer is at version %s, not %s; read it again', v_offer.version, p_version));
  END IF;
  RETURN v_offer;
END $$;

-- PATCH: every argument NULL means unchanged. Units may not drop below what live orders hold
-- at their busiest instant, and the window must keep containing every live order.
CREATE FUNCTION offer_update(p_actor jsonb, p_id uuid, p_version integer, p_price bigint,
                             p_units integer, p_from timestamptz, p_until timestamptz,
                             p_status text, p_green numeric, p_pue numeric)
RETURNS TABLE (offer jsonb, version integer) LANGUAGE plpgsql AS $$
DECLARE
  v_old offers := offer_lock_own(p_actor, p_id, p_version);
  v_new offers;
  v_peak integer;
  v_outside integer;
BEGIN
  IF v_old.status = 'withdrawn' THEN
    PERFORM problem('offer-not-active', format('offer %s is withdrawn and cannot change', p_id));
  END IF;
  IF coalesce(p_until, v_old.available_until) <= coalesce(p_from, v_old.available_from) THEN
    PERFORM problem('validation-failed', 'available_until: must be after available_from');
  END IF;
  IF p_units IS NOT NULL AND p_units < v_old.units THEN
    v_peak := offer_reserved_peak(p_id, '-infinity', 'infinity');
    IF p_units < v_peak THEN
      PERFORM problem('units-below-reserved',
                      format('units: live orders hold %s units of offer %s at their busiest instant; '
                             'units cannot drop below that', v_peak, p_id));
    END IF;
  END IF;
  IF p_from IS NOT NULL OR p_until IS NOT NULL THEN
    SELECT count(*) INTO v_outside FROM orders o
     WHERE o.offer_id = p_id AND o.status <> 'cancelled'
       AND (o.start_at < coalesce(p_from, v_old.available_from)
            OR o.end_at > coalesce(p_until, v_old.available_until));
    IF v_outside > 0 THEN
      PERFORM problem('outside-offer-window',
                      format('%s live orders of offer %s lie outside the new window', v_outside, p_id));
    END IF;
  END IF;
  UPDATE offers o SET
    price_fen_per_unit_hour = coalesce(p_price, o.price_fen_per_unit_hour),
    units = coalesce(p_units, o.units),
    available_from = coalesce(p_from, o.available_from),
    available_until = coalesce(p_until, o.available_until),
    status = coalesce(p_status, o.status),
    green_share = coalesce(p_green, o.green_share),
    pue = coalesce(p_pue, o.pue),
    version = o.version + 1,
    updated_at = now()
   WHERE o.id = p_id RETURNING * INTO v_new;
  PERFORM audit_append(p_actor, 'offer.update', 'offer', p_id,
                       jsonb_build_object('from_version', v_old.version, 'changes',
                         jsonb_strip_nulls(jsonb_build_object(
                           'price_fen_per_unit_hour', p_price, 'units', p_units,
                           'available_from', ts(p_from), 'available_until', ts(p_until),
                           'status', p_status, 'green_share', p_green, 'pue', p_pue))));
  RETURN QUERY SELECT offer_json(v_new), v_new.version;
END $$;

-- DELETE: the offer leaves the catalogue; orders already made stand.
CREATE FUNCTION offer_withdraw(p_actor jsonb, p_id uuid, p_version integer)
RETURNS TABLE (offer jsonb, version integer) LANGUAGE plpgsql AS $$
DECLARE
  v_old offers := offer_lock_own(p_actor, p_id, p_version);
  v_new offers;
BEGIN
  IF v_old.status = 'withdrawn' THEN
    RETURN QUERY SELECT offer_json(v_old), v_old.version;
    RETURN;
  END IF;
  UPDATE offers o SET status = 'withdrawn', version = o.version + 1, updated_at = now()
   WHERE o.id = p_id RETURNING * INTO v_new;
  PERFORM audit_append(p_actor, 'offer.withdraw', 'offer', p_id,
                       jsonb_build_object('from_version', v_old.version, 'status_was', v_old.status));
  RETURN QUERY SELECT offer_json(v_new), v_new.version;
END $$;

-- ==== offers: search =======================================================================
-- The cursor of a row under a sort key: base64url("<sort>|<value>|<id>"), opaque to clients.
CREATE FUNCTION offer_cursor(p_sort text, p_value text, p_id uuid) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT rtrim(translate(replace(encode(convert_to(p_sort || '|' || coalesce(p_value, '') || '|' || p_id, 'UTF8'),
                                        'base64'), E'\n', ''), '+/', '-_'), '=')
$$;

-- The query behind GET /v1/offers for the filters present in p_f (see offer_search), assembled
-- from fixed fragments with every value a parameter ($1..$17 as offer_search binds them), so
-- that each search is planned for exactly its filters and walks the index of its sort key.
-- Separate so that tests and the benchmark can EXPLAIN what a search runs.
CREATE FUNCTION offer_search_sql(p_actor jsonb, p_f jsonb, p_sort text, p_paged boolean)
RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
  v_where text := 'o.status = $13';
  v_window boolean := p_f ? 'available_from';
  v_col text;
  v_cast text;
  v_desc boolean := false;
BEGIN
  IF p_f ? 'resource_class' THEN v_where := v_where || ' AND o.resource_class = $1'; END IF;
  IF p_f ? 'accelerator' THEN v_where := v_where || ' AND o.accelerator = $2'; END IF;
  IF p_f ? 'region' THEN v_where := v_where || ' AND o.region = ANY ($3)'; END IF;
  IF p_f ? 'zone' THEN v_where := v_where || ' AND o.zone = $4'; END IF;
  IF p_f ? 'min_units' AND NOT v_window THEN v_where := v_where || ' AND o.units >= $5'; END IF;
  IF p_f ? 'min_tflops' THEN v_where := v_where || ' AND o.fp16_tflops_per_unit >= $6'; END IF;
  IF p_f ? 'max_price_fen' THEN v_where := v_where || ' AND o.price_fen_per_unit_hour <= $7'; END IF;
  IF p_f ? 'min_green_share' THEN v_where := v_where || ' AND o.green_share >= $8'; END IF;
  IF p_f ? 'max_pue' THEN v_where := v_where || ' AND o.pue <= $9'; END IF;
  IF v_window THEN
    v_where := v_where || ' AND o.available_from <= $10 AND o.available_until >= $11'
                       || ' AND f.free_units >= coalesce($5, 1)';
  END IF;
  IF p_f ? 'provider_id' THEN v_where := v_where || ' AND o.provider_id = $12'; END IF;
  IF coalesce(p_f->>'status', 'active') <> 'active' AND p_actor->>'role' <> 'operator' THEN
    v_where := v_where || ' AND o.provider_id = $17';
  END IF;

  CASE p_sort
    WHEN 'price' THEN v_col := 'o.price_fen_per_unit_hour'; v_cast := 'bigint';
    WHEN '-price' THEN v_col := 'o.price_fen_per_unit_hour'; v_cast := 'bigint'; v_desc := true;
    WHEN 'tflops_per_fen' THEN v_col := 'o.tflops_per_fen'; v_cast := 'numeric'; v_desc := true;
    WHEN 'green_share' THEN v_col := 'o.green_share'; v_cast := 'numeric'; v_desc := true;
    WHEN 'created_at' THEN v_col := 'o.created_at'; v_desc := true;
    ELSE v_col := NULL;
  END CASE;
  IF p_paged THEN
    IF v_col IS NULL THEN
      v_where := v_where || ' AND o.id > $15';
    ELSIF p_sort = 'created_at' THEN
      -- the cursor holds microseconds since the epoch, exact where text would not be
      v_where := v_where || ' AND (o.created_at, o.id) < (timestamptz ''epoch'' + $14::bigint * interval ''1 microsecond'', $15)';
    ELSE
      v_where := v_where || format(' AND (%s, o.id) %s ($14::%s, $15)', v_col,
                                   CASE WHEN v_desc THEN '<' ELSE '>' END, v_cast);
    END IF;
  END IF;

  RETURN 'SELECT offer_json(o)'
      || CASE WHEN v_window THEN ' || jsonb_build_object(''free_units'', f.free_units)' ELSE '' END
      || ' AS item, '
      || CASE WHEN p_sort = 'created_at' THEN '(extract(epoch FROM o.created_at) * 1000000)::bigint::text'
              WHEN v_col IS NULL THEN 'NULL::text'
              ELSE v_col || '::text' END
      || ' AS value, o.id FROM offers o'
      || CASE WHEN v_window
              THEN ' CROSS JOIN LATERAL (SELECT o.units - offer_reserved_peak(o.id, $10, $11) AS free_units) f'
              ELSE '' END
      || ' WHERE ' || v_where
      || ' ORDER BY ' || CASE WHEN v_col IS NULL THEN 'o.id'
                              WHEN v_desc THEN v_col || ' DESC, o.id DESC'
                              ELSE v_col || ', o.id' END
      || ' LIMIT $16 + 1';
END $$;

-- GET /v1/offers. p_f holds the validated filters as text (absent = not filtered):
-- resource_class, accelerator, region (array), zone, min_units, min_tflops, max_price_fen,
-- min_green_share, max_pue, available_from + available_until (then min_units, default 1,
-- applies to the units still free in that window), provider_id, status (default active; any
-- other status lists only the caller's own offers, or all for the operator). p_sort is NULL
-- (by id), price, -price, tflops_per_fen, green_share or created_at; p_after/p_after_id come
-- from the cursor of the previous page.
CREATE FUNCTION offer_search(p_actor jsonb, p_f jsonb, p_sort text, p_after text,
                             p_after_id uuid, p_limit integer)
RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
  v_items jsonb[] := '{}';
  v_n integer := 0;
  v_next text;
  v_row record;
BEGIN
  FOR v_row IN EXECUTE offer_search_sql(p_actor, p_f, p_sort, p_after_id IS NOT NULL)
    USING p_f->>'resource_class', p_f->>'accelerator',
          CASE WHEN p_f ? 'region' THEN ARRAY(SELECT jsonb_array_elements_text(p_f->'region')) END,
          p_f->>'zone', (p_f->>'min_units')::integer, (p_f->>'min_tflops')::numeric,
          (p_f->>'max_price_fen')::bigint, (p_f->>'min_green_share')::numeric,
          (p_f->>'max_pue')::numeric, (p_f->>'available_from')::timestamptz,
          (p_f->>'available_until')::timestamptz, (p_f->>'provider_id')::uuid,
          coalesce(p_f->>'status', 'active'), p_after, p_after_id, p_limit,
          (p_actor->>'org_id')::uuid
  LOOP
    v_n := v_n + 1;
    EXIT WHEN v_n > p_limit;
    v_items := v_items || v_row.item;
    IF v_n = p_limit THEN
      v_next := offer_cursor(coalesce(p_sort, 'id'), v_row.value, v_row.id);
    END IF;
  END LOOP;
  RETURN jsonb_build_object('items', to_jsonb(v_items),
                            'next_cursor', CASE WHEN v_n > p_limit THEN v_next END);
END $$;

-- ==== orders ===============================================================================
-- Seam: sql/003_vouchers.sql replaces this with redemption of the given vouchers.
CREATE FUNCTION order_apply_vouchers(p_actor jsonb, p_order uuid, p_vouchers jsonb)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF jsonb_typeof(p_vouchers) = 'array' AND jsonb_array_length(p_vouchers) > 0 THEN
    PERFORM problem('validation-failed', 'vouchers: paying with vouchers is not available yet');
  END IF;
END $$;

-- Seam: sql/003_vouchers.sql replaces this with the reversal of the order's redemptions.
CREATE FUNCTION order_reverse_redemptions(p_actor jsonb, p_order uuid) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  NULL;
END $$;

-- POST /v1/orders. The offer row lock serialises every order on one offer, in every server
-- process; under it, the peak of live holdings in the window plus the new units must fit.
CREATE FUNCTION order_create(p_actor jsonb, p_offer uuid, p_units integer, p_start timestamptz,
                             p_end timestamptz, p_vouchers jsonb)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_offer offers;
  v_peak integer;
  v_hours bigint;
  v_gross bigint;
  v_order orders;
BEGIN
  IF p_actor->>'role' <> 'institute' THEN
    PERFORM problem('forbidden', 'only institutes reserve capacity');
  END IF;
  IF p_end <= p_start THEN
    PERFORM problem('validation-failed', 'end: must be after start');
  END IF;
  SELECT * INTO v_offer FROM offers WHERE id = p_offer FOR UPDATE;
  IF NOT FOUND THEN
    PERFORM problem('not-found', 'no offer ' || p_offer);
  END IF;
  IF v_offer.status <> 'active' THEN
    PERFORM problem('offer-not-active', format('offer %s is %s', p_offer, v_offer.status));
  END IF;
  IF p_start < v_offer.available_from OR p_end > v_offer.available_until THEN
    PERFORM problem('outside-offer-window',
                    format('offer %s is available from %s until %s', p_offer,
                           ts(v_offer.available_from), ts(v_offer.available_until)));
  END IF;
  v_peak := offer_reserved_peak(p_offer, p_start, p_end);
  IF v_peak + p_units > v_offer.units THEN
    PERFORM problem('insufficient-capacity',
                    format('offer %s has %s free units from %s to %s; %s requested', p_offer,
                           greatest(v_offer.units - v_peak, 0), ts(p_start), ts(p_end), p_units));
  END IF;
  v_hours := billed_hours(p_start, p_end);
  v_gross := gross_fen(p_units, v_hours, v_offer.price_fen_per_unit_hour);
  INSERT INTO orders (offer_id, institute_id, created_by, units, start_at, end_at, hours,
                      price_fen_per_unit_hour, gross_fen, net_fen)
  VALUES (p_offer, (p_actor->>'org_id')::uuid, (p_actor->>'user_id')::uuid, p_units, p_start,
          p_end, v_hours, v_offer.price_fen_per_unit_hour, v_gross, v_gross)
  RETURNING * INTO v_order;
  PERFORM audit_append(p_actor, 'order.create', 'order', v_order.id,
                       jsonb_build_object('offer_id', p_offer, 'units', p_units,
                                          'start', ts(p_start), 'end', ts(p_end),
                                          'gross_fen', v_gross));
  PERFORM order_apply_vouchers(p_actor, v_order.id, coalesce(p_vouchers, '[]'));
  SELECT * INTO v_order FROM orders WHERE id = v_order.id;
  RETURN order_json(v_order);
END $$;

-- Whether the actor may see order o: the institute that made it, the provider of its offer,
-- the operator, and the city staff of the institute's city.
CREATE FUNCTION order_visible(p_actor jsonb, o orders) RETURNS boolean LANGUAGE sql STABLE AS $$
  SELECT CASE p_actor->>'role'
    WHEN 'operator' THEN true
    WHEN 'institute' THEN o.institute_id = (p_actor->>'org_id')::uuid
    WHEN 'provider' THEN EXISTS (SELECT 1 FROM offers f WHERE f.id = o.offer_id
                                    AND f.provider_id = (p_actor->>'org_id')::uuid)
    WHEN 'city_admin' THEN EXISTS (SELECT 1 FROM organizations i WHERE i.id = o.institute_id
                                      AND i.city_id = actor_city(p_actor))
    WHEN 'auditor' THEN actor_city(p_actor) IS NULL
                     OR EXISTS (SELECT 1 FROM organizations i WHERE i.id = o.institute_id
                                   AND i.city_id = actor_city(p_actor))
    ELSE false
  END
$$;

CREATE FUNCTION order_get(p_actor jsonb, p_id uuid) RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT order_json(o) FROM orders o WHERE o.id = p_id AND order_visible(p_actor, o)
$$;

CREATE FUNCTION order_list(p_actor jsonb, p_status text, p_offer uuid, p_after uuid,
                           p_limit integer)
RETURNS jsonb LANGUAGE sql STABLE AS $$
  WITH page AS (
    SELECT o FROM orders o
     WHERE (p_status IS NULL OR o.status = p_status)
       AND (p_offer IS NULL OR o.offer_id = p_offer)
       AND (p_after IS NULL OR o.id > p_after)
       AND CASE p_actor->>'role'
             WHEN 'institute' THEN o.institute_id = (p_actor->>'org_id')::uuid
             WHEN 'provider' THEN o.offer_id IN (SELECT f.id FROM offers f
                                                  WHERE f.provider_id = (p_actor->>'org_id')::uuid)
             ELSE order_visible(p_actor, o)
           END
     ORDER BY o.id LIMIT p_limit + 1)
  SELECT jsonb_build_object(
    'items', coalesce((SELECT jsonb_agg(order_json(x.o) ORDER BY (x.o).id)
                         FROM (SELECT o FROM page ORDER BY (o).id LIMIT p_limit) x), '[]'),
    'next_cursor', CASE WHEN (SELECT count(*) FROM page) > p_limit
                        THEN (SELECT (o).id::text FROM page ORDER BY (o).id LIMIT 1 OFFSET p_limit - 1) END)
$$;

-- The institute cancels its own reserved order before it ends; the units are free again and
-- every redemption on it is reversed.
CREATE FUNCTION order_cancel(p_actor jsonb, p_id uuid) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_order orders;
BEGIN
  SELECT * INTO v_order FROM orders
   WHERE id = p_id AND institute_id = (p_actor->>'org_id')::uuid FOR UPDATE;
  IF NOT FOUND OR p_actor->>'role' <> 'institute' THEN
    PERFORM problem('not-found', 'no order ' || p_id);
  END IF;
  IF v_order.status <> 'reserved' THEN
    PERFORM problem('order-state-conflict', format('order %s is %s', p_id, v_order.status));
  END IF;
  IF now() >= v_order.end_at THEN
    PERFORM problem('order-state-conflict',
                    format('order %s ended at %s and can no longer be cancelled', p_id, ts(v_order.end_at)));
  END IF;
  PERFORM order_reverse_redemptions(p_actor, p_id);
  UPDATE orders SET status = 'cancelled', cancelled_at = now() WHERE id = p_id
  RETURNING * INTO v_order;
  PERFORM audit_append(p_actor, 'order.cancel', 'order', p_id,
                       jsonb_build_object('offer_id', v_order.offer_id, 'units', v_order.units));
  RETURN order_json(v_order);
END $$;

-- The provider of the offer marks a reserved order completed once it has started.
CREATE FUNCTION order_complete(p_actor jsonb, p_id uuid) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  v_order orders;
BEGIN
  SELECT o.* INTO v_order FROM orders o JOIN offers f ON f.id = o.offer_id
   WHERE o.id = p_id AND f.provider_id = (p_actor->>'org_id')::uuid FOR UPDATE OF o;
  IF NOT FOUND OR p_actor->>'role' <> 'provider' THEN
    PERFORM problem('not-found', 'no order ' || p_id);
  END IF;
  IF v_order.status <> 'reserved' THEN
    PERFORM problem('order-state-conflict', format('order %s is %s', p_id, v_order.status));
  END IF;
  IF now() < v_order.start_at THEN
    PERFORM problem('order-state-conflict',
                    format('order %s starts at %s and cannot be completed before', p_id, ts(v_order.start_at)));
  END IF;
  UPDATE orders SET status = 'completed', completed_at = now() WHERE id = p_id
  RETURNING * INTO v_order;
  PERFORM audit_append(p_actor, 'order.complete', 'order', p_id,
                       jsonb_build_object('offer_id', v_order.offer_id, 'gross_fen', v_order.gross_fen));
  RETURN order_json(v_order);
END $$;

-- ==== matching =============================================================================
-- Seam: sql/003_vouchers.sql replaces this with what the given vouchers would pay on an
-- order of p_gross on p_offer under their programmes' rules.
CREATE FUNCTION match_subsidy(p_actor jsonb, p_offer uuid, p_gross bigint, p_voucher_ids uuid[])
RETURNS bigint LANGUAGE sql STABLE AS $$
  SELECT 0::bigint
$$;

-- The earliest start in [p_lo, p_last] at which offer c has at least p_need units free for
-- p_dur, and those free units; (NULL, 0) when there is none. Capacity only grows where an
-- order ends, so the candidates are p_lo and the ends of live orders after it.
CREATE FUNCTION match_earliest(c offers, p_lo timestamptz, p_last timestamptz, p_dur interval,
                               p_need integer, OUT start_at timestamptz, OUT free integer)
LANGUAGE plpgsql STABLE AS $$
DECLARE
  v_t timestamptz;
  v_free integer;
BEGIN
  free := 0;
  FOR v_t IN SELECT t FROM (SELECT p_lo AS t
                            UNION
                            SELECT o.end_at FROM orders o
                             WHERE o.offer_id = c.id AND o.status <> 'cancelled'
                               AND o.end_at > p_lo AND o.end_at <= p_last) s
             ORDER BY t LIMIT 50 LOOP
    v_free := c.units - offer_reserved_peak(c.id, v_t, v_t + p_dur);
    IF v_free >= p_need THEN
      start_at := v_t;
      free := v_free;
      RETURN;
    END IF;
  END LOOP;
END $$;

-- One leg of a plan: units of offer c over [p_start, p_start + p_dur), priced.
CREATE FUNCTION match_leg(p_actor jsonb, c offers, p_units integer, p_start timestamptz,
                          p_dur interval, p_free integer, p_vouchers uuid[])
RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
  v_hours bigint := billed_hours(p_start, p_start + p_dur);
  v_gross bigint := gross_fen(p_units, v_hours, c.price_fen_per_unit_hour);
  v_subsidy bigint := least(greatest(match_subsidy(p_actor, c.id, v_gross, p_vouchers), 0), v_gross);
BEGIN
  RETURN jsonb_build_object(
    'offer_id', c.id, 'units', p_units, 'start', ts(p_start), 'end', ts(p_start + p_dur),
    'hours', v_hours, 'price_fen_per_unit_hour', c.price_fen_per_unit_hour,
    'gross_fen', v_gross, 'subsidy_fen', v_subsidy, 'net_fen', v_gross - v_subsidy,
    'free_units', p_free, 'region', c.region, 'zone', c.zone, 'accelerator', c.accelerator,
    'fp16_tflops_per_unit', c.fp16_tflops_per_unit, 'green_share', c.green_share, 'pue', c.pue);
END $$;

-- A plan from its legs, with the totals every ranking reads.
CREATE FUNCTION match_plan(p_legs jsonb, p_split boolean) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
  SELECT jsonb_build_object(
    'legs', p_legs, 'split', p_split,
    'units', sum((l->>'units')::integer),
    'start', min(l->>'start'), 'end', max(l->>'end'),
    'gross_fen', sum((l->>'gross_fen')::bigint),
    'subsidy_fen', sum((l->>'subsidy_fen')::bigint),
    'net_fen', sum((l->>'net_fen')::bigint),
    'green_share', round(sum((l->>'units')::numeric * (l->>'green_share')::numeric)
                         / sum((l->>'units')::numeric), 4),
    'tflops_hours_per_fen',
      CASE WHEN sum((l->>'net_fen')::bigint) > 0
           THEN round(sum((l->>'units')::numeric * (l->>'fp16_tflops_per_unit')::numeric
                          * (l->>'hours')::numeric) / sum((l->>'net_fen')::bigint), 6) END)
    FROM jsonb_array_elements(p_legs) l
$$;

-- POST /v1/match. p_d is the validated demand: resource_class, units, accelerator?,
-- min_tflops?, start + end or duration_hours + earliest_start + latest_end, regions?, zone?,
-- max_price_fen?, min_green_share?, max_pue?, allow_split, voucher_ids, sort, limit.
-- Candidates are the active offers that pass every static constraint, taken in the order of
-- the ranking's base key (at most 200; 50 for split plans). Each yields a single-offer plan at
-- its earliest start with enough free units; with allow_split, offers that each have some
-- free units in one common window are combined greedily in ranking order. Plans are ranked by
-- net cost (default), TFLOPS-hours per fen, green share or earliest start. With no plan, the
-- answer counts per constraint how many active offers it excluded.
CREATE FUNCTION match_plans(p_actor jsonb, p_d jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
  v_units integer := (p_d->>'units')::integer;
  v_class text := p_d->>'resource_class';
  v_accel text := p_d->>'accelerator';
  v_min_tflops numeric := coalesce((p_d->>'min_tflops')::numeric, 0);
  v_regions text[] := CASE WHEN p_d ? 'regions'
                           THEN ARRAY(SELECT jsonb_array_elements_text(p_d->'regions')) END;
  v_zone text := p_d->>'zone';
  v_max_price bigint := (p_d->>'max_price_fen')::bigint;
  v_min_green numeric := coalesce((p_d->>'min_green_share')::numeric, 0);
  v_max_pue numeric := coalesce((p_d->>'max_pue')::numeric, 3);
  v_split boolean := coalesce((p_d->>'allow_split')::boolean, false);
  v_vouchers uuid[] := ARRAY(SELECT jsonb_array_elements_text(coalesce(p_d->'voucher_ids', '[]'))::uuid);
  v_sort text := coalesce(p_d->>'sort', 'net_cost');
  v_limit integer := coalesce((p_d->>'limit')::integer, 10);
  v_lo timestamptz := coalesce((p_d->>'start')::timestamptz, (p_d->>'earliest_start')::timestamptz);
  v_hi timestamptz := coalesce((p_d->>'end')::timestamptz, (p_d->>'latest_end')::timestamptz);
  v_dur interval := CASE WHEN p_d ? 'start' THEN v_hi - v_lo
                         ELSE make_interval(hours => (p_d->>'duration_hours')::integer) END;
  v_label text := CASE v_sort WHEN 'net_cost' THEN 'net cost, lowest first'
                              WHEN 'tflops_per_fen' THEN 'TFLOPS-hours per fen, highest first'
                              WHEN 'green_share' THEN 'green share, highest first'
                              ELSE 'start, earliest first' END;
  c offers;
  v_cands offers[] := '{}';
  v_single record;
  v_any record;
  v_anys timestamptz[] := '{}';
  v_plans jsonb := '[]';
  v_legs jsonb;
  v_left integer;
  v_take integer;
  v_free integer;
  v_t timestamptz;
  v_considered integer := 0;
  v_feasible integer := 0;
  v_ranked jsonb;
  v_n integer;
  v_sql text;
  v_where text;
  v_cap integer;
  v_split_free integer := 0;
BEGIN
  -- Candidates in the order of the ranking's base key, from fixed fragments for the
  -- constraints given (every value a parameter), so that the scan walks an index and stops
  -- early. Without vouchers that order is already the ranking of single-offer plans (they
  -- share units and hours), except by start, so the loop stops after v_cap feasible ones.
  v_where := 'o.status = ''active'' AND o.resource_class = $1'
        || CASE WHEN v_accel IS NOT NULL THEN ' AND o.accelerator = $2' ELSE '' END
        || CASE WHEN v_min_tflops > 0 THEN ' AND o.fp16_tflops_per_unit >= $3' ELSE '' END
        || CASE WHEN v_regions IS NOT NULL THEN ' AND o.region = ANY ($4)' ELSE '' END
        || CASE WHEN v_zone IS NOT NULL THEN ' AND o.zone = $5' ELSE '' END
        || CASE WHEN v_max_price IS NOT NULL THEN ' AND o.price_fen_per_unit_hour <= $6' ELSE '' END
        || CASE WHEN v_min_green > 0 THEN ' AND o.green_share >= $7' ELSE '' END
        || CASE WHEN v_max_pue < 3 THEN ' AND o.pue <= $8' ELSE '' END
        || ' AND o.available_from <= $10 - $11 AND o.available_until >= $9 + $11'
        || CASE WHEN v_split THEN '' ELSE ' AND o.units >= $12' END;
  v_sql := CASE v_sort
    -- by start: offers open at the earliest start (cheapest first), then the later ones
    WHEN 'earliest_start' THEN
      'SELECT o.* FROM ((SELECT * FROM offers o WHERE ' || v_where
      || ' AND o.available_from <= $9 ORDER BY o.price_fen_per_unit_hour, o.id LIMIT 200)'
      || ' UNION ALL (SELECT * FROM offers o WHERE ' || v_where
      || ' AND o.available_from > $9 ORDER BY o.available_from, o.price_fen_per_unit_hour, o.id LIMIT 200)) o'
      || ' ORDER BY greatest(o.available_from, $9), o.price_fen_per_unit_hour, o.id LIMIT 200'
    ELSE 'SELECT o.* FROM offers o WHERE ' || v_where || ' ORDER BY '
      || CASE v_sort WHEN 'tflops_per_fen' THEN 'o.tflops_per_fen DESC, o.id DESC'
                     WHEN 'green_share' THEN 'o.green_share DESC, o.id DESC'
                     ELSE 'o.price_fen_per_unit_hour, o.id' END
      || ' LIMIT 200' END;
  v_cap := CASE WHEN cardinality(v_vouchers) = 0 AND v_sort <> 'earliest_start' THEN v_limit
                ELSE least(200, v_limit * 4) END;
  FOR c IN EXECUTE v_sql USING v_class, v_accel, v_min_tflops, v_regions, v_zone, v_max_price,
                               v_min_green, v_max_pue, v_lo, v_hi, v_dur, v_units
  LOOP
    EXIT WHEN v_feasible >= v_cap AND (NOT v_split OR v_split_free >= v_units
                                       OR cardinality(v_cands) >= 50);
    -- the window must fit where the demand's and the offer's overlap (kept out of the query,
    -- where its selectivity would be guessed and push the plan off the sort key's index)
    CONTINUE WHEN greatest(c.available_from, v_lo) + v_dur > least(c.available_until, v_hi);
    v_considered := v_considered + 1;
    IF c.units >= v_units AND v_feasible < v_cap THEN
      v_single := match_earliest(c, greatest(c.available_from, v_lo),
                                 least(c.available_until, v_hi) - v_dur, v_dur, v_units);
      IF v_single.start_at IS NOT NULL THEN
        v_feasible := v_feasible + 1;
        v_plans := v_plans || jsonb_build_array(match_plan(jsonb_build_array(
                     match_leg(p_actor, c, v_units, v_single.start_at, v_dur, v_single.free,
                               v_vouchers)), false));
      END IF;
    END IF;
    -- split candidates: until their free units could cover the demand (or 50 of them)
    IF v_split AND v_split_free < v_units AND cardinality(v_cands) < 50 THEN
      v_any := match_earliest(c, greatest(c.available_from, v_lo),
                              least(c.available_until, v_hi) - v_dur, v_dur, 1);
      IF v_any.start_at IS NOT NULL THEN
        v_cands := v_cands || c;
        v_anys := v_anys || v_any.start_at;
        v_split_free := v_split_free + v_any.free;
      END IF;
    END IF;
  END LOOP;

  -- Split: the first common start (from the candidates' own earliest ones) at which offers in
  -- ranking order cover the demand together; a plan only if it needs two offers or more.
  IF v_split AND cardinality(v_cands) > 1 THEN
    FOR v_t IN SELECT DISTINCT t FROM unnest(v_anys) t ORDER BY t LIMIT 20 LOOP
      v_legs := '[]';
      v_left := v_units;
      FOREACH c IN ARRAY v_cands LOOP
        EXIT WHEN v_left = 0;
        CONTINUE WHEN v_t < c.available_from OR v_t + v_dur > c.available_until;
        v_free := c.units - offer_reserved_peak(c.id, v_t, v_t + v_dur);
        CONTINUE WHEN v_free < 1;
        v_take := least(v_free, v_left);
        v_legs := v_legs || jsonb_build_array(match_leg(p_actor, c, v_take, v_t, v_dur, v_free, v_vouchers));
        v_left := v_left - v_take;
      END LOOP;
      IF v_left = 0 THEN
        IF jsonb_array_length(v_legs) > 1 THEN
          v_plans := v_plans || jsonb_build_array(match_plan(v_legs, true));
        END IF;
        EXIT;
      END IF;
    END LOOP;
  END IF;

  IF jsonb_array_length(v_plans) = 0 THEN
    RETURN jsonb_build_object('items', '[]'::jsonb, 'excluded', (
      SELECT jsonb_build_object(
        'active_offers', count(*),
        'resource_class', count(*) FILTER (WHERE o.resource_class <> v_class),
        'accelerator', count(*) FILTER (WHERE o.accelerator <> v_accel),
        'min_tflops', count(*) FILTER (WHERE o.fp16_tflops_per_unit < v_min_tflops),
        'regions', count(*) FILTER (WHERE o.region <> ALL (v_regions)),
        'zone', count(*) FILTER (WHERE o.zone <> v_zone),
        'max_price_fen', count(*) FILTER (WHERE o.price_fen_per_unit_hour > v_max_price),
        'min_green_share', count(*) FILTER (WHERE o.green_share < v_min_green),
        'max_pue', count(*) FILTER (WHERE o.pue > v_max_pue),
        'window', count(*) FILTER (WHERE greatest(o.available_from, v_lo) + v_dur
                                           > least(o.available_until, v_hi)),
        'units', count(*) FILTER (WHERE NOT v_split AND o.units < v_units),
        'capacity', v_considered - v_feasible)
        FROM offers o WHERE o.status = 'active'));
  END IF;

  SELECT jsonb_agg(p ORDER BY n), count(*) INTO v_ranked, v_n FROM (
    SELECT p, row_number() OVER (ORDER BY
             CASE WHEN v_sort = 'tflops_per_fen' THEN coalesce((p->>'tflops_hours_per_fen')::numeric, 'Infinity') END DESC,
             CASE WHEN v_sort = 'green_share' THEN (p->>'green_share')::numeric END DESC,
             CASE WHEN v_sort = 'earliest_start' THEN p->>'start' END,
             (p->>'net_fen')::bigint, p->>'start', (p->>'split')::boolean) AS n
      FROM jsonb_array_elements(v_plans) p) ranked;
  RETURN jsonb_build_object('items', coalesce((
    SELECT jsonb_agg(p || jsonb_build_object('rank', n, 'reasons', jsonb_build_array(
             format('rank %s of %s by %s', n, v_n, v_label),
             format('net cost %s fen = gross %s fen - subsidy %s fen', p->>'net_fen',
                    p->>'gross_fen', p->>'subsidy_fen'),
             CASE WHEN (p->>'split')::boolean
                  THEN format('split over %s offers, taken in ranking order until the %s units were covered',
                              jsonb_array_length(p->'legs'), v_units)
                  ELSE format('one offer with %s of the %s units needed free from %s',
                              p->'legs'->0->>'free_units', v_units, p->>'start') END,
             format('green share %s, %s TFLOPS-hours per fen', p->>'green_share',
                    coalesce(p->>'tflops_hours_per_fen', 'unbounded (net cost 0)'))))
           ORDER BY n)
      FROM jsonb_array_elements(v_ranked) WITH ORDINALITY AS x(p, n)
     WHERE n <= v_limit), '[]'));
END $$;

-- ==== demo =================================================================================
-- DESIGN.md §6: West Cloud offers capacity in every western hub, East Compute in every
-- eastern one, from the seed day for a year. Idempotent: a provider that has offers is left
-- as it is.
CREATE FUNCTION demo_seed_10_marketplace(p_actor jsonb) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  v_provider uuid;
  v_zone text;
  v_from timestamptz := date_trunc('day', now());
  r record;
  a record;
  v_offer offers;
  v_i integer := 0;
BEGIN
  FOR v_provider, v_zone IN
    SELECT o.id, CASE o.name WHEN 'West Cloud' THEN 'west' ELSE 'east' END
      FROM organizations o
     WHERE o.type = 'provider' AND o.name IN ('West Cloud', 'East Compute')
       AND NOT EXISTS (SELECT 1 FROM offers f WHERE f.provider_id = o.id)
  LOOP
    FOR r IN SELECT code, zone FROM regions WHERE zone = v_zone ORDER BY code LOOP
      v_i := v_i + 1;
      -- accelerator, class, units, fp16 TFLOPS, memory GiB, price fen per unit-hour
      FOR a IN SELECT * FROM (VALUES
          ('H100', 'gpu', 64, 989.0, 80, 2600),
          ('A800', 'gpu', 128, 312.0, 80, 1300),
          ('Ascend-910B', 'npu', 256, 320.0, 64, 900),
          ('CPU', 'cpu', 512, 2.5, 256, 160)) AS t(accel, cls, units, tflops, mem, price)
         WHERE v_zone = 'west' OR accel <> 'Ascend-910B'
      LOOP
        INSERT INTO offers (provider_id, resource_class, accelerator, units, fp16_tflops_per_unit,
                            memory_gib_per_unit, region, zone, price_fen_per_unit_hour,
                            available_from, available_until, pue, green_share)
        VALUES (v_provider, a.cls, a.accel, a.units, a.tflops, a.mem, r.code, r.zone,
                -- the west is cheaper and greener (East Data, West Computing)
                CASE WHEN v_zone = 'west' THEN a.price * 85 / 100 ELSE a.price END + v_i * 10,
                v_from, v_from + interval '1 year',
                CASE WHEN v_zone = 'west' THEN 1.15 + v_i % 4 * 0.03 ELSE 1.30 + v_i % 4 * 0.04 END,
                CASE WHEN v_zone = 'west' THEN 0.62 + v_i % 4 * 0.08 ELSE 0.25 + v_i % 4 * 0.05 END)
        RETURNING * INTO v_offer;
        PERFORM audit_append(p_actor, 'offer.create', 'offer', v_offer.id, offer_json(v_offer),
                             (SELECT city_id FROM organizations WHERE id = v_provider));
      END LOOP;
    END LOOP;
  END LOOP;
END $$;
