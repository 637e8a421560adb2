-- The demo of DESIGN.md §6, for development only: loaded by `suanlid demo-seed` and
-- `suanlid serve --demo-seed` (never in production mode) into the session's temporary schema,
-- called once as pg_temp.demo_seed(password hash), and gone when that session ends; nothing of
-- it stays in the database but the rows it inserts. Every step is idempotent.
-- Functions of pg_temp are never found through search_path: they are called by their full name.

-- DESIGN.md §6: West Cloud offers capacity in every western hub, East Compute in every
-- eastern one, from the seed day for a year. Idempotent: a provider that has offers is left
-- as it is.
CREATE FUNCTION pg_temp.demo_seed_marketplace(p_actor jsonb) RETURNS void LANGUAGE plpgsql AS $$
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

-- DESIGN.md §6: Chengdu's programme and the Sichuan University AI Lab's voucher, signed with
-- the current key (the server registers its keyring before it seeds).
CREATE FUNCTION pg_temp.demo_seed_vouchers(p_actor jsonb) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  v_city uuid;
  v_scu uuid;
  v_program uuid;
  v_kid text;
  v_start timestamptz := date_trunc('day', now());
BEGIN
  SELECT id INTO v_city FROM organizations WHERE type = 'city' AND name = 'Chengdu';
  SELECT id INTO v_scu FROM organizations WHERE type = 'institute' AND name = 'Sichuan University AI Lab';
  IF v_city IS NULL OR v_scu IS NULL THEN
    RETURN;
  END IF;
  SELECT id INTO v_program FROM programs WHERE city_id = v_city AND name = 'Chengdu Compute Voucher 2026';
  IF NOT FOUND THEN
    SELECT c.program->>'id' INTO v_program
      FROM program_create(p_actor, jsonb_build_object(
             'city_id', v_city, 'name', 'Chengdu Compute Voucher 2026', 'budget_fen', 1000000000,
             'starts_at', v_start, 'ends_at', v_start + interval '2 years',
             'max_subsidy_bp', 5000, 'min_green_share', 0)) c;
  END IF;
  SELECT kid INTO v_kid FROM signing_keys WHERE status = 'current';
  IF v_kid IS NULL OR EXISTS (SELECT 1 FROM vouchers WHERE program_id = v_program AND institute_id = v_scu) THEN
    RETURN;
  END IF;
  PERFORM voucher_issue(p_actor, v_program, v_kid, jsonb_build_array(jsonb_build_object(
            'institute_id', v_scu, 'face_value_fen', 50000000,
            'expires_at', v_start + interval '1 year')));
END $$;

-- Issue 13: the Chengdu programme's accreditation list (West Cloud accredited, East Compute
-- pending; the programme stays open to all providers, as the demo's orders need) and two
-- applications of the Sichuan University AI Lab, one submitted and one approved with its
-- voucher. Idempotent: a contract reference already applied for is left as it is.
CREATE FUNCTION pg_temp.demo_seed_scheme(p_actor jsonb) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  v_city uuid;
  v_scu uuid;
  v_program uuid;
  v_kid text;
  v_lab jsonb;
  v_app jsonb;
BEGIN
  SELECT id INTO v_city FROM organizations WHERE type = 'city' AND name = 'Chengdu';
  SELECT id INTO v_scu FROM organizations WHERE type = 'institute' AND name = 'Sichuan University AI Lab';
  SELECT id INTO v_program FROM programs WHERE city_id = v_city AND name = 'Chengdu Compute Voucher 2026';
  SELECT kid INTO v_kid FROM signing_keys WHERE status = 'current';
  IF v_program IS NULL OR v_scu IS NULL OR v_kid IS NULL THEN
    RETURN;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM program_providers WHERE program_id = v_program) THEN
    PERFORM program_provider_set(p_actor, v_program, o.id,
                                 CASE o.name WHEN 'West Cloud' THEN 'accredited' ELSE 'pending' END,
                                 CASE o.name WHEN 'West Cloud' THEN 'certified green data centres'
                                             ELSE 'documents under review' END)
       FROM organizations o
      WHERE o.type = 'provider' AND o.name IN ('West Cloud', 'East Compute');
  END IF;
  v_lab := jsonb_build_object('role', 'institute', 'org_id', v_scu, 'city_id', v_city,
                              'user_id', (SELECT id FROM users WHERE email = 'lab@scu.suanli.demo'),
                              'request_id', 'demo-seed');
  IF NOT EXISTS (SELECT 1 FROM applications WHERE program_id = v_program AND contract_reference = 'HT-DEMO-2026-002') THEN
    v_app := application_create(v_lab, jsonb_build_object(
               'program_id', v_program, 'requested_fen', 30000000, 'contract_value_fen', 120000000,
               'purpose', 'Pre-training a Sichuanese speech model on 64 H100 for 3 weeks',
               'contract_reference', 'HT-DEMO-2026-002',
               'attachments', jsonb_build_array(jsonb_build_object(
                 'name', 'HT-DEMO-2026-002.pdf',
                 'sha256', encode(sha256('HT-DEMO-2026-002'::bytea), 'hex')))));
    PERFORM application_approve(p_actor, (v_app->>'id')::uuid, v_kid, 25000000,
                                'trimmed to 250 000 yuan this round');
  END IF;
  IF NOT EXISTS (SELECT 1 FROM applications WHERE program_id = v_program AND contract_reference = 'HT-DEMO-2026-001') THEN
    PERFORM application_create(v_lab, jsonb_build_object(
              'program_id', v_program, 'requested_fen', 20000000, 'contract_value_fen', 80000000,
              'purpose', 'Fine-tuning a 7B model for medical record summarisation',
              'contract_reference', 'HT-DEMO-2026-001',
              'attachments', jsonb_build_array(jsonb_build_object(
                'name', 'HT-DEMO-2026-001.pdf',
                'sha256', encode(sha256('HT-DEMO-2026-001'::bytea), 'hex')))));
  END IF;
END $$;

-- Issue 14: one completed order of the Sichuan University AI Lab on West Cloud's H100 in
-- Guizhou (8 units for 6 hours from the seed day, 40 % paid by its voucher) whose usage, 42.5
-- of the 48 reserved unit-hours, West Cloud reported and the lab accepted: the order is
-- re-billed and its subsidy is due. Idempotent: a lab order with usage is left as it is.
CREATE FUNCTION pg_temp.demo_seed_usage(p_actor jsonb) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  v_city uuid;
  v_scu uuid;
  v_west uuid;
  v_offer uuid;
  v_voucher uuid;
  v_from timestamptz := date_trunc('day', now());
  v_lab jsonb;
  v_ops jsonb;
  v_order jsonb;
BEGIN
  SELECT id INTO v_city FROM organizations WHERE type = 'city' AND name = 'Chengdu';
  SELECT id INTO v_scu FROM organizations WHERE type = 'institute' AND name = 'Sichuan University AI Lab';
  SELECT id INTO v_west FROM organizations WHERE type = 'provider' AND name = 'West Cloud';
  SELECT f.id INTO v_offer FROM offers f
   WHERE f.provider_id = v_west AND f.region = 'guizhou' AND f.accelerator = 'H100'
     AND f.status = 'active' AND f.available_from <= v_from
   ORDER BY f.id LIMIT 1;
  SELECT v.id INTO v_voucher FROM vouchers v JOIN programs g ON g.id = v.program_id
   WHERE v.institute_id = v_scu AND g.name = 'Chengdu Compute Voucher 2026' AND v.status = 'active'
   ORDER BY v.issued_at LIMIT 1;
  IF v_offer IS NULL OR v_voucher IS NULL
     OR EXISTS (SELECT 1 FROM orders WHERE institute_id = v_scu AND usage_state <> 'none') THEN
    RETURN;
  END IF;
  v_lab := jsonb_build_object('role', 'institute', 'org_id', v_scu, 'city_id', v_city,
                              'user_id', (SELECT id FROM users WHERE email = 'lab@scu.suanli.demo'),
                              'request_id', 'demo-seed');
  v_ops := jsonb_build_object('role', 'provider', 'org_id', v_west, 'city_id', v_city,
                              'user_id', (SELECT id FROM users WHERE email = 'ops@westcloud.suanli.demo'),
                              'request_id', 'demo-seed');
  v_order := order_create(v_lab, v_offer, 8, v_from, v_from + interval '6 hours', '[]');
  PERFORM redemption_create(v_lab, v_voucher, (v_order->>'id')::uuid,
                            (v_order->>'gross_fen')::bigint * 40 / 100, false);
  PERFORM order_complete(v_ops, (v_order->>'id')::uuid);
  PERFORM usage_report(v_ops, (v_order->>'id')::uuid, jsonb_build_object(
            'unit_hours', 42.5, 'availability', 0.997,
            'evidence', jsonb_build_array(jsonb_build_object(
              'name', 'westcloud-guizhou-h100-meter.csv',
              'sha256', encode(sha256('westcloud-guizhou-h100-meter'::bytea), 'hex')))));
  PERFORM usage_accept(v_lab, (v_order->>'id')::uuid);
END $$;

-- Chengdu, its providers and institute and six logins; then the marketplace and voucher parts.
CREATE FUNCTION pg_temp.demo_seed(p_hash text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  v_actor jsonb := jsonb_build_object('role', 'operator', 'request_id', 'demo-seed');
  v_op uuid;
  v_city uuid;
  v_west uuid;
  v_east uuid;
  v_scu uuid;
BEGIN
  IF EXISTS (SELECT 1 FROM users WHERE email = 'lab@scu.suanli.demo') THEN
    PERFORM pg_temp.demo_seed_marketplace(v_actor);
    PERFORM pg_temp.demo_seed_vouchers(v_actor);
    PERFORM pg_temp.demo_seed_scheme(v_actor);
    PERFORM pg_temp.demo_seed_usage(v_actor);
    RETURN 'already seeded';
  END IF;
  SELECT id INTO v_op FROM organizations WHERE type = 'operator';
  IF NOT FOUND THEN
    INSERT INTO organizations (type, name) VALUES ('operator', 'Suanli Operations') RETURNING id INTO v_op;
  END IF;
  v_city := uuid_v7();
  INSERT INTO organizations (id, type, name, city_id) VALUES (v_city, 'city', 'Chengdu', v_city);
  INSERT INTO organizations (type, name, city_id) VALUES ('provider', 'West Cloud', v_city) RETURNING id INTO v_west;
  INSERT INTO organizations (type, name, city_id) VALUES ('provider', 'East Compute', v_city) RETURNING id INTO v_east;
  INSERT INTO organizations (type, name, city_id) VALUES ('institute', 'Sichuan University AI Lab', v_city) RETURNING id INTO v_scu;
  INSERT INTO users (email, password_hash, role, organization_id) VALUES
    ('operator@suanli.demo', p_hash, 'operator', v_op),
    ('admin@chengdu.suanli.demo', p_hash, 'city_admin', v_city),
    ('auditor@chengdu.suanli.demo', p_hash, 'auditor', v_city),
    ('ops@westcloud.suanli.demo', p_hash, 'provider', v_west),
    ('ops@eastcompute.suanli.demo', p_hash, 'provider', v_east),
    ('lab@scu.suanli.demo', p_hash, 'institute', v_scu);
  PERFORM audit_append(v_actor, 'demo.seed', 'organization', v_city,
                       jsonb_build_object('city', 'Chengdu'), v_city);
  PERFORM pg_temp.demo_seed_marketplace(v_actor);
  PERFORM pg_temp.demo_seed_vouchers(v_actor);
  PERFORM pg_temp.demo_seed_scheme(v_actor);
  PERFORM pg_temp.demo_seed_usage(v_actor);
  RETURN 'seeded Chengdu with 6 logins';
END $$;
