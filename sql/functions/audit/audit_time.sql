-- The event's content as the JSON object that server/audit.c canonicalises and hashes (seq is
-- not part of it: the chain step binds it). Times carry microseconds, all that is stored.
CREATE FUNCTION audit_time(t timestamptz) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
$$;
