-- Appends chain entries (hashes in hex); the primary keys refuse a second sealer's overlap.
CREATE FUNCTION audit_chain_append(p_positions bigint[], p_seqs bigint[], p_leaves text[],
                                   p_hashes text[]) RETURNS void LANGUAGE sql AS $$
  INSERT INTO audit_chain (position, seq, leaf, hash)
  SELECT p, s, decode(l, 'hex'), decode(h, 'hex')
    FROM unnest(p_positions, p_seqs, p_leaves, p_hashes) AS x (p, s, l, h)
$$;
