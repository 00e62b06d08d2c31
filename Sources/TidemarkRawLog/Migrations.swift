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
            ])
    ]
}
