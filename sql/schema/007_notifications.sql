-- 007 — telling people what happened: in-app notifications for an organisation, and signed
-- webhooks that carry the same events to providers' and cities' own systems (the functions
-- are in sql/functions/notify; the delivery worker is server/webhook.c).
--
-- * A notification is addressed to an organisation: every user of it sees it; each user marks
--   it read for themself (notification_reads).
-- * Triggers write notifications in the transaction of the change they report (a voucher
--   issued, an order created or cancelled, a programme's commitment passing 80 % or 100 % of
--   its budget); a periodic job (notify_tick, on the server's cron runner) writes those that
--   time or a computation raises (a voucher expiring in 30, 7 or 1 days, a new anomaly flag),
--   each once, by its dedup_key.
-- * Every notification inserted writes, in the same transaction, one outbox row
--   (webhook_deliveries) per active webhook endpoint of its organisation subscribed to its
--   kind: a committed event is never lost, whatever happens to the process that delivers it.
--   Delivery is at least once; the body's "id" (the delivery id) lets a receiver drop repeats.

-- ==== notifications ========================================================================
CREATE TABLE notifications (
  id           uuid PRIMARY KEY DEFAULT uuid_v7(),
  org_id       uuid NOT NULL REFERENCES organizations (id),
  kind         text NOT NULL CHECK (kind IN ('application.decided', 'voucher.issued',
                                             'voucher.expiring', 'order.created',
                                             'order.cancelled', 'program.budget_threshold',
                                             'anomaly.flagged')),
  subject_type text NOT NULL,
  subject_id   uuid,
  data         jsonb NOT NULL DEFAULT '{}',
  dedup_key    text,
  created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX notifications_org ON notifications (org_id, id);
CREATE UNIQUE INDEX notifications_dedup ON notifications (dedup_key) WHERE dedup_key IS NOT NULL;

CREATE TABLE notification_reads (
  notification_id uuid NOT NULL REFERENCES notifications (id),
  user_id         uuid NOT NULL REFERENCES users (id),
  read_at         timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, notification_id)
);

-- ==== webhooks =============================================================================
-- The secret signs every delivery (HMAC-SHA256), so the server must keep it readable; it is
-- shown once, at creation, and never answered again.
CREATE TABLE webhook_endpoints (
  id         uuid PRIMARY KEY DEFAULT uuid_v7(),
  org_id     uuid NOT NULL REFERENCES organizations (id),
  url        text NOT NULL CHECK (length(url) BETWEEN 8 AND 2048),
  events     text[] NOT NULL CHECK (cardinality(events) >= 1),
  secret     text NOT NULL CHECK (secret LIKE 'whsec_%'),
  status     text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'deleted')),
  created_by uuid REFERENCES users (id),
  created_at timestamptz NOT NULL DEFAULT now(),
  deleted_at timestamptz
);
CREATE INDEX webhook_endpoints_org ON webhook_endpoints (org_id, id) WHERE status = 'active';

-- The outbox: one row per event and endpoint. body is the exact JSON that is signed and sent,
-- fixed when the row is written, so that every retry sends the same bytes. A worker leases a
-- row (lease_until) before it sends; a lease that runs out (the process died) makes the row
-- due again.
CREATE TABLE webhook_deliveries (
  id              uuid PRIMARY KEY DEFAULT uuid_v7(),
  endpoint_id     uuid NOT NULL REFERENCES webhook_endpoints (id),
  notification_id uuid NOT NULL REFERENCES notifications (id),
  event           text NOT NULL,
  body            text NOT NULL,
  status          text NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'delivered', 'failed')),
  attempts        integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  lease_until     timestamptz,
  last_error      text,
  created_at      timestamptz NOT NULL DEFAULT now(),
  finished_at     timestamptz
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, id);

-- The delivery log: every attempt, its answer or why there was none.
CREATE TABLE webhook_attempts (
  delivery_id uuid NOT NULL REFERENCES webhook_deliveries (id),
  attempt     integer NOT NULL,
  at          timestamptz NOT NULL DEFAULT now(),
  http_status integer,
  error       text,
  duration_ms integer,
  PRIMARY KEY (delivery_id, attempt)
);

-- The next expiry notice each live voucher is due (30, 7 and 1 days before it expires): the
-- periodic job reads only the rows due, by next_at. A voucher issued with less time left gets
-- the notice of the nearest threshold at once, and the ones below it later. No foreign key:
-- a batch of 10 000 vouchers would pay 10 000 lookups for it, and the job reads the voucher
-- (and drops the row of one that is gone or no longer active) anyway.
CREATE TABLE voucher_expiry_watch (
  voucher_id uuid PRIMARY KEY,
  next_at    timestamptz NOT NULL
);
CREATE INDEX voucher_expiry_watch_due ON voucher_expiry_watch (next_at);
INSERT INTO voucher_expiry_watch (voucher_id, next_at)
SELECT id, expires_at - interval '30 days' FROM vouchers
 WHERE status = 'active' AND expires_at > now();
