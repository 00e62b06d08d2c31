-- pgbench script for baseline 2 of scripts/bench-ingest.sh: what plain PostgreSQL does when
-- every event is its own INSERT and its own commit (pgbench without BEGIN = autocommit), i.e.
-- the naive ingest design the group commit has to beat. One transaction = one event.
INSERT INTO events (id, type, occurred_at, store_id, product_id, quantity, unit_price_cents)
VALUES (md5(random()::text || clock_timestamp()::text), 'sale', now(), 'S01', 'P00042', 1, 250);
