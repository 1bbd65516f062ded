use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, Statement};
use stockroute::demo::{self, SeedOutcome};

use crate::on_both_backends;

on_both_backends! {
    async fn migrating_all_the_way_down_and_up_again_gives_a_working_schema(app) {
        let migrations = app.migrations_connection().await;
        Migrator::down(&migrations, None).await.expect("every migration rolls back");
        let gone = app
            .db
            .execute_raw(Statement::from_string(app.db.get_database_backend(), "SELECT COUNT(*) FROM products"))
            .await;
        assert!(gone.is_err(), "the tables are gone after a full rollback");
        assert!(Migrator::get_pending_migrations(&migrations).await.unwrap().len() >= 6);

        Migrator::up(&migrations, None).await.expect("every migration applies again");
        assert!(Migrator::get_pending_migrations(&migrations).await.unwrap().is_empty());
        assert!(matches!(demo::seed(&app.db).await.unwrap(), SeedOutcome::Loaded { .. }));
        assert!(app.scalar("SELECT COUNT(*) FROM inventory").await > 0);
    }

    async fn a_database_of_the_previous_schema_upgrades_to_safety_stock_and_keeps_its_stock(app) {
        let migrations = app.migrations_connection().await;
        let backend = app.db.get_database_backend();
        let stock = "SELECT COALESCE(SUM(quantity), 0) * 1000000 + COUNT(*) FROM inventory";
        // Back to the schema before safety stock (and inbound stock,
        // capacity, the hot path's keys, the holds' plans and the index of
        // pre-orders, which came after it), with the demo's stock in it and a movement written
        // the way that schema wrote them.
        Migrator::down(&migrations, Some(7)).await.expect("the last seven steps roll back");
        app.db
            .execute_raw(Statement::from_string(
                backend,
                "INSERT INTO inventory_movements (product_id, warehouse_id, movement_type, quantity_delta,
                     reserved_delta, quantity_after, reserved_after, version_after, created_at)
                 SELECT product_id, warehouse_id, 'ADJUSTMENT', 0, 0, quantity, reserved, version, updated_at
                 FROM inventory LIMIT 1",
            ))
            .await
            .expect("the previous schema takes its own rows");
        let (before, movements) = (app.scalar(stock).await, app.scalar("SELECT COUNT(*) FROM inventory_movements").await);

        Migrator::up(&migrations, None).await.expect("it upgrades");
        assert_eq!(app.scalar(stock).await, before, "every stock level kept");
        assert_eq!(app.scalar("SELECT COUNT(*) FROM inventory_movements").await, movements);
        assert_eq!(app.scalar("SELECT COUNT(*) FROM inventory WHERE safety_stock <> 0").await, 0);
        assert_eq!(app.scalar("SELECT COUNT(*) FROM inventory_movements WHERE safety_stock_delta <> 0 OR safety_stock_after <> 0").await, 0);
        let negative = app
            .db
            .execute_raw(Statement::from_string(backend, "UPDATE inventory SET safety_stock = -1"))
            .await;
        assert!(negative.is_err(), "CHECK safety_stock >= 0 holds");
        let response = app.graphql("{ availability(skus: [\"DROP-SNEAKER-LTD\"]) { available } }", serde_json::json!({})).await;
        assert_eq!(response["data"]["availability"][0]["available"], 100, "{response}");
    }

    async fn a_database_of_the_previous_schema_upgrades_to_inbound_stock_and_keeps_its_ledger(app) {
        let migrations = app.migrations_connection().await;
        let backend = app.db.get_database_backend();
        let stock = "SELECT COALESCE(SUM(quantity), 0) * 1000000 + COALESCE(SUM(safety_stock), 0) * 1000 + COUNT(*) FROM inventory";
        let ledger = "SELECT COUNT(*) * 1000000 + COALESCE(SUM(quantity_delta), 0) + COALESCE(SUM(safety_stock_delta), 0) FROM inventory_movements";
        Migrator::down(&migrations, Some(7)).await.expect("the pre-orders' index, plans, expiry index, two keys, capacity and inbound steps roll back");
        // Safety stock set the way the previous schema recorded it.
        for sql in [
            "UPDATE inventory SET safety_stock = 2, version = version + 1 WHERE id = (SELECT MIN(id) FROM inventory)",
            "INSERT INTO inventory_movements (product_id, warehouse_id, movement_type, quantity_delta,
                 reserved_delta, quantity_after, reserved_after, safety_stock_delta, safety_stock_after,
                 version_after, created_at)
             SELECT product_id, warehouse_id, 'SAFETY_STOCK', 0, 0, quantity, reserved, 2, 2, version, updated_at
             FROM inventory WHERE id = (SELECT MIN(id) FROM inventory)",
        ] {
            app.db.execute_raw(Statement::from_string(backend, sql)).await.expect("the previous schema takes its own rows");
        }
        let (before, movements, last_id) = (
            app.scalar(stock).await,
            app.scalar(ledger).await,
            app.scalar("SELECT MAX(id) FROM inventory_movements").await,
        );

        Migrator::up(&migrations, None).await.expect("it upgrades");
        assert_eq!(app.scalar(stock).await, before, "every stock level kept");
        assert_eq!(app.scalar(ledger).await, movements, "every movement kept");
        assert_eq!(app.scalar("SELECT COUNT(*) FROM inventory_movements WHERE inbound_id IS NOT NULL").await, 0);
        assert_eq!(app.scalar("SELECT COUNT(*) FROM inbound_shipments").await, 0);

        // The new types are allowed, the ids go on where they stopped.
        let admin = app.create_key(stockroute::auth::KeyRole::Admin, "buyer").await;
        let arrival = (chrono::Utc::now() + chrono::Duration::days(2)).to_rfc3339();
        let announced = app.graphql_as(
            &admin,
            "mutation($i: ExpectInboundInput!) { expectInbound(input: $i) { status } }",
            serde_json::json!({ "i": { "id": uuid::Uuid::new_v4(), "sku": "DROP-SNEAKER-LTD", "warehouseCode": "BER1",
                                       "quantity": 10, "expectedAt": arrival } }),
        ).await;
        assert_eq!(announced["data"]["expectInbound"]["status"], "EXPECTED", "{announced}");
        assert!(app.scalar("SELECT MIN(id) FROM inventory_movements WHERE inbound_id IS NOT NULL").await > last_id);
        let overheld = app
            .db
            .execute_raw(Statement::from_string(backend, "UPDATE inbound_shipments SET reserved = quantity + 1"))
            .await;
        assert!(overheld.is_err(), "CHECK reserved <= quantity holds");

        // And back down: the inbound goes, the stock stays.
        Migrator::down(&migrations, Some(7)).await.expect("the inbound step rolls back again");
        assert_eq!(app.scalar(stock).await, before);
        assert_eq!(app.scalar(ledger).await, movements, "only the announcement went");
    }

    async fn a_database_of_the_previous_schema_upgrades_to_capacity_and_counts_its_holds(app) {
        let migrations = app.migrations_connection().await;
        let checkout = app.create_key(stockroute::auth::KeyRole::Checkout, "shop").await;
        for _ in 0..2 {
            let held = app.graphql_as(
                &checkout,
                "mutation($i: ReserveOrderInput!) { reserveOrder(input: $i) { __typename } }",
                serde_json::json!({ "i": { "reservationId": uuid::Uuid::new_v4(), "lines": [{ "sku": "DROP-SNEAKER-LTD", "quantity": 1 }],
                                           "shipTo": { "latitude": 52.52, "longitude": 13.405 } } }),
            ).await;
            assert_eq!(held["data"]["reserveOrder"]["__typename"], "Reservation", "{held}");
        }
        Migrator::down(&migrations, Some(6)).await.expect("the pre-orders' index, plans, expiry index, two keys and capacity steps roll back");
        Migrator::up(&migrations, None).await.expect("it upgrades");
        // The holds made before are counted on the day they ship.
        let response = app.graphql("{ warehouse(code: \"BER1\") { dailyShipmentCapacity capacity { limit used remaining } } }", serde_json::json!({})).await;
        assert_eq!(
            response["data"]["warehouse"],
            serde_json::json!({ "dailyShipmentCapacity": null, "capacity": { "limit": null, "used": 2, "remaining": null } }),
            "{response}"
        );
        let negative = app
            .db
            .execute_raw(Statement::from_string(app.db.get_database_backend(), "UPDATE warehouses SET daily_shipment_capacity = -1"))
            .await;
        assert!(negative.is_err(), "CHECK daily_shipment_capacity >= 0 holds");
    }

    async fn holds_kept_as_rows_fold_into_their_plans_and_back_and_read_the_same(app) {
        let migrations = app.migrations_connection().await;
        let admin = app.create_key(stockroute::auth::KeyRole::Admin, "buyer").await;
        let checkout = app.create_key(stockroute::auth::KeyRole::Checkout, "shop").await;
        let arrival = (chrono::Utc::now() + chrono::Duration::days(3)).to_rfc3339();
        // A product with nothing on hand yet, and an inbound of it.
        for (query, input) in [
            ("mutation($i: CreateProductInput!) { createProduct(input: $i) { sku } }",
             serde_json::json!({ "sku": "LAUNCH-SNEAKER", "name": "Launch sneaker", "weightGrams": 900 })),
            ("mutation($i: ExpectInboundInput!) { expectInbound(input: $i) { status } }",
             serde_json::json!({ "id": uuid::Uuid::new_v4(), "sku": "LAUNCH-SNEAKER", "warehouseCode": "BER1",
                                 "quantity": 10, "expectedAt": arrival })),
        ] {
            let answer = app.graphql_as(&admin, query, serde_json::json!({ "i": input })).await;
            assert!(answer.get("errors").is_none(), "{answer}");
        }
        let berlin = serde_json::json!({ "latitude": 52.52, "longitude": 13.405 });
        let orders = [
            // Two products from stock, split over warehouses where it must be.
            serde_json::json!({ "lines": [{ "sku": "DROP-SNEAKER-LTD", "quantity": 2 }, { "sku": "TENT-2P-GRN", "quantity": 3 }],
                                "shipTo": berlin, "strategy": "SPLIT" }),
            // A pre-order of the inbound.
            serde_json::json!({ "lines": [{ "sku": "LAUNCH-SNEAKER", "quantity": 4 }], "shipTo": berlin,
                                "promiseBy": (chrono::Utc::now() + chrono::Duration::days(5)).to_rfc3339() }),
        ];
        let hold = "query($id: UUID!) { reservation(id: $id) { id status totalCostCents
            shipments { warehouse { code } distanceKm weightGrams costCents readyAt lines { sku quantity } } } }";
        let mut ids = Vec::new();
        for mut order in orders {
            let id = uuid::Uuid::new_v4();
            order["reservationId"] = serde_json::json!(id);
            let held = app.graphql_as(
                &checkout,
                "mutation($i: ReserveOrderInput!) { reserveOrder(input: $i) { __typename } }",
                serde_json::json!({ "i": order }),
            ).await;
            assert_eq!(held["data"]["reserveOrder"]["__typename"], "Reservation", "{held}");
            ids.push(id);
        }
        let read = |id: uuid::Uuid| {
            let (app, admin) = (&app, &admin);
            async move { app.graphql_as(admin, hold, serde_json::json!({ "id": id })).await }
        };
        let mut before = Vec::new();
        for id in &ids {
            before.push(read(*id).await);
        }
        let lines = "SELECT CAST(COUNT(*) * 1000 + COALESCE(SUM(quantity), 0) AS BIGINT) FROM reservation_lines";
        let shipments = "SELECT CAST(COUNT(*) * 1000 + COALESCE(SUM(cost_cents), 0) AS BIGINT) FROM reservation_shipments";
        let pre_ordered = "SELECT COUNT(*) FROM reservation_lines l JOIN inbound_shipments s ON s.id = l.inbound_id";
        let (lines_before, shipments_before) = (app.scalar(lines).await, app.scalar(shipments).await);
        assert!(lines_before > 3000 && shipments_before > 2000, "{lines_before} {shipments_before}");
        assert_eq!(app.scalar(pre_ordered).await, 1, "the pre-order's line names its inbound");

        Migrator::down(&migrations, Some(2)).await.expect("the pre-orders' index goes, and the plans roll back into rows");
        assert_eq!(app.scalar(lines).await, lines_before, "every line is a row again");
        assert_eq!(app.scalar(shipments).await, shipments_before, "every shipment is a row again");
        assert_eq!(app.scalar(pre_ordered).await, 1, "the pre-order's row names its inbound");

        Migrator::up(&migrations, None).await.expect("the rows fold into plans again");
        assert_eq!(app.scalar(lines).await, lines_before);
        assert_eq!(app.scalar(shipments).await, shipments_before);
        assert_eq!(app.scalar(pre_ordered).await, 1);
        for (id, was) in ids.iter().zip(&before) {
            assert_eq!(&read(*id).await, was, "the hold reads as it did");
        }
        crate::invariants::assert_books_balance(&app).await;
    }

    async fn the_stock_level_constraints_refuse_overselling_even_from_raw_sql(app) {
        let backend = app.db.get_database_backend();
        let oversell = app
            .db
            .execute_raw(Statement::from_string(backend, "UPDATE inventory SET reserved = quantity + 1"))
            .await;
        assert!(oversell.is_err(), "CHECK quantity >= reserved holds");
        let negative = app
            .db
            .execute_raw(Statement::from_string(backend, "UPDATE inventory SET reserved = -1, quantity = 0"))
            .await;
        assert!(negative.is_err(), "CHECK reserved >= 0 holds");
        let duplicate = app
            .db
            .execute_raw(Statement::from_string(
                backend,
                "INSERT INTO inventory (product_id, warehouse_id, quantity, reserved, version, updated_at)
                 SELECT product_id, warehouse_id, 1, 0, 0, updated_at FROM inventory LIMIT 1",
            ))
            .await;
        assert!(duplicate.is_err(), "one stock level per product and warehouse");
    }

    async fn the_hot_path_keys_go_on_postgresql_only_and_come_back_on_the_way_down(app) {
        let migrations = app.migrations_connection().await;
        let backend = app.db.get_database_backend();
        // The keys of lines, shipments and movements onto reservations,
        // products and warehouses (migration 13), and onto inbound
        // shipments (migration 14).
        let keys = |to: &str| match backend {
            sea_orm::DbBackend::Sqlite => format!("SELECT COUNT(*) FROM (
                SELECT \"table\" AS t FROM pragma_foreign_key_list('reservation_lines')
                UNION ALL SELECT \"table\" FROM pragma_foreign_key_list('reservation_shipments')
                UNION ALL SELECT \"table\" FROM pragma_foreign_key_list('inventory_movements'))
                WHERE t IN ({to})"),
            _ => format!("SELECT COUNT(*) FROM pg_constraint WHERE contype = 'f'
                AND conrelid::regclass::text IN ('reservation_lines', 'reservation_shipments', 'inventory_movements')
                AND confrelid::regclass::text IN ({to})"),
        };
        let (held, inbound) = (keys("'reservations', 'products', 'warehouses'"), keys("'inbound_shipments'"));
        let postgres = backend == sea_orm::DbBackend::Postgres;
        // SQLite's lines never had theirs onto inbound shipments (migration 11).
        let inbound_keys = if postgres { 2 } else { 1 };
        // Lines and shipments are views of the holds' plans (migration 16):
        // only the movements' keys are left, on SQLite.
        let movement_keys = if postgres { 0 } else { 2 };
        assert_eq!(app.scalar(&held).await, movement_keys);
        assert_eq!(app.scalar(&inbound).await, if postgres { 0 } else { 1 });
        Migrator::down(&migrations, Some(4)).await.expect("the pre-orders' index, plans, expiry index and inbound steps roll back");
        assert_eq!(app.scalar(&inbound).await, inbound_keys, "the inbound keys are back");
        assert_eq!(app.scalar(&held).await, if postgres { 0 } else { 7 }, "the tables are back with their keys");
        // A movement that changes nothing, of no inbound shipment or of one
        // that does not exist.
        let note = |inbound: &str| {
            Statement::from_string(
                backend,
                format!(
                    "INSERT INTO inventory_movements (product_id, warehouse_id, movement_type, quantity_delta,
                         reserved_delta, quantity_after, reserved_after, version_after, created_at, inbound_id)
                     SELECT product_id, warehouse_id, 'ADJUSTMENT', 0, 0, quantity, reserved, version, updated_at, {inbound}
                     FROM inventory LIMIT 1"
                ),
            )
        };
        app.db.execute_raw(note("NULL")).await.expect("a movement of no inbound shipment goes in");
        let dangling = app.db.execute_raw(note("'00000000-0000-4000-8000-000000000000'")).await;
        assert!(dangling.is_err(), "a movement of a missing inbound shipment is refused again");
        Migrator::down(&migrations, Some(1)).await.expect("the step before rolls back");
        assert_eq!(app.scalar(&held).await, 7, "every key is back");
        let dangling = app
            .db
            .execute_raw(Statement::from_string(
                backend,
                "INSERT INTO reservation_lines (reservation_id, product_id, warehouse_id, quantity)
                 VALUES ('00000000-0000-4000-8000-000000000000', 1, 1, 1)",
            ))
            .await;
        assert!(dangling.is_err(), "a line of no reservation is refused again");
        Migrator::up(&migrations, None).await.expect("it applies again");
        assert_eq!(app.scalar(&held).await, movement_keys);
        assert_eq!(app.scalar(&inbound).await, if postgres { 0 } else { 1 });
    }
}
