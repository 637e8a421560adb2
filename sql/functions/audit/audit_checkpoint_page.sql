CREATE FUNCTION audit_checkpoint_page(p_after bigint, p_limit int) RETURNS TABLE (
  o_size bigint, o_head text, o_signed_at text, o_kid text, o_signature text)
LANGUAGE sql STABLE AS $$
  SELECT size, encode(head_hash, 'hex'), ts(signed_at), kid, encode(signature, 'hex')
    FROM audit_checkpoints WHERE size > p_after ORDER BY size LIMIT p_limit
$$;
