-- An application as the API shows it, with its programme's and institute's names.
CREATE FUNCTION application_json(a applications) RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object(
    'id', a.id, 'program_id', a.program_id, 'program_name', p.name, 'city_id', a.city_id,
    'institute_id', a.institute_id, 'institute_name', i.name, 'provider_id', a.provider_id,
    'requested_fen', a.requested_fen, 'contract_value_fen', a.contract_value_fen,
    'purpose', a.purpose, 'contract_reference', a.contract_reference,
    'attachments', a.attachments, 'status', a.status, 'approved_fen', a.approved_fen,
    'decision_note', a.decision_note, 'voucher_id', a.voucher_id,
    'created_at', ts(a.created_at), 'decided_at', ts(a.decided_at),
    'updated_at', ts(a.updated_at))
    FROM programs p, organizations i WHERE p.id = a.program_id AND i.id = a.institute_id
$$;
