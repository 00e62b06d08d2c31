/// One versioned change of the schema.
public struct Migration: Sendable {
    public var version: Int
    public var name: String
    /// Run in order inside one transaction. Separate strings because PostgreSQL's extended
    /// protocol, which PostgresNIO speaks, takes one statement per query.
    public var statements: [String]
}

/// The schema's history, oldest first. Never edit an applied migration: add a new one.
public enum Migrations {
    public static let all: [Migration] = [
        Migration(
            version: 1, name: "raw event log",
            statements: [
                """
                CREATE TABLE events (
                    seq              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    id               text COLLATE "C" NOT NULL,
                    type             text NOT NULL CHECK (type IN ('sale', 'return', 'stock', 'price')),
                    occurred_at      timestamptz NOT NULL,
                    received_at      timestamptz NOT NULL DEFAULT now(),
                    store_id         text COLLATE "C" NOT NULL,
                    product_id       text COLLATE "C" NOT NULL,
                    quantity         bigint,
                    unit_price_cents bigint,
                    price_cents      bigint,
                    stock_kind       text CHECK (stock_kind IN ('receipt', 'adjustment', 'count')),
                    category         text,
                    customer_id      text,
                    order_id         text,
                    channel          text,
                    currency         text,
                    CONSTRAINT events_id_unique UNIQUE (id)
                )
                """,
                "COMMENT ON TABLE events IS 'Tidemark raw log: every accepted event once, append-only, ordered by seq (commit order).'",
                """
                CREATE FUNCTION tidemark_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    RAISE EXCEPTION 'the Tidemark raw log is append-only: % on events is refused', TG_OP;
                END;
                $$
                """,
                """
                CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
                    FOR EACH ROW EXECUTE FUNCTION tidemark_refuse_change()
                """,
                """
                CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
                    FOR EACH STATEMENT EXECUTE FUNCTION tidemark_refuse_change()
                """,
            ]),
        Migration(
            version: 2, name: "append functions",
            statements: [
                // One round trip for a small batch: take the append lock, insert what is new,
                // return the inserted ids. Runs as its own transaction, so the lock is held
                // until the commit (see AdvisoryLock.rawLogAppend). Absent optional values
                // arrive as '' (text) or the minimum bigint: validation never lets those through.
                """
                CREATE FUNCTION tidemark_append(
                    p_id text[], p_type text[], p_occurred_at text[], p_store_id text[], p_product_id text[],
                    p_quantity bigint[], p_unit_price_cents bigint[], p_price_cents bigint[], p_stock_kind text[],
                    p_category text[], p_customer_id text[], p_order_id text[], p_channel text[], p_currency text[]
                ) RETURNS SETOF text LANGUAGE plpgsql AS $$
                BEGIN
                    PERFORM pg_advisory_xact_lock(\(AdvisoryLock.namespace), \(AdvisoryLock.rawLogAppend.rawValue));
                    RETURN QUERY
                    WITH inserted AS (
                        \(insertNewEvents)
                    )
                    SELECT inserted.id FROM inserted;
                END
                $$
                """,
                // For large batches written with COPY: take the append lock and name the ids
                // already stored, in one round trip. The planner settings keep the lookup on
                // the unique index even before statistics exist (a new table was seen scanned
                // sequentially until it held about a million rows).
                """
                CREATE FUNCTION tidemark_lock_and_find_existing(p_ids text[]) RETURNS SETOF text
                LANGUAGE plpgsql SET enable_seqscan = off SET enable_bitmapscan = off AS $$
                BEGIN
                    PERFORM pg_advisory_xact_lock(\(AdvisoryLock.namespace), \(AdvisoryLock.rawLogAppend.rawValue));
                    RETURN QUERY SELECT e.id FROM events e WHERE e.id = ANY(p_ids);
                END
                $$
                """,
            ]),
        Migration(
            version: 3, name: "existence check without the lock",
            statements: [
                // The same lookup as tidemark_lock_and_find_existing, without the lock, so a
                // large batch can be checked while another writer holds the lock.
                """
                CREATE FUNCTION tidemark_find_existing(p_ids text[]) RETURNS SETOF text
                LANGUAGE sql STABLE SET enable_seqscan = off SET enable_bitmapscan = off AS $$
                    SELECT e.id FROM events e WHERE e.id = ANY(p_ids)
                $$
                """
            ]),
        Migration(
            version: 4, name: "batch layer state",
            statements: [
                // Exact conversions between timestamptz and the microseconds Swift works in.
                """
                CREATE FUNCTION tidemark_micros(timestamptz) RETURNS bigint LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
                    SELECT (EXTRACT(EPOCH FROM $1) * 1000000)::bigint
                $$
                """,
                """
                CREATE FUNCTION tidemark_ts(bigint) RETURNS timestamptz LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
                    SELECT 'epoch'::timestamptz + $1 * interval '1 microsecond'
                $$
                """,
                "CREATE SEQUENCE tidemark_batch_generation",
                // The batch now served, per view: which generation of its tables, computed from
                // every event with seq <= watermark, by the definition with this fingerprint.
                // A run updates every row in one transaction, which is the atomic publish.
                """
                CREATE TABLE tidemark_batch_views (
                    view         text PRIMARY KEY,
                    generation   bigint NOT NULL,
                    watermark    bigint NOT NULL,
                    fingerprint  text NOT NULL,
                    run_id       bigint NOT NULL,
                    published_at timestamptz NOT NULL DEFAULT now()
                )
                """,
                """
                CREATE TABLE tidemark_batch_runs (
                    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    started_at         timestamptz NOT NULL DEFAULT now(),
                    finished_at        timestamptz,
                    mode               text NOT NULL CHECK (mode IN ('full', 'incremental')),
                    previous_watermark bigint,
                    watermark          bigint,
                    status             text NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'abandoned')),
                    error              text,
                    view_rows          jsonb,
                    backend_pid        integer NOT NULL DEFAULT pg_backend_pid()
                )
                """,
            ]),
        Migration(
            version: 5, name: "api keys",
            statements: [
                // Only a SHA-256 of each key is kept; the key itself is shown once, at creation.
                """
                CREATE TABLE tidemark_api_keys (
                    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    name        text NOT NULL,
                    prefix      text NOT NULL,
                    key_sha256  bytea NOT NULL UNIQUE,
                    scopes      text[] NOT NULL CHECK (scopes <@ ARRAY['ingest', 'query', 'admin']::text[] AND cardinality(scopes) > 0),
                    created_at  timestamptz NOT NULL DEFAULT now(),
                    revoked_at  timestamptz
                )
                """
            ]),
        Migration(
            version: 6, name: "dashboard sessions",
            statements: [
                // A browser signs in with a query key once and gets a session cookie; only
                // its SHA-256 is kept, and revoking the key ends its sessions too (the join).
                """
                CREATE TABLE tidemark_sessions (
                    token_sha256  bytea PRIMARY KEY,
                    key_id        bigint NOT NULL REFERENCES tidemark_api_keys (id),
                    created_at    timestamptz NOT NULL DEFAULT now(),
                    expires_at    timestamptz NOT NULL
                )
                """,
                "CREATE INDEX tidemark_sessions_expiry ON tidemark_sessions (expires_at)",
            ]),
        Migration(
            version: 7, name: "reorder points, alerts and webhook deliveries",
            statements: [
                // A reorder point is set for one product of a store, or for a category of a
                // store as the default of its products; the product's own wins.
                """
                CREATE TABLE tidemark_reorder_points (
                    store_id         text COLLATE "C" NOT NULL,
                    product_id       text COLLATE "C",
                    category         text COLLATE "C",
                    reorder_point    bigint NOT NULL CHECK (reorder_point >= 0),
                    lead_time_hours  integer NOT NULL CHECK (lead_time_hours >= 0),
                    updated_at       timestamptz NOT NULL DEFAULT now(),
                    CHECK ((product_id IS NULL) <> (category IS NULL))
                )
                """,
                "CREATE UNIQUE INDEX tidemark_reorder_points_product ON tidemark_reorder_points (store_id, product_id) WHERE product_id IS NOT NULL",
                "CREATE UNIQUE INDEX tidemark_reorder_points_category ON tidemark_reorder_points (store_id, category) WHERE category IS NOT NULL",
                // One row per episode: fired once, resolved once, with the numbers that fired it.
                """
                CREATE TABLE tidemark_alerts (
                    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    kind             text NOT NULL CHECK (kind IN ('low_stock', 'stock_out', 'projected_stock_out')),
                    store_id         text COLLATE "C" NOT NULL,
                    product_id       text COLLATE "C" NOT NULL,
                    state            text NOT NULL CHECK (state IN ('firing', 'resolved')),
                    fired_at         timestamptz NOT NULL DEFAULT now(),
                    resolved_at      timestamptz,
                    on_hand          bigint NOT NULL,
                    reorder_point    bigint NOT NULL,
                    lead_time_hours  integer NOT NULL,
                    units_sold_24h   bigint NOT NULL,
                    hours_of_cover   double precision,
                    CHECK ((state = 'resolved') = (resolved_at IS NOT NULL))
                )
                """,
                // The database's word that one condition has one open episode, whichever node
                // evaluates: a second `firing` row for it is refused.
                "CREATE UNIQUE INDEX tidemark_alerts_one_firing ON tidemark_alerts (kind, store_id, product_id) WHERE state = 'firing'",
                "CREATE INDEX tidemark_alerts_fired ON tidemark_alerts (fired_at DESC, id DESC)",
                // The raw-log position the last applied evaluation had read up to: a node whose
                // speed layer lags behind it does not apply its older view of the stock.
                """
                CREATE TABLE tidemark_alert_evaluation (
                    singleton      boolean PRIMARY KEY DEFAULT true CHECK (singleton),
                    evaluated_seq  bigint NOT NULL,
                    evaluated_at   timestamptz NOT NULL DEFAULT now()
                )
                """,
                "INSERT INTO tidemark_alert_evaluation (evaluated_seq) VALUES (0)",
                // One notification per episode transition and URL, queued in the transaction
                // that records the transition, so it survives restarts; claimed with
                // FOR UPDATE SKIP LOCKED and a lease, so two nodes never send it both.
                """
                CREATE TABLE tidemark_webhook_deliveries (
                    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    alert_id         bigint NOT NULL REFERENCES tidemark_alerts (id),
                    transition       text NOT NULL CHECK (transition IN ('fired', 'resolved')),
                    url              text NOT NULL,
                    attempts         integer NOT NULL DEFAULT 0,
                    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
                    delivered_at     timestamptz,
                    failed_at        timestamptz,
                    last_error       text,
                    created_at       timestamptz NOT NULL DEFAULT now(),
                    UNIQUE (alert_id, transition, url)
                )
                """,
                """
                CREATE INDEX tidemark_webhook_deliveries_due ON tidemark_webhook_deliveries (next_attempt_at)
                    WHERE delivered_at IS NULL AND failed_at IS NULL
                """,
            ]),
        Migration(
            version: 8, name: "append procedure that commits",
            statements: [
                // The append in one round trip with its commit: a procedure may COMMIT
                // when it is called outside a transaction block, and CALL answers only after
                // the procedure returned, so its row proves the events durable. The append
                // lock is held inside PostgreSQL only (lock, insert, flush), never across a
                // round trip to the server. The generic plan: its shape never depends on the
                // arrays, and a custom plan was planned again on every call (a procedure that
                // commits cannot take the setting in a SET clause). `tidemark_append` stays for
                // nodes of the previous version during a rolling upgrade.
                """
                CREATE PROCEDURE tidemark_append_committed(
                    p_id text[], p_type text[], p_occurred_at text[], p_store_id text[], p_product_id text[],
                    p_quantity bigint[], p_unit_price_cents bigint[], p_price_cents bigint[], p_stock_kind text[],
                    p_category text[], p_customer_id text[], p_order_id text[], p_channel text[], p_currency text[],
                    INOUT inserted text[] DEFAULT NULL
                ) LANGUAGE plpgsql AS $$
                BEGIN
                    SET LOCAL plan_cache_mode = force_generic_plan;
                    PERFORM pg_advisory_xact_lock(\(AdvisoryLock.namespace), \(AdvisoryLock.rawLogAppend.rawValue));
                    WITH appended AS (
                        \(insertNewEvents)
                    )
                    SELECT coalesce(array_agg(appended.id), '{}') INTO inserted FROM appended;
                    COMMIT;
                END
                $$
                """
            ]),
        Migration(
            version: 9, name: "append procedure that tells the stored seqs",
            statements: [
                // `tidemark_append_committed` that also returns the new rows' `seq`s and the
                // highest `seq` committed before them (read under the lock, so every earlier
                // append has committed): the server hands the stored events to its speed layer
                // instead of reading them back, when nothing else was committed in between.
                // `previous` stays NULL outside READ COMMITTED (a database or role may default to
                // another level): there the snapshot predates the lock and could miss a commit.
                """
                CREATE PROCEDURE tidemark_append_logged(
                    p_id text[], p_type text[], p_occurred_at text[], p_store_id text[], p_product_id text[],
                    p_quantity bigint[], p_unit_price_cents bigint[], p_price_cents bigint[], p_stock_kind text[],
                    p_category text[], p_customer_id text[], p_order_id text[], p_channel text[], p_currency text[],
                    INOUT previous bigint DEFAULT NULL, INOUT inserted text[] DEFAULT NULL, INOUT seqs bigint[] DEFAULT NULL
                ) LANGUAGE plpgsql AS $$
                BEGIN
                    SET LOCAL plan_cache_mode = force_generic_plan;
                    PERFORM pg_advisory_xact_lock(\(AdvisoryLock.namespace), \(AdvisoryLock.rawLogAppend.rawValue));
                    IF current_setting('transaction_isolation') = 'read committed' THEN
                        SELECT coalesce(max(seq), 0) INTO previous FROM events;
                    END IF;
                    WITH appended AS (
                        \(insertNewEventsReturningSeq)
                    )
                    SELECT coalesce(array_agg(appended.id ORDER BY appended.seq), '{}'),
                        coalesce(array_agg(appended.seq ORDER BY appended.seq), '{}')
                        INTO inserted, seqs FROM appended;
                    COMMIT;
                END
                $$
                """
            ]),
    ]

    /// The append itself, shared by `tidemark_append` (migration 2),
    /// `tidemark_append_committed` (migration 8) and, with `seq` returned too,
    /// `tidemark_append_logged` (migration 9): the rows of the argument arrays whose ids are
    /// new, returning those ids. Frozen like the migrations that use it: a different insert
    /// goes into a new constant and a new migration, or new databases would differ from old ones.
    static let insertNewEvents = """
        INSERT INTO events (
            id, type, occurred_at, store_id, product_id, quantity, unit_price_cents, price_cents,
            stock_kind, category, customer_id, order_id, channel, currency)
        SELECT u.id, u.type, u.occurred_at::timestamptz, u.store_id, u.product_id,
            NULLIF(u.quantity, \(Int64.min)), NULLIF(u.unit_price_cents, \(Int64.min)),
            NULLIF(u.price_cents, \(Int64.min)), NULLIF(u.stock_kind, ''), NULLIF(u.category, ''),
            NULLIF(u.customer_id, ''), NULLIF(u.order_id, ''), NULLIF(u.channel, ''), NULLIF(u.currency, '')
        FROM unnest(p_id, p_type, p_occurred_at, p_store_id, p_product_id, p_quantity, p_unit_price_cents,
            p_price_cents, p_stock_kind, p_category, p_customer_id, p_order_id, p_channel, p_currency)
            AS u(id, type, occurred_at, store_id, product_id, quantity, unit_price_cents, price_cents,
                stock_kind, category, customer_id, order_id, channel, currency)
        ON CONFLICT (id) DO NOTHING
        RETURNING events.id
        """

    /// `insertNewEvents` returning each new row's `seq` after its id (migration 9). Frozen too.
    static let insertNewEventsReturningSeq = insertNewEvents + ", events.seq"
}
