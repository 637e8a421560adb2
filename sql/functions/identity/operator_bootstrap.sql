CREATE FUNCTION operator_bootstrap(p_email text, p_hash text) RETURNS uuid LANGUAGE plpgsql AS $$
DECLARE
  v_org uuid;
  v_user uuid;
  v_actor jsonb := jsonb_build_object('role', 'operator', 'request_id', 'cli');
BEGIN
  SELECT id INTO v_org FROM organizations WHERE type = 'operator';
  IF NOT FOUND THEN
    INSERT INTO organizations (type, name) VALUES ('operator', 'Suanli Operations') RETURNING id INTO v_org;
    PERFORM audit_append(v_actor, 'organization.create', 'organization', v_org,
                         jsonb_build_object('type', 'operator', 'name', 'Suanli Operations'));
  END IF;
  INSERT INTO users (email, password_hash, role, organization_id)
  VALUES (lower(p_email), p_hash, 'operator', v_org) RETURNING id INTO v_user;
  PERFORM audit_append(v_actor, 'user.create', 'user', v_user,
                       jsonb_build_object('email', lower(p_email), 'role', 'operator'));
  RETURN v_user;
END $$;
