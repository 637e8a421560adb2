-- Whether a programme paying for order p_order settles only after the buyer has paid.
CREATE FUNCTION usage_requires_payment(p_order uuid) RETURNS boolean LANGUAGE sql STABLE AS $$
  SELECT EXISTS (SELECT 1 FROM redemptions r JOIN programs g ON g.id = r.program_id
                  WHERE r.order_id = p_order AND r.status = 'applied'
                    AND g.settle_after_buyer_pays)
$$;
