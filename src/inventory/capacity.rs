//! Daily shipment capacity: how many shipments a warehouse may ship per UTC
//! day, and the counter of those it ships.
//!
//! A shipment of an ACTIVE or CONFIRMED reservation takes one unit of its
//! warehouse's capacity on the day it ships: the day it was reserved, or
//! for one that waits for inbound stock, its readyAt day. The counter per
//! warehouse and day changes only by guarded UPDATEs in the same
//! transactions as the holds, so no race takes more than the limit, and a
//! release or expiry gives its shipments back.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, QueryFilter,
    sea_query::{Expr, ExprTrait, Query, SubQueryStatement},
};

use super::InventoryError;
use crate::entities::{shipment_day, warehouse};

/// The highest daily capacity one may set.
pub const MAX_DAILY_SHIPMENTS: i32 = 1_000_000;

/// A UTC day as `shipment_days` names it: `YYYY-MM-DD`. Every hold asks
/// (its shipments' day), so the digits are written directly: chrono's
/// `format` parses the pattern each time, and `format!` goes through the
/// formatter for each number (~1,300 instructions a day under callgrind).
pub fn day_of(at: DateTime<Utc>) -> String {
    let day = at.date_naive();
    // Years of five digits or before year 0 are spelt as chrono spells them.
    let Ok(year @ 0..=9999) = u32::try_from(day.year()) else {
        return day.format("%Y-%m-%d").to_string();
    };
    let digit = |n: u32| b'0' + (n % 10) as u8;
    let (month, date) = (day.month(), day.day());
    let spelt = [
        digit(year / 1000),
        digit(year / 100),
        digit(year / 10),
        digit(year),
        b'-',
        digit(month / 10),
        digit(month),
        b'-',
        digit(date / 10),
        digit(date),
    ];
    spelt.iter().map(|&b| char::from(b)).collect()
}

/// SQL for the UTC day a shipment `s` of reservation `r` ships on, as
/// [`day_of`] spells it: its readyAt, else when it was held.
pub fn ship_day_sql(backend: DbBackend) -> &'static str {
    match backend {
        // Both are stored as RFC 3339 text in UTC: the day is its first ten.
        DbBackend::Sqlite => "substr(COALESCE(s.ready_at, r.created_at), 1, 10)",
        _ => "to_char(COALESCE(s.ready_at, r.created_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
    }
}

/// A day a client names: `YYYY-MM-DD`.
pub fn parse_day(raw: &str, field: &str) -> Result<String, InventoryError> {
    NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .map(|day| day.format("%Y-%m-%d").to_string())
        .map_err(|_| {
            InventoryError::invalid(field, format!("must be a day as YYYY-MM-DD, got `{raw}`"))
        })
}

/// One warehouse's capacity on one day.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DayCapacity {
    pub day: String,
    pub limit: Option<i32>,
    pub used: i32,
}

impl DayCapacity {
    /// What is left; `None`: no limit.
    pub fn remaining(&self) -> Option<i32> {
        self.limit.map(|limit| std::cmp::max(limit - self.used, 0))
    }
}

/// Shipments used by each of `warehouse_ids` on each day from `from` on.
pub async fn used_from(
    connection: &impl ConnectionTrait,
    warehouse_ids: &[i32],
    from: &str,
) -> Result<HashMap<(i32, String), i32>, InventoryError> {
    use shipment_day::Column;
    Ok(shipment_day::Entity::find()
        .filter(Column::WarehouseId.is_in(warehouse_ids.iter().copied()))
        .filter(Column::Day.gte(from))
        .all(connection)
        .await?
        .into_iter()
        .map(|d| ((d.warehouse_id, d.day), d.used))
        .collect())
}

/// Shipments used on `day` by each of `warehouse_ids` that used any.
pub async fn used_on(
    connection: &impl ConnectionTrait,
    warehouse_ids: &[i32],
    day: &str,
) -> Result<HashMap<i32, i32>, InventoryError> {
    use shipment_day::Column;
    Ok(shipment_day::Entity::find()
        .filter(Column::WarehouseId.is_in(warehouse_ids.iter().copied()))
        .filter(Column::Day.eq(day))
        .all(connection)
        .await?
        .into_iter()
        .map(|d| (d.warehouse_id, d.used))
        .collect())
}

/// Makes sure each (warehouse, day) of `days` has its row, without
/// waiting for or locking one that exists: for [`take`], which only
/// updates.
pub async fn open_days<'a>(
    connection: &impl ConnectionTrait,
    days: impl IntoIterator<Item = &'a (i32, String)>,
) -> Result<(), DbErr> {
    let rows: Vec<_> = days
        .into_iter()
        .map(|(warehouse_id, day)| shipment_day::ActiveModel {
            warehouse_id: Set(*warehouse_id),
            day: Set(day.clone()),
            used: Set(0),
        })
        .collect();
    if rows.is_empty() {
        return Ok(());
    }
    shipment_day::Entity::insert_many(rows)
        .on_conflict_do_nothing_on([shipment_day::Column::WarehouseId, shipment_day::Column::Day])
        .exec_without_returning(connection)
        .await?;
    Ok(())
}

/// Takes `shipments` per (warehouse, day), whose rows [`open_days`] made
/// sure of: each with one guarded UPDATE that keeps the day within the
/// warehouse's limit as it is now. False when one would go past it; then
/// the transaction must roll back.
pub async fn take(
    connection: &impl ConnectionTrait,
    shipments: &BTreeMap<(i32, String), i32>,
) -> Result<bool, DbErr> {
    for ((warehouse_id, day), n) in shipments {
        if !shift_used(connection, *warehouse_id, day, *n).await? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Gives one shipment on `day` back to the warehouse. False when the day
/// shows none used; then nothing changed.
pub async fn give_back(
    connection: &impl ConnectionTrait,
    warehouse_id: i32,
    day: &str,
) -> Result<bool, DbErr> {
    give_back_many(connection, warehouse_id, day, 1).await
}

/// As [`give_back`], for `n` shipments at once.
pub async fn give_back_many(
    connection: &impl ConnectionTrait,
    warehouse_id: i32,
    day: &str,
    n: i32,
) -> Result<bool, DbErr> {
    shift_used(connection, warehouse_id, day, -n).await
}

/// `used += n`, never below 0 and, for n > 0, never past the limit.
async fn shift_used(
    connection: &impl ConnectionTrait,
    warehouse_id: i32,
    day: &str,
    n: i32,
) -> Result<bool, DbErr> {
    use shipment_day::Column;
    let mut update = shipment_day::Entity::update_many()
        .col_expr(Column::Used, Expr::col(Column::Used).add(n))
        .filter(Column::WarehouseId.eq(warehouse_id))
        .filter(Column::Day.eq(day))
        .filter(Column::Used.gte(-i64::from(n)));
    if n > 0 {
        // The limit as committed now, not as some snapshot read it.
        let limit = Query::select()
            .expr(Expr::col(warehouse::Column::DailyShipmentCapacity).if_null(i32::MAX))
            .from(warehouse::Entity)
            .and_where(warehouse::Column::Id.eq(warehouse_id))
            .to_owned();
        update = update.filter(Expr::col(Column::Used).add(n).lte(Expr::SubQuery(
            None,
            Box::new(SubQueryStatement::from(limit)),
        )));
    }
    Ok(update.exec(connection).await?.rows_affected == 1)
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::day_of;

    #[test]
    fn a_day_is_spelt_as_chrono_spells_it_in_utc() {
        for (y, m, d, h) in [
            (2026, 12, 7, 23),
            (2027, 1, 1, 0),
            (999, 3, 9, 12),
            (2028, 2, 29, 6),
            (7, 10, 31, 1),
            (10000, 6, 1, 0),
            (-44, 3, 15, 12),
        ] {
            let at = Utc.with_ymd_and_hms(y, m, d, h, 59, 59).unwrap();
            assert_eq!(day_of(at), at.format("%Y-%m-%d").to_string());
        }
        assert_eq!(
            day_of(Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap()),
            "2026-01-02"
        );
    }
}
