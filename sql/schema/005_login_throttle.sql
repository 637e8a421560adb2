-- 005 — login throttling across accounts, addresses and the whole service (issue 15).
--
-- login_failures (001) keeps one row per failed login for an hour; login_check counts the last
-- minute of them four ways: for one account from one address (SUANLI_LOGIN_ATTEMPTS), for one
-- account from every address (SUANLI_LOGIN_ACCOUNT_ATTEMPTS), from one address for every
-- account (SUANLI_LOGIN_ADDRESS_ATTEMPTS) and for the whole service
-- (SUANLI_LOGIN_GLOBAL_ATTEMPTS). A throttled attempt is not checked and not recorded, so each
-- count stays near its limit and every lookup reads at most that many index entries.
CREATE INDEX login_failures_email_at ON login_failures (email, at);
CREATE INDEX login_failures_ip_at ON login_failures (client_ip, at);
CREATE INDEX login_failures_at ON login_failures (at);

-- Failed logins for emails that name no account do not each go into the audit chain (which is
-- permanent, and would grow as fast as anyone can post guesses): they are counted here per
-- client address and hour, and only the 1st, 10th, 100th, … of an address's hour is audited
-- (session.login_failed_unknown, with the count so far). Rows older than 30 days are dropped.
CREATE TABLE login_unknown_counts (
  client_ip text NOT NULL,
  hour      timestamptz NOT NULL,
  failures  bigint NOT NULL CHECK (failures > 0),
  PRIMARY KEY (client_ip, hour)
);
CREATE INDEX login_unknown_counts_hour ON login_unknown_counts (hour);
