//! How the database plans the statements of a flash sale's payments when
//! its statistics are stale or missing, as they are while a sale grows the
//! holds' tables faster than autovacuum looks at them.

use chrono::{Duration, Utc};
use sea_orm::{ConnectionTrait, DbBackend, Statement, TransactionTrait};
use stockroute::{
    db::{bulk, statistics},
    entities::reservation::{self, ReservationStatus},
    inventory::reservations::confirms_claim,
};
use uuid::Uuid;

use crate::{helpers::TestApp, on_both_backends};

/// Inserts `n` holds with `status` straight into the table, in one
/// transaction; on PostgreSQL its changes reach the statistics views as it
/// commits.
async fn insert_holds(app: &TestApp, n: usize, status: ReservationStatus) -> Vec<Uuid> {
    let now = Utc::now();
    let holds: Vec<reservation::Model> = (0..n)
        .map(|_| reservation::Model {
            id: Uuid::new_v4(),
            status,
            strategy: "NEAREST".into(),
            ship_to_latitude: 52.52,
            ship_to_longitude: 13.405,
            max_shipments: None,
            fingerprint: "planner-statistics".into(),
            total_cost_cents: 0,
            created_by: None,
            created_at: now,
            expires_at: now + Duration::hours(1),
            confirmed_at: (status == ReservationStatus::Confirmed).then_some(now),
            released_at: None,
            plan: "[]".into(),
        })
        .collect();
    let ids = holds.iter().map(|hold| hold.id).collect();
    let txn = app.db.begin().await.unwrap();
    for chunk in holds.chunks(1_000) {
        let rows: Vec<reservation::ActiveModel> = chunk.iter().cloned().map(Into::into).collect();
        bulk::insert_rows(&txn, rows).await.unwrap();
    }
    if txn.get_database_backend() == DbBackend::Postgres {
        txn.execute_unprepared("SELECT pg_stat_force_next_flush()")
            .await
            .unwrap();
    }
    txn.commit().await.unwrap();
    ids
}

/// The plan of `statement`, one line per step.
async fn plan_of(app: &TestApp, statement: Statement) -> String {
    let backend = app.db.get_database_backend();
    let explain = match backend {
        DbBackend::Postgres => "EXPLAIN",
        _ => "EXPLAIN QUERY PLAN",
    };
    let rows = app
        .db
        .query_all_raw(Statement {
            sql: format!("{explain} {}", statement.sql),
            ..statement
        })
        .await
        .unwrap();
    rows.iter()
        .map(|row| match backend {
            DbBackend::Postgres => row.try_get_by_index::<String>(0).unwrap(),
            _ => row.try_get::<String>("", "detail").unwrap(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Checks that a batch of confirms of `batch` claims its holds by their
/// primary key: through the expiry index, the claim would read every
/// active hold for each batch.
async fn assert_claimed_by_id(app: &TestApp, batch: Vec<Uuid>) {
    let plan = plan_of(
        app,
        confirms_claim(app.db.get_database_backend(), batch, Utc::now()),
    )
    .await;
    assert!(!plan.contains("expiry"), "{plan}");
    assert!(
        plan.contains("reservations_pkey") || plan.contains("sqlite_autoindex_reservations"),
        "{plan}"
    );
}

on_both_backends! {
    async fn a_batch_of_confirms_is_claimed_by_id_when_statistics_say_few_holds_are_active(app) {
        // What the statistics see before a sale: a long history of ended
        // holds and a few active ones.
        let mut ids = insert_holds(&app, 20_000, ReservationStatus::Confirmed).await;
        ids.extend(insert_holds(&app, 20, ReservationStatus::Active).await);
        app.db
            .execute_unprepared(match app.db.get_database_backend() {
                DbBackend::Postgres => "ANALYZE reservations",
                _ => "ANALYZE",
            })
            .await
            .unwrap();
        // Then the sale: every hold active, the statistics not yet told.
        app.db
            .execute_unprepared(
                "UPDATE reservations SET status = 'ACTIVE', confirmed_at = NULL",
            )
            .await
            .unwrap();

        let batch = ids.into_iter().step_by(80).collect::<Vec<_>>();
        assert_eq!(batch.len(), 251);
        assert_claimed_by_id(&app, batch).await;
    }

    async fn the_upkeep_samples_few_rows_and_still_plans_a_batch_of_confirms_by_id(app) {
        // Enough holds that reading them all costs more than 250 lookups
        // by id (below ~30,000 PostgreSQL rightly prefers the scan).
        let held = 4 * statistics::FLOOR;
        let ids = insert_holds(&app, held as usize, ReservationStatus::Active).await;
        let analysed = statistics::refresh(&app.db).await.unwrap();
        if app.db.get_database_backend() == DbBackend::Postgres {
            assert_eq!(analysed, ["reservations"]);
            // Every id is distinct: a histogram of them has as many
            // bounds as the sample's target allows (101 at PostgreSQL's
            // default).
            let bounds = app
                .scalar(
                    "SELECT CAST(array_length(histogram_bounds, 1) AS BIGINT) FROM pg_stats \
                     WHERE tablename = 'reservations' AND attname = 'id'",
                )
                .await;
            assert_eq!(bounds, i64::from(statistics::SAMPLE_TARGET) + 1);
            // The table's size is still known: the next analysis is due
            // when it has doubled.
            let counted = app
                .scalar("SELECT CAST(reltuples AS BIGINT) FROM pg_class WHERE relname = 'reservations'")
                .await;
            assert!(counted >= held, "{counted} of {held}");
        } else {
            assert!(analysed.is_empty());
        }
        let batch = ids.into_iter().step_by(160).collect::<Vec<_>>();
        assert_eq!(batch.len(), 250);
        assert_claimed_by_id(&app, batch).await;
    }

    async fn tables_grown_since_their_statistics_are_analysed_once_each(app) {
        // On PostgreSQL the demo data's writes are below the floor.
        assert_eq!(statistics::refresh(&app.db).await.unwrap(), Vec::<String>::new());
        insert_holds(&app, statistics::FLOOR as usize, ReservationStatus::Active).await;
        let analysed = statistics::refresh(&app.db).await.unwrap();
        if app.db.get_database_backend() == DbBackend::Postgres {
            assert_eq!(analysed, ["reservations"]);
            assert_eq!(
                app.scalar(
                    "SELECT COUNT(*) FROM pg_stat_user_tables \
                     WHERE relname = 'reservations' AND last_analyze IS NOT NULL"
                )
                .await,
                1
            );
            // Due again only once it has changed by as many rows as it
            // held when analysed.
            let held = app
                .scalar("SELECT CAST(reltuples AS BIGINT) FROM pg_class WHERE relname = 'reservations'")
                .await;
            assert!(held >= statistics::FLOOR, "{held}");
            insert_holds(&app, held as usize - 1, ReservationStatus::Active).await;
            assert_eq!(statistics::refresh(&app.db).await.unwrap(), Vec::<String>::new());
            insert_holds(&app, 1, ReservationStatus::Active).await;
            assert_eq!(statistics::refresh(&app.db).await.unwrap(), ["reservations"]);
        } else {
            // SQLite plans without statistics by index.
            assert!(analysed.is_empty());
        }
    }
}
