-- Region codes and resource classes of a request, or all of them when absent; unknown ones
-- are refused naming the field.
CREATE FUNCTION program_rule_lists(p_body jsonb, OUT classes text[], OUT regions text[])
LANGUAGE plpgsql STABLE AS $$
DECLARE
  v_bad text;
BEGIN
  classes := CASE WHEN jsonb_typeof(p_body->'resource_classes') = 'array'
                  THEN ARRAY(SELECT DISTINCT c FROM jsonb_array_elements_text(p_body->'resource_classes') c ORDER BY c)
                  ELSE ARRAY['cpu', 'gpu', 'npu'] END;
  regions := CASE WHEN jsonb_typeof(p_body->'regions') = 'array'
                  THEN ARRAY(SELECT DISTINCT r FROM jsonb_array_elements_text(p_body->'regions') r ORDER BY r)
                  ELSE ARRAY(SELECT code FROM regions ORDER BY code) END;
  SELECT c INTO v_bad FROM unnest(classes) c WHERE c NOT IN ('gpu', 'npu', 'cpu') LIMIT 1;
  IF FOUND THEN
    PERFORM problem_at('validation-failed', 'resource_classes', 'unknown resource class ' || v_bad);
  END IF;
  SELECT r INTO v_bad FROM unnest(regions) r WHERE NOT EXISTS (SELECT 1 FROM regions g WHERE g.code = r) LIMIT 1;
  IF FOUND THEN
    PERFORM problem_at('validation-failed', 'regions', 'unknown region ' || v_bad);
  END IF;
END $$;
