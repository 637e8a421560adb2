-- The subsidy ratio a programme grants an offer, and the tier it comes from: the base
-- max_subsidy_bp, or a higher tier for a domestic accelerator family or a western hub.
--
-- PL/pgSQL, not SQL: it cannot be inlined (its query has a FROM or a sub-select), and a SQL
-- function that is not inlined is parsed, analysed and planned again in every statement that
-- calls it; PL/pgSQL prepares its query once per connection (README, Measurements).
CREATE FUNCTION program_subsidy_bp(p programs, f offers, OUT bp integer, OUT tier text)
LANGUAGE plpgsql STABLE AS $$
BEGIN
  SELECT t.bp, t.tier INTO bp, tier FROM (
    SELECT p.max_subsidy_bp AS bp, 'base' AS tier, 0 AS k
    UNION ALL
    SELECT p.domestic_subsidy_bp, 'domestic accelerator', 1
     WHERE p.domestic_subsidy_bp IS NOT NULL
       AND EXISTS (SELECT 1 FROM domestic_accelerators d WHERE d.accelerator = lower(f.accelerator))
    UNION ALL
    SELECT p.west_subsidy_bp, 'west zone', 2
     WHERE p.west_subsidy_bp IS NOT NULL AND f.zone = 'west') t
  ORDER BY t.bp DESC, t.k LIMIT 1;
END $$;
