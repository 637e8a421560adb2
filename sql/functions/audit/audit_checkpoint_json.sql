CREATE FUNCTION audit_checkpoint_json(k audit_checkpoints) RETURNS jsonb
LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object('size', k.size, 'head_hash', encode(k.head_hash, 'hex'),
                            'signed_at', ts(k.signed_at), 'kid', k.kid,
                            'signature', encode(k.signature, 'hex'))
$$;
