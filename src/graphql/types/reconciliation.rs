use async_graphql::{Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::saturating_int;
use crate::inventory::reconciliation;

/// What a check of every stock level against its ledger and holds found.
pub struct ReconciliationReport(pub reconciliation::ReconciliationReport);

#[Object]
impl ReconciliationReport {
    async fn checked_at(&self) -> DateTime<Utc> {
        self.0.checked_at
    }

    async fn stock_levels_checked(&self) -> i32 {
        saturating_int(self.0.stock_levels_checked)
    }

    /// No discrepancies.
    async fn ok(&self) -> bool {
        self.0.ok()
    }

    /// Stock levels, then EXPECTED inbound shipments (field
    /// "inboundReserved", with inboundId), that disagree with what derives
    /// them.
    async fn discrepancies(&self) -> Vec<Discrepancy> {
        let levels = self.0.discrepancies.iter().map(|d| Discrepancy {
            sku: d.sku.clone(),
            warehouse_code: d.warehouse_code.clone(),
            field: d.field.as_str().to_owned(),
            recorded: saturating_int(d.recorded),
            derived: saturating_int(d.derived),
            inbound_id: None,
        });
        let inbound = self.0.inbound.iter().map(|d| Discrepancy {
            sku: d.sku.clone(),
            warehouse_code: d.warehouse_code.clone(),
            field: "inboundReserved".to_owned(),
            recorded: saturating_int(d.reserved),
            derived: saturating_int(d.held),
            inbound_id: Some(d.id),
        });
        levels.chain(inbound).collect()
    }

    /// Warehouse days whose shipment count disagrees with the shipments of
    /// ACTIVE and CONFIRMED reservations that ship then.
    async fn capacity_discrepancies(&self) -> Vec<CapacityDiscrepancy> {
        self.0
            .capacity
            .iter()
            .map(|d| CapacityDiscrepancy {
                warehouse_code: d.warehouse_code.clone(),
                day: d.day.clone(),
                recorded: saturating_int(d.recorded),
                derived: saturating_int(d.derived),
            })
            .collect()
    }
}

/// One warehouse day whose shipment count disagrees with its live holds.
#[derive(SimpleObject)]
pub struct CapacityDiscrepancy {
    pub warehouse_code: String,
    /// `YYYY-MM-DD`, UTC.
    pub day: String,
    /// What the day's counter says.
    pub recorded: i32,
    /// The shipments of ACTIVE and CONFIRMED reservations that day.
    pub derived: i32,
}

/// One column of one stock level that disagrees with what derives it.
#[derive(SimpleObject)]
pub struct Discrepancy {
    pub sku: String,
    pub warehouse_code: String,
    /// "quantity", "reserved", "safetyStock" or "inboundReserved".
    pub field: String,
    /// What the stock level says.
    pub recorded: i32,
    /// What the movements (quantity, safetyStock), the active
    /// reservations (reserved) or the live pre-orders (inboundReserved)
    /// add up to.
    pub derived: i32,
    /// The inbound shipment, for "inboundReserved".
    pub inbound_id: Option<uuid::Uuid>,
}
