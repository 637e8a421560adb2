-- Checkpoints cover the whole log and disclose no event, so every audit reader sees them all.
CREATE FUNCTION audit_checkpoint_list(p_actor jsonb, p_desc boolean, p_after bigint, p_limit int)
RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
BEGIN
  PERFORM audit_reader_check(p_actor);
  IF p_desc THEN
    RETURN (
      WITH page AS (
        SELECT k FROM audit_checkpoints k WHERE k.size < coalesce(p_after, 9223372036854775807)
         ORDER BY k.size DESC LIMIT p_limit + 1)
      SELECT jsonb_build_object(
        'items', coalesce((SELECT jsonb_agg(audit_checkpoint_json(x.k) ORDER BY (x.k).size DESC)
                             FROM (SELECT k FROM page ORDER BY (k).size DESC LIMIT p_limit) x), '[]'),
        'next_cursor', CASE WHEN (SELECT count(*) FROM page) > p_limit
                            THEN (SELECT (k).size::text FROM page ORDER BY (k).size DESC
                                   LIMIT 1 OFFSET p_limit - 1) END));
  END IF;
  RETURN (
    WITH page AS (
      SELECT k FROM audit_checkpoints k WHERE k.size > coalesce(p_after, 0)
       ORDER BY k.size LIMIT p_limit + 1)
    SELECT jsonb_build_object(
      'items', coalesce((SELECT jsonb_agg(audit_checkpoint_json(x.k) ORDER BY (x.k).size)
                           FROM (SELECT k FROM page ORDER BY (k).size LIMIT p_limit) x), '[]'),
      'next_cursor', CASE WHEN (SELECT count(*) FROM page) > p_limit
                          THEN (SELECT (k).size::text FROM page ORDER BY (k).size
                                 LIMIT 1 OFFSET p_limit - 1) END));
END $$;
