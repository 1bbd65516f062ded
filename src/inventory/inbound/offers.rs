//! What planning may take of inbound stock: the units of EXPECTED inbounds
//! not yet held, as one snapshot read them.

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::LockType,
};
use uuid::Uuid;

use crate::{
    entities::inbound_shipment::{self, InboundStatus},
    inventory::InventoryError,
};

/// Units of one EXPECTED inbound still free to promise.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InboundOffer {
    pub id: Uuid,
    pub product_id: i32,
    pub warehouse_id: i32,
    pub free: u32,
    pub expected_at: DateTime<Utc>,
    pub reference_id: Option<String>,
}

/// The EXPECTED inbounds of `product_ids` with units free, soonest first
/// (then by id). With `lock`, locked until the transaction ends (after the
/// stock levels, as every writer of both takes them), so that what is
/// planned on them is still free when it is taken.
pub async fn inbound_offers(
    connection: &impl ConnectionTrait,
    product_ids: &[i32],
    lock: bool,
) -> Result<Vec<InboundOffer>, InventoryError> {
    use inbound_shipment::Column;
    let mut query = inbound_shipment::Entity::find()
        .filter(Column::ProductId.is_in(product_ids.iter().copied()))
        .filter(Column::Status.eq(InboundStatus::Expected))
        .order_by_asc(Column::ExpectedAt)
        .order_by_asc(Column::Id);
    if lock {
        query = query.lock(LockType::Update);
    }
    Ok(query
        .all(connection)
        .await?
        .into_iter()
        .filter(|inbound| inbound.available() > 0)
        .map(|inbound| InboundOffer {
            id: inbound.id,
            product_id: inbound.product_id,
            warehouse_id: inbound.warehouse_id,
            free: u32::try_from(inbound.available()).unwrap_or(0),
            expected_at: inbound.expected_at,
            reference_id: inbound.reference_id,
        })
        .collect())
}
