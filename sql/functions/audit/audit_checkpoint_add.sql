CREATE FUNCTION audit_checkpoint_add(p_size bigint, p_head text, p_signed_at timestamptz,
                                     p_kid text, p_signature text) RETURNS void
LANGUAGE sql AS $$
  INSERT INTO audit_checkpoints (size, head_hash, signed_at, kid, signature)
  VALUES (p_size, decode(p_head, 'hex'), p_signed_at, p_kid, decode(p_signature, 'hex'))
$$;
