-- The chain position whose leaf is p_leaf, other than p_not (to tell a reordered event from
-- an edited one once verification has failed; a scan, but only on that path).
CREATE FUNCTION audit_leaf_position(p_leaf text, p_not bigint) RETURNS bigint
LANGUAGE sql STABLE AS $$
  SELECT position FROM audit_chain WHERE leaf = decode(p_leaf, 'hex') AND position <> p_not
   ORDER BY position LIMIT 1
$$;
