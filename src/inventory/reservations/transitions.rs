//! Ending a hold (confirm, release, expire) and extending one.
//!
//! Each transition starts with one guarded UPDATE of the reservation's
//! status: of any number of concurrent transitions of one hold (two
//! confirms, a confirm racing the sweeper) exactly one matches the row, and
//! the others find the hold already moved on.

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, DbErr, EntityTrait, QueryFilter, sea_query::Expr};
use uuid::Uuid;

use super::{Hold, Ttl, endings, find, now, plan::StoredLine, stored};
use crate::{
    entities::{
        movement::MovementType,
        reservation::{self, ReservationStatus},
    },
    inventory::{
        InventoryError, inbound,
        ledger::{Postings, Shift},
    },
    inventory::{Store, WriteTransaction},
};

/// How a hold ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Ending {
    /// Paid: the units leave the warehouse.
    Confirm,
    /// Cancelled by the checkout: the units are available again.
    Release,
    /// Timed out: the units are available again.
    Expire,
}

impl Ending {
    pub(super) fn status(self) -> ReservationStatus {
        match self {
            Ending::Confirm => ReservationStatus::Confirmed,
            Ending::Release => ReservationStatus::Released,
            Ending::Expire => ReservationStatus::Expired,
        }
    }

    pub(super) fn movement(self) -> MovementType {
        match self {
            Ending::Confirm => MovementType::Order,
            Ending::Release => MovementType::Release,
            Ending::Expire => MovementType::Expire,
        }
    }

    pub(super) fn verb(self) -> &'static str {
        match self {
            Ending::Confirm => "confirmed",
            Ending::Release => "released",
            Ending::Expire => "expired",
        }
    }
}

/// ACTIVE -> CONFIRMED: the held units are shipped out (ORDER movements).
/// Confirming a confirmed hold returns it unchanged.
pub async fn confirm(store: &Store, id: Uuid, by: Option<&str>) -> Result<Hold, InventoryError> {
    end_by_checkout(store, id, Ending::Confirm, by).await
}

/// ACTIVE -> RELEASED: the held units are available again (RELEASE
/// movements). Releasing a released hold returns it unchanged.
pub async fn release(store: &Store, id: Uuid, by: Option<&str>) -> Result<Hold, InventoryError> {
    end_by_checkout(store, id, Ending::Release, by).await
}

pub(super) async fn end_by_checkout(
    store: &Store,
    id: Uuid,
    ending: Ending,
    by: Option<&str>,
) -> Result<Hold, InventoryError> {
    let now = now();
    let txn = store.begin_write().await?;
    if end(&txn, id, ending, now, by).await? {
        txn.commit().await?;
    } else {
        txn.rollback().await?;
    }
    let hold = find(store.connection(), id).await?;
    outcome(id, hold, ending, now)
}

/// What a checkout that asked at `now` to end hold `id` by `ending` is
/// answered, once the hold is as it is now: the hold when it ended that
/// way (by this request or an earlier one), else why it could not.
pub(super) fn outcome(
    id: Uuid,
    hold: Option<Hold>,
    ending: Ending,
    now: DateTime<Utc>,
) -> Result<Hold, InventoryError> {
    let hold = hold.ok_or_else(|| not_found(id))?;
    match hold.status_at(now) {
        status if status == ending.status() => Ok(hold),
        _ => Err(refusal(&hold, ending, now)),
    }
}

/// Ends the hold `id` inside `txn` if it is ACTIVE and, for an expiry, past
/// its time (for the checkout's endings, not yet past it). False when the
/// hold is in no state to end this way; then nothing was written.
pub(super) async fn end(
    txn: &WriteTransaction,
    id: Uuid,
    ending: Ending,
    now: DateTime<Utc>,
    by: Option<&str>,
) -> Result<bool, DbErr> {
    // One hold is a batch of one: the same claim and the same settling.
    let claimed: Vec<_> = endings::claim(txn, vec![id], ending, now)
        .await?
        .into_iter()
        .map(|row| (row, ending, by))
        .collect();
    if claimed.is_empty() {
        return Ok(false);
    }
    endings::settle_claimed(txn, &claimed, now).await?;
    Ok(true)
}

/// Ends by `ending` what reservation `id`'s `lines` (each with its
/// shipment's warehouse) hold of inbound shipments; a line whose inbound
/// was received meanwhile holds its stock level instead.
pub(super) async fn settle_on_inbound(
    txn: &WriteTransaction,
    postings: &mut Postings,
    id: Uuid,
    mut on_inbound: Vec<(i32, StoredLine)>,
    ending: Ending,
) -> Result<(), DbErr> {
    on_inbound.sort_by_key(|(_, l)| l.inbound_id);
    for (warehouse_id, line) in &on_inbound {
        let Some(inbound_id) = line.inbound_id else {
            continue;
        };
        let settled = match ending {
            // Paid for: the units stay held and ship when they arrive.
            Ending::Confirm => inbound::keep_expected(&**txn, inbound_id).await?,
            Ending::Release | Ending::Expire => {
                inbound::shift_held(&**txn, inbound_id, -line.quantity).await?
            }
        };
        if settled {
            continue;
        }
        // Not EXPECTED: received, and its units held on the level since.
        let received = stored::received_among(&**txn, vec![inbound_id]).await?;
        if !received.contains(&inbound_id) {
            return Err(DbErr::Custom(format!(
                "reservation {id} holds {} units of inbound shipment {inbound_id}, which \
                 does not show them as held",
                line.quantity
            )));
        }
        settle_on_level(txn, postings, id, *warehouse_id, line, ending).await?;
    }
    Ok(())
}

/// Ends what `line` holds of its stock level (in `warehouse_id`) by
/// `ending`.
async fn settle_on_level(
    txn: &WriteTransaction,
    postings: &mut Postings,
    id: Uuid,
    warehouse_id: i32,
    line: &StoredLine,
    ending: Ending,
) -> Result<(), DbErr> {
    let shift = Shift::settle(
        line.product_id,
        warehouse_id,
        line.quantity,
        ending.movement(),
    );
    if postings.post(&**txn, shift).await?.is_none() {
        // The hold's units are counted in `reserved` by construction;
        // if they are not, the books are broken and nothing must move.
        return Err(DbErr::Custom(format!(
            "reservation {id} holds {} units of product {} in warehouse {warehouse_id} \
             that the stock level does not show as reserved",
            line.quantity, line.product_id
        )));
    }
    Ok(())
}

/// ACTIVE, not yet expired: expiresAt = now + ttl. Changes no stock.
pub async fn extend(store: &Store, id: Uuid, ttl: Ttl) -> Result<Hold, InventoryError> {
    use reservation::Column;
    let now = now();
    let txn = store.begin_write().await?;
    let extended = reservation::Entity::update_many()
        .col_expr(Column::ExpiresAt, Expr::val(ttl.after(now)))
        .filter(Column::Id.eq(id))
        .filter(Column::Status.eq(ReservationStatus::Active))
        .filter(Column::ExpiresAt.gt(now))
        .exec(&*txn)
        .await?
        .rows_affected;
    txn.commit().await?;
    let hold = find(store.connection(), id)
        .await?
        .ok_or_else(|| not_found(id))?;
    if extended == 0 {
        let status = hold.status_at(now);
        return Err(InventoryError::Conflict(format!(
            "reservation {id} is {}; only an ACTIVE hold can be extended",
            status_word(status)
        )));
    }
    Ok(hold)
}

pub(super) fn not_found(id: Uuid) -> InventoryError {
    InventoryError::NotFound(format!("no reservation with id {id}"))
}

/// Why `hold` cannot end by `ending`, in words a checkout developer can act on.
pub(super) fn refusal(hold: &Hold, ending: Ending, now: DateTime<Utc>) -> InventoryError {
    let r = &hold.reservation;
    let id = r.id;
    let at = |t: Option<DateTime<Utc>>| t.map_or_else(|| "an unknown time".into(), rfc3339);
    let why = match hold.status_at(now) {
        ReservationStatus::Confirmed => {
            format!("was confirmed at {}", at(r.confirmed_at))
        }
        ReservationStatus::Released => format!(
            "was released at {}; its stock is available again",
            at(r.released_at)
        ),
        ReservationStatus::Expired if r.status == ReservationStatus::Active => format!(
            "expired at {}; its stock is being returned",
            rfc3339(r.expires_at)
        ),
        ReservationStatus::Expired => format!(
            "expired at {}; its stock was returned",
            rfc3339(r.expires_at)
        ),
        ReservationStatus::Active => "is still ACTIVE".into(),
    };
    InventoryError::Conflict(format!(
        "reservation {id} {why}, so it cannot be {}",
        ending.verb()
    ))
}

fn status_word(status: ReservationStatus) -> &'static str {
    match status {
        ReservationStatus::Active => "ACTIVE",
        ReservationStatus::Confirmed => "CONFIRMED",
        ReservationStatus::Released => "RELEASED",
        ReservationStatus::Expired => "EXPIRED",
    }
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
