-- Only operators, city administrators and auditors read the audit log (the route table says
-- so too; this keeps the functions safe on their own).
CREATE FUNCTION audit_reader_check(p_actor jsonb) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF p_actor->>'role' IS NULL OR p_actor->>'role' NOT IN ('operator', 'city_admin', 'auditor') THEN
    PERFORM problem('forbidden', 'only operators, city administrators and auditors read the audit log');
  END IF;
END $$;
