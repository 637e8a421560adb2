-- A programme's co-funding split as given in a request: up to 8 funders, each
-- {"funder": 1 to 64 characters, "share_bp": 1 to 10 000}, names distinct, shares summing to
-- 10 000 (an empty list: no split). Refused naming the field otherwise; answers the list.
CREATE FUNCTION program_funders_check(p_funders jsonb) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
  e record;
BEGIN
  IF p_funders IS NULL OR p_funders = 'null' THEN
    RETURN '[]';
  END IF;
  IF jsonb_typeof(p_funders) <> 'array' OR jsonb_array_length(p_funders) > 8 THEN
    PERFORM problem_at('validation-failed', 'funders', 'must be a list of at most 8 funders');
  END IF;
  FOR e IN SELECT t.n - 1 AS i, t.f FROM jsonb_array_elements(p_funders) WITH ORDINALITY t(f, n) LOOP
    IF jsonb_typeof(e.f) <> 'object' OR jsonb_typeof(e.f->'funder') <> 'string'
       OR length(e.f->>'funder') NOT BETWEEN 1 AND 64 THEN
      PERFORM problem_at('validation-failed', format('funders[%s].funder', e.i), 'must be a name of 1 to 64 characters');
    END IF;
    IF jsonb_typeof(e.f->'share_bp') <> 'number' OR (e.f->>'share_bp') !~ '^[0-9]+$'
       OR (e.f->>'share_bp')::numeric NOT BETWEEN 1 AND 10000 THEN
      PERFORM problem_at('validation-failed', format('funders[%s].share_bp', e.i), 'must be an integer from 1 to 10000');
    END IF;
    IF EXISTS (SELECT 1 FROM jsonb_object_keys(e.f) k WHERE k NOT IN ('funder', 'share_bp')) THEN
      PERFORM problem_at('validation-failed', format('funders[%s]', e.i), 'only funder and share_bp are allowed');
    END IF;
  END LOOP;
  IF (SELECT count(DISTINCT f->>'funder') FROM jsonb_array_elements(p_funders) f) <> jsonb_array_length(p_funders) THEN
    PERFORM problem_at('validation-failed', 'funders', 'a funder is listed twice');
  END IF;
  IF jsonb_array_length(p_funders) > 0
     AND (SELECT sum((f->>'share_bp')::integer) FROM jsonb_array_elements(p_funders) f) <> 10000 THEN
    PERFORM problem_at('validation-failed', 'funders', 'the shares must sum to 10000 bp');
  END IF;
  RETURN (SELECT coalesce(jsonb_agg(jsonb_build_object('funder', f->>'funder',
                                                       'share_bp', (f->>'share_bp')::integer)
                                    ORDER BY n), '[]')
            FROM jsonb_array_elements(p_funders) WITH ORDINALITY t(f, n));
END $$;
