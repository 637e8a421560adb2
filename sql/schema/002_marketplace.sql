-- 002 — the capacity marketplace's tables: regions, offers, orders.
--
-- Invariant I3 (no double booking): order_create (sql/functions/market) locks the offer row, so
-- that the orders of one offer are decided one at a time across every server process, and
-- admits an order only if the busiest instant of its window still has room for it.

-- ==== regions ==============================================================================
-- The eight hub nodes of "East Data, West Computing" (DESIGN.md §2). Fixed reference data;
-- api/marketplace.c validates region codes against the same list.
CREATE TABLE regions (
  code text PRIMARY KEY,
  zone text NOT NULL CHECK (zone IN ('east', 'west')),
  name text NOT NULL
);
INSERT INTO regions (code, zone, name) VALUES
  ('jing-jin-ji', 'east', 'Beijing–Tianjin–Hebei'),
  ('yangtze-delta', 'east', 'Yangtze River Delta'),
  ('greater-bay', 'east', 'Guangdong–Hong Kong–Macao Greater Bay Area'),
  ('cheng-yu', 'east', 'Chengdu–Chongqing'),
  ('inner-mongolia', 'west', 'Inner Mongolia'),
  ('guizhou', 'west', 'Guizhou'),
  ('gansu', 'west', 'Gansu'),
  ('ningxia', 'west', 'Ningxia');

-- ==== offers ===============================================================================
CREATE TABLE offers (
  id                      uuid PRIMARY KEY DEFAULT uuid_v7(),
  provider_id             uuid NOT NULL REFERENCES organizations (id),
  resource_class          text NOT NULL CHECK (resource_class IN ('gpu', 'npu', 'cpu')),
  accelerator             text NOT NULL CHECK (accelerator ~ '^[A-Za-z0-9][A-Za-z0-9 ._+-]{0,63}$'),
  units                   integer NOT NULL CHECK (units BETWEEN 1 AND 1000000),
  fp16_tflops_per_unit    numeric NOT NULL CHECK (fp16_tflops_per_unit BETWEEN 0 AND 100000),
  memory_gib_per_unit     integer NOT NULL CHECK (memory_gib_per_unit BETWEEN 1 AND 65536),
  region                  text NOT NULL REFERENCES regions (code),
  zone                    text NOT NULL,  -- the region's zone, kept here so that it is indexable
  price_fen_per_unit_hour bigint NOT NULL CHECK (price_fen_per_unit_hour BETWEEN 1 AND 10000000000),
  available_from          timestamptz NOT NULL,
  available_until         timestamptz NOT NULL,
  pue                     numeric NOT NULL CHECK (pue BETWEEN 1.0 AND 3.0),
  green_share             numeric NOT NULL CHECK (green_share BETWEEN 0 AND 1),
  status                  text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'paused', 'withdrawn')),
  version                 integer NOT NULL DEFAULT 1,
  -- performance per fen: the sort key "tflops_per_fen" (not money: a ratio for ranking)
  tflops_per_fen          numeric GENERATED ALWAYS AS
                            (round(fp16_tflops_per_unit / price_fen_per_unit_hour, 12)) STORED,
  created_at              timestamptz NOT NULL DEFAULT now(),
  updated_at              timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT offers_window CHECK (available_until > available_from)
);
-- One index per sort key over the searchable (active) offers, each ending in id for the keyset,
-- so that every sort walks an index and stops after limit + 1 matches.
CREATE INDEX offers_active_id ON offers (id) WHERE status = 'active';
CREATE INDEX offers_active_price ON offers (price_fen_per_unit_hour, id) WHERE status = 'active';
CREATE INDEX offers_active_tpf ON offers (tflops_per_fen, id) WHERE status = 'active';
CREATE INDEX offers_active_green ON offers (green_share, id) WHERE status = 'active';
CREATE INDEX offers_active_created ON offers (created_at, id) WHERE status = 'active';
-- The selective filters: class and region (and zone), accelerator, provider.
CREATE INDEX offers_active_class_region ON offers (resource_class, region, price_fen_per_unit_hour, id)
  WHERE status = 'active';
CREATE INDEX offers_active_zone ON offers (zone, resource_class, price_fen_per_unit_hour, id)
  WHERE status = 'active';
CREATE INDEX offers_active_accelerator ON offers (accelerator, price_fen_per_unit_hour, id)
  WHERE status = 'active';
CREATE INDEX offers_active_from ON offers (available_from, price_fen_per_unit_hour, id)
  WHERE status = 'active';
CREATE INDEX offers_provider ON offers (provider_id, id);

-- ==== orders ===============================================================================
CREATE TABLE orders (
  id           uuid PRIMARY KEY DEFAULT uuid_v7(),
  offer_id     uuid NOT NULL REFERENCES offers (id),
  institute_id uuid NOT NULL REFERENCES organizations (id),
  created_by   uuid NOT NULL REFERENCES users (id),
  units        integer NOT NULL CHECK (units > 0),
  start_at     timestamptz NOT NULL,
  end_at       timestamptz NOT NULL,
  hours        integer NOT NULL CHECK (hours > 0),
  price_fen_per_unit_hour bigint NOT NULL CHECK (price_fen_per_unit_hour > 0),
  gross_fen    bigint NOT NULL CHECK (gross_fen > 0),
  subsidy_fen  bigint NOT NULL DEFAULT 0 CHECK (subsidy_fen >= 0),
  net_fen      bigint NOT NULL,
  status       text NOT NULL DEFAULT 'reserved' CHECK (status IN ('reserved', 'completed', 'cancelled')),
  created_at   timestamptz NOT NULL DEFAULT now(),
  cancelled_at timestamptz,
  completed_at timestamptz,
  CONSTRAINT orders_window CHECK (end_at > start_at),
  CONSTRAINT orders_net CHECK (net_fen = gross_fen - subsidy_fen AND net_fen >= 0)
);
-- Capacity checks read the live orders of one offer around a window.
CREATE INDEX orders_offer_live ON orders (offer_id, start_at, end_at) INCLUDE (units)
  WHERE status <> 'cancelled';
CREATE INDEX orders_institute ON orders (institute_id, id);
CREATE INDEX orders_offer ON orders (offer_id, id);
