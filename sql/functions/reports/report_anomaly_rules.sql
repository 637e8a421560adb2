-- What each flag means, as the response explains it.
CREATE FUNCTION report_anomaly_rules() RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
  SELECT jsonb_build_object(
    'institute_share', 'One institute holds more than 50 % of a programme''s redeemed subsidy '
                       '(applied redemptions, net of reversals): the programme may be captured by one beneficiary.',
    'provider_share', 'One provider receives more than 50 % of a programme''s subsidy (applied '
                      'redemptions on orders of its offers): subsidy may be steered to one supplier.',
    'redeem_then_cancel', 'An institute cancelled 3 or more orders that had voucher redemptions in '
                          'the last 30 days: redeeming and cancelling again and again can hide '
                          'budget parking or probing of the rules.',
    'burst', 'An institute made 10 or more redemptions in the last hour, more than 5 times its hourly '
             'average over the 30 days before: an unusual burst (a script, a leaked account, a rush '
             'before expiry).',
    'recovery', 'Subsidy already settled was recovered (追回) from a provider or institute in the '
                'last 365 days: compute paid for and not delivered, or an improper claim; high while '
                'part of it is still owed.')
$$;
