-- The city an actor is confined to; NULL for the operator and national auditors.
CREATE FUNCTION actor_city(p_actor jsonb) RETURNS uuid LANGUAGE sql IMMUTABLE AS $$
  SELECT nullif(p_actor->>'city_id', '')::uuid
$$;
