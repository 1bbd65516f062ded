//! Changing stock levels, and writing down every change.
//!
//! A change is one guarded UPDATE: the database applies the deltas only if
//! the level stays valid (nothing reserved that is not on hand, nothing
//! negative, nothing past [`MAX_ON_HAND`], no hold on safety stock), so
//! concurrent writers never lose an update and never oversell, on either
//! backend, without reading the level into Rust first. Every change that
//! happens is posted to the movement ledger in the same transaction.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, QueryFilter, TryIntoModel,
    sea_query::{Expr, ExprTrait},
};

use uuid::Uuid;

use crate::{
    db::bulk,
    entities::{
        movement::{self, MovementType},
        stock_level,
    },
    inventory::WriteTransaction,
};

/// The most units one stock level may hold. Far above any real warehouse
/// bin, and low enough that no sum of two levels or of a level and a
/// delta can overflow a 32-bit column.
pub const MAX_ON_HAND: i32 = 1_000_000_000;

/// How one stock level is to change, and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shift {
    pub product_id: i32,
    pub warehouse_id: i32,
    pub movement_type: MovementType,
    pub quantity_delta: i32,
    pub reserved_delta: i32,
    pub safety_stock_delta: i32,
}

impl Shift {
    /// Changes on-hand by `quantity_delta`, recorded as `movement_type`.
    pub fn on_hand(
        product_id: i32,
        warehouse_id: i32,
        quantity_delta: i32,
        movement_type: MovementType,
    ) -> Self {
        Shift {
            product_id,
            warehouse_id,
            movement_type,
            quantity_delta,
            reserved_delta: 0,
            safety_stock_delta: 0,
        }
    }

    /// Holds back `safety_stock_delta` more units (fewer, if negative).
    pub fn safety_stock(product_id: i32, warehouse_id: i32, safety_stock_delta: i32) -> Self {
        Shift {
            product_id,
            warehouse_id,
            movement_type: MovementType::SafetyStock,
            quantity_delta: 0,
            reserved_delta: 0,
            safety_stock_delta,
        }
    }

    /// Records what happened to an inbound shipment of the level without
    /// changing its units.
    pub fn note_only(product_id: i32, warehouse_id: i32, movement_type: MovementType) -> Self {
        Shift {
            product_id,
            warehouse_id,
            movement_type,
            quantity_delta: 0,
            reserved_delta: 0,
            safety_stock_delta: 0,
        }
    }

    /// An inbound shipment arrives (RESTOCK): its `units` come on hand,
    /// and `held` of them stay held for the pre-orders that took them.
    pub fn receipt(product_id: i32, warehouse_id: i32, units: i32, held: i32) -> Self {
        Shift {
            product_id,
            warehouse_id,
            movement_type: MovementType::Restock,
            quantity_delta: units,
            reserved_delta: held,
            safety_stock_delta: 0,
        }
    }

    /// Holds `units` more for a reservation.
    pub fn reserve(product_id: i32, warehouse_id: i32, units: i32) -> Self {
        Shift {
            product_id,
            warehouse_id,
            movement_type: MovementType::Reserve,
            quantity_delta: 0,
            reserved_delta: units,
            safety_stock_delta: 0,
        }
    }

    /// Lets go of `units` held units: `Release`, `Expire`, or `Order`, which
    /// also ships them out of the warehouse.
    pub fn settle(
        product_id: i32,
        warehouse_id: i32,
        units: i32,
        movement_type: MovementType,
    ) -> Self {
        let quantity_delta = if movement_type == MovementType::Order {
            -units
        } else {
            0
        };
        Shift {
            product_id,
            warehouse_id,
            movement_type,
            quantity_delta,
            reserved_delta: -units,
            safety_stock_delta: 0,
        }
    }
}

/// Creates the stock level of a product in a warehouse, empty, unless it
/// exists. Concurrent callers are safe: one creates it, the rest find it.
pub async fn ensure_level(
    connection: &impl ConnectionTrait,
    product_id: i32,
    warehouse_id: i32,
    at: DateTime<Utc>,
) -> Result<(), DbErr> {
    use stock_level::Column;
    stock_level::Entity::insert(stock_level::ActiveModel {
        product_id: Set(product_id),
        warehouse_id: Set(warehouse_id),
        quantity: Set(0),
        reserved: Set(0),
        safety_stock: Set(0),
        version: Set(0),
        updated_at: Set(at),
        ..Default::default()
    })
    .on_conflict_do_nothing_on([Column::ProductId, Column::WarehouseId])
    .exec_without_returning(connection)
    .await?;
    Ok(())
}

/// One reservation's part of a batched hold on a stock level.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Share {
    pub units: i32,
    pub reference_id: Option<String>,
    pub created_by: Option<String>,
}

/// What the movements after one in the same UPDATE changed: its level
/// stood that much short of where the UPDATE left it.
#[derive(Clone, Copy, Debug, Default)]
struct Later {
    quantity: i32,
    reserved: i32,
    versions: i32,
}

/// The movements of one transaction, written together at its end.
pub struct Postings {
    reference_id: Option<String>,
    created_by: Option<String>,
    at: DateTime<Utc>,
    inbound_id: Option<Uuid>,
    movements: Vec<movement::ActiveModel>,
}

impl Postings {
    pub fn new(
        reference_id: Option<String>,
        created_by: Option<String>,
        at: DateTime<Utc>,
    ) -> Self {
        Postings {
            reference_id,
            created_by,
            at,
            inbound_id: None,
            movements: Vec::new(),
        }
    }

    /// Movements about inbound shipment `id`: each one names it.
    pub fn about_inbound(mut self, id: Uuid) -> Self {
        self.inbound_id = Some(id);
        self
    }

    /// Applies `shift` to its stock level and notes the movement. `None`
    /// when the level does not exist or would become invalid; then nothing
    /// changed.
    pub async fn post(
        &mut self,
        connection: &impl ConnectionTrait,
        shift: Shift,
    ) -> Result<Option<stock_level::Model>, DbErr> {
        let share = Share {
            units: shift.reserved_delta,
            reference_id: self.reference_id.clone(),
            created_by: self.created_by.clone(),
        };
        let after = self.apply(connection, shift, 1).await?;
        if let Some(level) = &after {
            self.note(shift, level, Later::default(), share);
        }
        Ok(after)
    }

    /// Holds units of one stock level for several reservations at once:
    /// ONE guarded UPDATE for their sum, and one movement per share, in
    /// the order given, each with the level as it stood after that share.
    /// `None` when the level does not exist or has not got the sum
    /// available; then nothing changed.
    pub async fn reserve_shares(
        &mut self,
        connection: &impl ConnectionTrait,
        product_id: i32,
        warehouse_id: i32,
        shares: Vec<Share>,
    ) -> Result<Option<stock_level::Model>, DbErr> {
        self.post_shares(
            connection,
            product_id,
            warehouse_id,
            MovementType::Reserve,
            shares,
        )
        .await
    }

    /// As [`Self::reserve_shares`] for `Reserve`; for `Order`, `Release`
    /// or `Expire`, lets go of the shares' held units (see
    /// [`Shift::settle`]).
    pub async fn post_shares(
        &mut self,
        connection: &impl ConnectionTrait,
        product_id: i32,
        warehouse_id: i32,
        movement_type: MovementType,
        shares: Vec<Share>,
    ) -> Result<Option<stock_level::Model>, DbErr> {
        let shift = |units: i32| match movement_type {
            MovementType::Reserve => Shift::reserve(product_id, warehouse_id, units),
            settling => Shift::settle(product_id, warehouse_id, units, settling),
        };
        let total: i32 = shares.iter().map(|s| s.units).sum();
        let versions = i32::try_from(shares.len()).unwrap_or(i32::MAX);
        let Some(level) = self.apply(connection, shift(total), versions).await? else {
            return Ok(None);
        };
        // The UPDATE says where the level ended; each share's movement
        // shows the level as the shares before it and itself left it.
        let mut later = shift(total);
        let count = shares.len();
        for (i, share) in shares.into_iter().enumerate() {
            let one = shift(share.units);
            later.quantity_delta -= one.quantity_delta;
            later.reserved_delta -= one.reserved_delta;
            let after = Later {
                quantity: later.quantity_delta,
                reserved: later.reserved_delta,
                versions: (count - 1 - i) as i32,
            };
            self.note(one, &level, after, share);
        }
        Ok(Some(level))
    }

    /// The guarded UPDATE: the deltas of `shift`, the version advanced by
    /// `versions` (one per movement it stands for).
    async fn apply(
        &self,
        connection: &impl ConnectionTrait,
        shift: Shift,
        versions: i32,
    ) -> Result<Option<stock_level::Model>, DbErr> {
        use stock_level::Column;
        let (dq, dr, ds) = (
            shift.quantity_delta,
            shift.reserved_delta,
            shift.safety_stock_delta,
        );
        let unreserved = Expr::col(Column::Quantity).sub(Expr::col(Column::Reserved));
        // A hold may take only what is offered; everything else keeps to
        // the physical rule, so that a write-off or a count may still take
        // safety stock (it is on hand) but never reserved units.
        let covered = if shift.movement_type == MovementType::Reserve {
            // (quantity + dq) - (reserved + dr) - safety_stock >= 0
            unreserved
                .sub(Expr::col(Column::SafetyStock))
                .gte(i64::from(dr) - i64::from(dq))
        } else {
            // (quantity + dq) - (reserved + dr) >= 0
            unreserved.gte(i64::from(dr) - i64::from(dq))
        };
        // Each guard is written so that nothing in it can overflow: the
        // deltas are bounded by the callers, the columns by MAX_ON_HAND.
        let mut update = stock_level::Entity::update_many()
            .col_expr(Column::Quantity, Expr::col(Column::Quantity).add(dq))
            .col_expr(Column::Reserved, Expr::col(Column::Reserved).add(dr))
            .col_expr(Column::Version, Expr::col(Column::Version).add(versions))
            .col_expr(Column::UpdatedAt, Expr::val(self.at))
            .filter(Column::ProductId.eq(shift.product_id))
            .filter(Column::WarehouseId.eq(shift.warehouse_id))
            // reserved + dr >= 0
            .filter(Column::Reserved.gte(-i64::from(dr)))
            .filter(covered)
            // quantity + dq <= MAX_ON_HAND
            .filter(Column::Quantity.lte(i64::from(MAX_ON_HAND) - i64::from(dq)));
        if ds != 0 {
            update = update
                .col_expr(Column::SafetyStock, Expr::col(Column::SafetyStock).add(ds))
                // 0 <= safety_stock + ds <= MAX_ON_HAND
                .filter(Column::SafetyStock.gte(-i64::from(ds)))
                .filter(Column::SafetyStock.lte(i64::from(MAX_ON_HAND) - i64::from(ds)));
        }
        Ok(update
            .exec_with_returning(connection)
            .await?
            .into_iter()
            .next())
    }

    /// Notes the movement of `shift`, which left the level at `level` less
    /// `later` (what the movements after it in the same UPDATE changed).
    fn note(&mut self, shift: Shift, level: &stock_level::Model, later: Later, share: Share) {
        self.movements.push(movement::ActiveModel {
            product_id: Set(shift.product_id),
            warehouse_id: Set(shift.warehouse_id),
            movement_type: Set(shift.movement_type),
            quantity_delta: Set(shift.quantity_delta),
            reserved_delta: Set(shift.reserved_delta),
            quantity_after: Set(level.quantity - later.quantity),
            reserved_after: Set(level.reserved - later.reserved),
            safety_stock_delta: Set(shift.safety_stock_delta),
            // No UPDATE that stands for several movements changes it.
            safety_stock_after: Set(level.safety_stock),
            version_after: Set(level.version - later.versions),
            reference_id: Set(share.reference_id),
            created_by: Set(share.created_by),
            created_at: Set(self.at),
            inbound_id: Set(self.inbound_id),
            ..Default::default()
        });
    }

    /// Takes on the movements `other` noted, after those noted here.
    pub fn extend(&mut self, other: Postings) {
        self.movements.extend(other.movements);
    }

    /// Moves the noted movements of `kind` ahead of the others (keeping
    /// their order otherwise), for when the ledger should tell a story in
    /// another order than the rows had to be locked in.
    pub fn put_first(&mut self, kind: MovementType) {
        self.movements
            .sort_by_key(|m| m.movement_type.as_ref() != &kind);
    }

    /// Writes the noted movements: one statement.
    pub async fn write(self, txn: &WriteTransaction) -> Result<(), DbErr> {
        self.append(txn).await.map(drop)
    }

    /// As [`Self::write`], and returns the movements as written, in id
    /// order, where the database says which ids they got (see
    /// [`bulk::insert_numbered_rows`]): for a writer that publishes its own
    /// events.
    pub async fn write_numbered(
        self,
        txn: &WriteTransaction,
    ) -> Result<Option<Vec<movement::Model>>, DbErr> {
        let Some(numbered) = self.append(txn).await? else {
            return Ok(None);
        };
        let written = numbered
            .into_iter()
            .map(|(mut movement, id)| {
                movement.id = Set(id);
                movement.try_into_model()
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Some(written))
    }

    async fn append(
        self,
        txn: &WriteTransaction,
    ) -> Result<Option<Vec<(movement::ActiveModel, i64)>>, DbErr> {
        txn.changes_stock_of(
            self.movements
                .iter()
                .filter_map(|m| m.product_id.try_as_ref().copied()),
        );
        append_as(&**txn, self.movements, Some(txn.writer())).await
    }
}

/// The lock every writer of movements holds from allocating their ids to
/// its commit, on PostgreSQL (an arbitrary constant naming it).
const APPEND_LOCK: i64 = 0x5374_6F63_6B52_7465;

/// Appends movements to the ledger inside the caller's transaction. The
/// only way movements are written.
///
/// Movement ids are the event cursor, so they must become visible in id
/// order: a reader that has seen id n must never later find a committed
/// id below n. A sequence alone does not give that (ids are handed out in
/// one order, transactions commit in another), so on PostgreSQL each
/// appending transaction first takes a transaction-scoped advisory lock,
/// held until it commits: the next appender allocates its ids only after
/// this one is visible. It serialises only the tail of the transactions
/// that write stock; rows were already taken in a fixed order. SQLite has
/// one writer at a time, which gives the same order by itself.
///
/// On PostgreSQL the transaction also sends one NOTIFY, which the server
/// delivers at commit (never on rollback) to every replica's event pump.
pub async fn append(
    connection: &impl ConnectionTrait,
    movements: Vec<movement::ActiveModel>,
) -> Result<(), DbErr> {
    append_as(connection, movements, None).await.map(drop)
}

/// As [`append`], for a transaction of `writer` (see [`announce_as`]);
/// returns the movements, in their order, each with the id it got, where
/// the database says (see [`bulk::insert_numbered_rows`]).
async fn append_as(
    connection: &impl ConnectionTrait,
    movements: Vec<movement::ActiveModel>,
    writer: Option<&str>,
) -> Result<Option<Vec<(movement::ActiveModel, i64)>>, DbErr> {
    if movements.is_empty() {
        return Ok(Some(Vec::new()));
    }
    // On PostgreSQL the lock (held until commit) and the NOTIFY (sent only
    // then) go in the insert's own statement: a round trip fewer while the
    // transaction holds the rows it changed, which the next writer of them
    // waits for.
    let first = (connection.get_database_backend() == DbBackend::Postgres)
        .then(|| format!("{}, {}", lock_call(), notify_call(writer)));
    bulk::insert_numbered_rows(connection, movements, first.as_deref()).await
}

/// For statements that append movements without [`append`] (a set-based
/// repair): take the lock first, [`announce`] after.
pub async fn take_append_lock(connection: &impl ConnectionTrait) -> Result<(), DbErr> {
    if connection.get_database_backend() == DbBackend::Postgres {
        connection.execute_unprepared(&lock()).await?;
    }
    Ok(())
}

/// The statement that takes the append lock, until the transaction ends.
fn lock() -> String {
    format!("SELECT {}", lock_call())
}

fn lock_call() -> String {
    format!("pg_advisory_xact_lock({APPEND_LOCK})")
}

/// Wakes every replica's event pump once this transaction commits.
pub async fn announce(connection: &impl ConnectionTrait) -> Result<(), DbErr> {
    announce_as(connection, None).await
}

/// As [`announce`], saying that `writer` wrote: the pump of the process
/// of that name hears of the commit directly, and skips the NOTIFY (see
/// [`crate::inventory::WriteTransaction::writer`]).
async fn announce_as(connection: &impl ConnectionTrait, writer: Option<&str>) -> Result<(), DbErr> {
    if connection.get_database_backend() == DbBackend::Postgres {
        connection
            .execute_unprepared(&format!("SELECT {}", notify_call(writer)))
            .await?;
    }
    Ok(())
}

/// The call that wakes every replica's event pump once the transaction
/// commits (a NOTIFY, as a function), naming `writer`.
fn notify_call(writer: Option<&str>) -> String {
    let channel = crate::events::CHANNEL;
    match writer {
        // A name of hex digits: nothing to quote.
        Some(writer) if writer.bytes().all(|b| b.is_ascii_hexdigit()) => {
            format!("pg_notify('{channel}', '{writer}')")
        }
        _ => format!("pg_notify('{channel}', '')"),
    }
}
