use sea_orm_migration::{prelude::*, sea_orm::DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// A hold's shipments and lines move into its reservation row, as one JSON
/// text column `plan`; `reservation_shipments` and `reservation_lines`
/// become views that unpack it, with the columns the tables had (but
/// `id`), so that the SQL reporting across holds reads them as before.
///
/// A hold is written once, by the checkout's batch, and read back whole
/// by its id; nothing updates a shipment, and the one update of a line
/// (clearing its inbound once the inbound is received) is now read from
/// the inbound's status instead: the lines view shows no inbound for an
/// entry whose inbound was received, as the rows did. As rows, each hold
/// cost PostgreSQL two more heap tuples, five index entries and two
/// sequence steps in the checkout's transaction: in the flash-sale
/// benchmark (bench harness, 1,000 clients on one SKU, the code against
/// itself) folding them took PostgreSQL from 20.6–22.6 µs of CPU per hold
/// to 15.0–16.4, and the holds from 22,002 a second to 24,394.
///
/// The column is text, not jsonb: PostgreSQL stores it without parsing it
/// on the hot path, and the views parse it only when asked.
const RESERVATION_SHIPMENTS_PG: &str = "CREATE VIEW reservation_shipments AS
    SELECT r.id AS reservation_id,
           (s.value ->> 'warehouse_id')::integer AS warehouse_id,
           (s.value ->> 'distance_km')::double precision AS distance_km,
           (s.value ->> 'weight_grams')::bigint AS weight_grams,
           (s.value ->> 'cost_cents')::bigint AS cost_cents,
           (s.value ->> 'ready_at')::timestamptz AS ready_at
    FROM reservations r
    CROSS JOIN LATERAL json_array_elements(r.plan::json) AS s(value)";
const RESERVATION_LINES_PG: &str = "CREATE VIEW reservation_lines AS
    SELECT r.id AS reservation_id,
           (s.value ->> 'warehouse_id')::integer AS warehouse_id,
           (l.value ->> 'product_id')::integer AS product_id,
           (l.value ->> 'quantity')::integer AS quantity,
           CASE WHEN i.status = 'RECEIVED' THEN NULL
                ELSE (l.value ->> 'inbound_id')::uuid END AS inbound_id
    FROM reservations r
    CROSS JOIN LATERAL json_array_elements(r.plan::json) AS s(value)
    CROSS JOIN LATERAL json_array_elements(s.value -> 'lines') AS l(value)
    LEFT JOIN inbound_shipments i ON i.id = (l.value ->> 'inbound_id')::uuid";
/// SQLite keeps a uuid as its 16 bytes, and a plan spells one as 32 hex
/// digits: they meet as hex, through an index of the inbounds' ids as hex
/// (`unhex` would spare it, but Debian's SQLite, 3.40, which its `sqlite3`
/// shell and Python use, has none). An entry whose inbound is missing
/// keeps its hex, so that it names nothing rather than looking received.
const INBOUND_HEX_INDEX_SQLITE: &str =
    "CREATE INDEX ix_inbound_shipments_hex ON inbound_shipments (lower(hex(id)))";
const RESERVATION_SHIPMENTS_SQLITE: &str = "CREATE VIEW reservation_shipments AS
    SELECT r.id AS reservation_id,
           json_extract(s.value, '$.warehouse_id') AS warehouse_id,
           json_extract(s.value, '$.distance_km') AS distance_km,
           json_extract(s.value, '$.weight_grams') AS weight_grams,
           json_extract(s.value, '$.cost_cents') AS cost_cents,
           json_extract(s.value, '$.ready_at') AS ready_at
    FROM reservations r, json_each(r.plan) s";
const RESERVATION_LINES_SQLITE: &str = "CREATE VIEW reservation_lines AS
    SELECT r.id AS reservation_id,
           json_extract(s.value, '$.warehouse_id') AS warehouse_id,
           json_extract(l.value, '$.product_id') AS product_id,
           json_extract(l.value, '$.quantity') AS quantity,
           CASE WHEN json_extract(l.value, '$.inbound_id') IS NULL OR i.status = 'RECEIVED'
                THEN NULL
                ELSE COALESCE(i.id, json_extract(l.value, '$.inbound_id')) END AS inbound_id
    FROM reservations r, json_each(r.plan) s, json_each(s.value, '$.lines') l
    LEFT JOIN inbound_shipments i ON lower(hex(i.id)) = json_extract(l.value, '$.inbound_id')";

/// Each reservation's plan from its rows: shipments in the order they were
/// written, each with the lines of its warehouse.
const FILL_PG: &str = "UPDATE reservations r SET plan = COALESCE((
    SELECT json_agg(json_build_object(
               'warehouse_id', s.warehouse_id, 'distance_km', s.distance_km,
               'weight_grams', s.weight_grams, 'cost_cents', s.cost_cents,
               'ready_at', s.ready_at,
               'lines', COALESCE((
                   SELECT json_agg(json_build_object(
                              'product_id', l.product_id, 'quantity', l.quantity,
                              'inbound_id', replace(l.inbound_id::text, '-', ''))
                          ORDER BY l.id)
                   FROM reservation_lines l
                   WHERE l.reservation_id = s.reservation_id
                     AND l.warehouse_id = s.warehouse_id), '[]'::json))
           ORDER BY s.id)::text
    FROM reservation_shipments s WHERE s.reservation_id = r.id), '[]')";
const FILL_SQLITE: &str = "UPDATE reservations SET plan = COALESCE((
    SELECT json_group_array(json_object(
               'warehouse_id', s.warehouse_id, 'distance_km', s.distance_km,
               'weight_grams', s.weight_grams, 'cost_cents', s.cost_cents,
               'ready_at', s.ready_at,
               'lines', json(COALESCE((
                   SELECT json_group_array(json_object(
                              'product_id', l.product_id, 'quantity', l.quantity,
                              'inbound_id', CASE WHEN l.inbound_id IS NULL THEN NULL
                                                 ELSE lower(hex(l.inbound_id)) END)
                          ORDER BY l.id)
                   FROM reservation_lines l
                   WHERE l.reservation_id = s.reservation_id
                     AND l.warehouse_id = s.warehouse_id), '[]')))
           ORDER BY s.id)
    FROM reservation_shipments s WHERE s.reservation_id = reservations.id), '[]')";

/// The tables as migrations 4 to 15 left them, on each backend (on
/// PostgreSQL without the keys that migration 13 dropped).
const TABLES_PG: [&str; 5] = [
    "CREATE TABLE reservation_shipments (
        id integer GENERATED BY DEFAULT AS IDENTITY CONSTRAINT reservation_shipments_pkey PRIMARY KEY,
        reservation_id uuid NOT NULL, warehouse_id integer NOT NULL,
        distance_km double precision NOT NULL, weight_grams bigint NOT NULL,
        cost_cents bigint NOT NULL, ready_at timestamp with time zone)",
    "CREATE UNIQUE INDEX ux_reservation_shipments_warehouse
        ON reservation_shipments (reservation_id, warehouse_id)",
    "CREATE TABLE reservation_lines (
        id integer GENERATED BY DEFAULT AS IDENTITY CONSTRAINT reservation_lines_pkey PRIMARY KEY,
        reservation_id uuid NOT NULL, product_id integer NOT NULL,
        warehouse_id integer NOT NULL,
        quantity integer NOT NULL CONSTRAINT reservation_lines_quantity_check CHECK (quantity > 0),
        inbound_id uuid)",
    "CREATE INDEX ix_reservation_lines_reservation ON reservation_lines (reservation_id)",
    "CREATE INDEX ix_reservation_lines_stock_level ON reservation_lines (product_id, warehouse_id)",
];
const TABLES_SQLITE: [&str; 5] = [
    r#"CREATE TABLE "reservation_shipments" ( "id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "reservation_id" uuid_text NOT NULL, "warehouse_id" integer NOT NULL, "distance_km" double NOT NULL, "weight_grams" integer NOT NULL, "cost_cents" integer NOT NULL, "ready_at" timestamp_with_timezone_text NULL, FOREIGN KEY ("reservation_id") REFERENCES "reservations" ("id") ON DELETE CASCADE, FOREIGN KEY ("warehouse_id") REFERENCES "warehouses" ("id") )"#,
    r#"CREATE UNIQUE INDEX "ux_reservation_shipments_warehouse" ON "reservation_shipments" ("reservation_id", "warehouse_id")"#,
    r#"CREATE TABLE "reservation_lines" ( "id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "reservation_id" uuid_text NOT NULL, "product_id" integer NOT NULL, "warehouse_id" integer NOT NULL, "quantity" integer NOT NULL, inbound_id uuid_text NULL, FOREIGN KEY ("reservation_id") REFERENCES "reservations" ("id") ON DELETE CASCADE, FOREIGN KEY ("product_id") REFERENCES "products" ("id"), FOREIGN KEY ("warehouse_id") REFERENCES "warehouses" ("id"), CHECK ("quantity" > 0) )"#,
    r#"CREATE INDEX "ix_reservation_lines_reservation" ON "reservation_lines" ("reservation_id")"#,
    r#"CREATE INDEX "ix_reservation_lines_stock_level" ON "reservation_lines" ("product_id", "warehouse_id")"#,
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let backend = manager.get_database_backend();
        db.execute_unprepared(
            "ALTER TABLE reservations ADD COLUMN plan text NOT NULL DEFAULT '[]'",
        )
        .await?;
        let (fill, views) = match backend {
            DbBackend::Sqlite => (
                FILL_SQLITE,
                [RESERVATION_SHIPMENTS_SQLITE, RESERVATION_LINES_SQLITE],
            ),
            _ => (FILL_PG, [RESERVATION_SHIPMENTS_PG, RESERVATION_LINES_PG]),
        };
        db.execute_unprepared(fill).await?;
        if backend == DbBackend::Postgres {
            // Every hold is written with its plan: one without is a bug
            // to refuse. (SQLite cannot drop a column's default.)
            db.execute_unprepared("ALTER TABLE reservations ALTER COLUMN plan DROP DEFAULT")
                .await?;
        }
        db.execute_unprepared("DROP TABLE reservation_lines")
            .await?;
        db.execute_unprepared("DROP TABLE reservation_shipments")
            .await?;
        if backend == DbBackend::Sqlite {
            db.execute_unprepared(INBOUND_HEX_INDEX_SQLITE).await?;
        }
        for view in views {
            db.execute_unprepared(view).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let backend = manager.get_database_backend();
        let tables = match backend {
            DbBackend::Sqlite => TABLES_SQLITE,
            _ => TABLES_PG,
        };
        if backend == DbBackend::Sqlite {
            // A write first: a SQLite transaction that reads before it
            // writes cannot wait for a writer that commits meanwhile (it
            // fails with "database is locked" at once).
            db.execute_unprepared("DROP INDEX ix_inbound_shipments_hex")
                .await?;
        }
        // The views' rows, kept while the tables take their names back.
        db.execute_unprepared(
            "CREATE TEMPORARY TABLE folded_shipments AS SELECT * FROM reservation_shipments",
        )
        .await?;
        db.execute_unprepared(
            "CREATE TEMPORARY TABLE folded_lines AS SELECT * FROM reservation_lines",
        )
        .await?;
        db.execute_unprepared("DROP VIEW reservation_lines").await?;
        db.execute_unprepared("DROP VIEW reservation_shipments")
            .await?;
        for statement in tables {
            db.execute_unprepared(statement).await?;
        }
        db.execute_unprepared(
            "INSERT INTO reservation_shipments
                (reservation_id, warehouse_id, distance_km, weight_grams, cost_cents, ready_at)
             SELECT reservation_id, warehouse_id, distance_km, weight_grams, cost_cents, ready_at
             FROM folded_shipments",
        )
        .await?;
        db.execute_unprepared(
            "INSERT INTO reservation_lines
                (reservation_id, product_id, warehouse_id, quantity, inbound_id)
             SELECT reservation_id, product_id, warehouse_id, quantity, inbound_id
             FROM folded_lines",
        )
        .await?;
        db.execute_unprepared("DROP TABLE folded_lines").await?;
        db.execute_unprepared("DROP TABLE folded_shipments").await?;
        db.execute_unprepared("ALTER TABLE reservations DROP COLUMN plan")
            .await?;
        Ok(())
    }
}
