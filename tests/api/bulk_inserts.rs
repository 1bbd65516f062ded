//! The bulk inserts the batches write with keep every value as it was:
//! on PostgreSQL they travel as one array per column (NULLs marked beside
//! them), on SQLite as a multi-row insert; either way a row reads back
//! equal to the one written, and numbered rows get ids in their order.

use chrono::{DateTime, TimeZone, Utc};
use sea_orm::{DbBackend, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, QueryTrait};
use stockroute::{
    db::bulk::{insert_numbered_rows, insert_rows, is_one_of, is_taken},
    entities::{
        movement::{self, MovementType},
        reservation::{self, ReservationStatus},
    },
};
use uuid::Uuid;

use crate::on_both_backends;

/// A time both databases keep to the microsecond; in the future, so that
/// the sweeper leaves these holds alone.
fn at(micros: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2099, 12, 5, 15, 4, 5).unwrap() + chrono::Duration::microseconds(micros)
}

fn hold(n: u8, created_by: Option<&str>, max_shipments: Option<i32>) -> reservation::Model {
    reservation::Model {
        id: Uuid::from_u128(0x5eed_0000 + u128::from(n)),
        status: ReservationStatus::Active,
        strategy: "SPLIT".into(),
        ship_to_latitude: -33.868_820_123,
        ship_to_longitude: 151.209_296,
        max_shipments,
        fingerprint: format!("fingerprint {n}"),
        total_cost_cents: 9_007_199_254_740_993,
        created_by: created_by.map(str::to_owned),
        created_at: at(123_456),
        expires_at: at(900_000_001),
        confirmed_at: (n == 2).then(|| at(7)),
        released_at: None,
        plan: format!(
            r#"[{{"warehouse_id":{n},"distance_km":0.5,"weight_grams":1,"cost_cents":2,"lines":[]}}]"#
        ),
    }
}

fn movement_row(product_id: i32, warehouse_id: i32, reference: Option<String>) -> movement::Model {
    movement::Model {
        id: 0,
        product_id,
        warehouse_id,
        movement_type: MovementType::Reserve,
        quantity_delta: 0,
        reserved_delta: 1,
        quantity_after: 10,
        reserved_after: 1,
        safety_stock_delta: 0,
        safety_stock_after: 0,
        version_after: 2,
        reference_id: reference,
        created_by: None,
        created_at: at(42),
        inbound_id: None,
    }
}

on_both_backends! {
    async fn a_lookup_of_many_ids_finds_those_stored_in_one_statement_for_any_count(app) {
        let holds: Vec<_> = (1..=4).map(|n| hold(n, None, None)).collect();
        let rows = holds.iter().cloned().map(IntoActiveModel::into_active_model).collect();
        insert_rows(&app.db, rows).await.expect("inserted");
        let backend = app.db.get_database_backend();
        let lookup = |ids: Vec<Uuid>| {
            reservation::Entity::find()
                .filter(is_one_of(backend, reservation::Column::Id, ids))
                .order_by_asc(reservation::Column::Id)
        };
        let missing = Uuid::from_u128(0xdead);
        let found = lookup(vec![holds[3].id, missing, holds[1].id])
            .all(&app.db)
            .await
            .expect("looked up");
        assert_eq!(found, vec![holds[1].clone(), holds[3].clone()]);
        assert!(lookup(Vec::new()).all(&app.db).await.expect("looked up").is_empty());

        // On PostgreSQL the statement's text is the same for 1 id as for
        // 500: prepared and planned once, not once per count.
        let text = |count: u128| lookup((0..count).map(Uuid::from_u128).collect()).build(backend).sql;
        if backend == DbBackend::Postgres {
            assert_eq!(text(1), text(500));
        }
    }

    async fn rows_written_in_bulk_read_back_as_they_were(app) {
        let awkward = "a\"b\\c\nd\u{1}é'; DROP TABLE reservations; --";
        let holds = vec![
            hold(1, None, None),
            hold(2, Some(awkward), Some(2)),
            hold(3, Some(""), None),
        ];
        let rows = |holds: &[reservation::Model]| {
            holds.iter().cloned().map(IntoActiveModel::into_active_model).collect()
        };
        let inserted = insert_rows(&app.db, rows(&holds)).await.expect("inserted");
        assert_eq!(inserted, 3);
        let stored = reservation::Entity::find()
            .order_by_asc(reservation::Column::Id)
            .all(&app.db)
            .await
            .expect("read back");
        assert_eq!(stored, holds);

        // A taken id fails the insert, which says so and writes nothing.
        let again = vec![hold(4, None, Some(1)), hold(2, None, None)];
        let error = insert_rows(&app.db, rows(&again)).await.expect_err("an id is taken");
        assert!(is_taken(&error), "{error}");
        let stored = reservation::Entity::find()
            .order_by_asc(reservation::Column::Id)
            .all(&app.db)
            .await
            .expect("read back");
        assert_eq!(stored, holds, "nothing of it was written");
    }

    async fn numbered_rows_get_their_ids_in_the_order_written(app) {
        let product = app.scalar("SELECT CAST(MIN(id) AS BIGINT) FROM products").await as i32;
        let warehouse = app.scalar("SELECT CAST(MIN(id) AS BIGINT) FROM warehouses").await as i32;
        let before = app.scalar("SELECT COALESCE(MAX(id), 0) FROM inventory_movements").await;
        let written: Vec<movement::Model> = (0..40)
            .map(|n| movement_row(product, warehouse, (n % 3 != 0).then(|| format!("order {n}"))))
            .collect();
        let rows = written
            .iter()
            .map(|m| {
                let mut row = m.clone().into_active_model();
                row.id = sea_orm::ActiveValue::NotSet;
                row
            })
            .collect();
        // What must happen before the first row is numbered: on PostgreSQL,
        // moving the sequence on, which shows that it ran first and once.
        let first = match app.db.get_database_backend() {
            DbBackend::Postgres => {
                format!("setval(pg_get_serial_sequence('inventory_movements', 'id'), {})", before + 1000)
            }
            _ => "1".to_owned(),
        };
        let numbered = insert_numbered_rows(&app.db, rows, Some(&first)).await.expect("inserted");
        let stored = movement::Entity::find()
            .order_by_asc(movement::Column::Id)
            .all(&app.db)
            .await
            .expect("read back");
        let stored: Vec<movement::Model> = stored.into_iter().filter(|m| m.id > before).collect();
        assert_eq!(stored.len(), written.len());
        for (row, mut expected) in stored.iter().zip(written) {
            expected.id = row.id;
            assert_eq!(*row, expected, "rows are numbered in the order written");
        }
        match app.db.get_database_backend() {
            // The statement says which id each row got.
            DbBackend::Postgres => {
                let numbered = numbered.expect("PostgreSQL numbers the rows");
                let ids: Vec<i64> = numbered.iter().map(|(_, id)| *id).collect();
                assert_eq!(ids, stored.iter().map(|m| m.id).collect::<Vec<_>>());
                assert_eq!(ids, (before + 1001..=before + 1040).collect::<Vec<_>>(), "numbered after `first` ran, once");
            }
            _ => assert!(numbered.is_none(), "SQLite's insert does not say"),
        }
    }
}
