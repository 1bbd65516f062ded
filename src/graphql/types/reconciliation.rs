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

    async fn discrepancies(&self) -> Vec<Discrepancy> {
        self.0
            .discrepancies
            .iter()
            .map(|d| Discrepancy {
                sku: d.sku.clone(),
                warehouse_code: d.warehouse_code.clone(),
                field: d.field.as_str().to_owned(),
                recorded: saturating_int(d.recorded),
                derived: saturating_int(d.derived),
            })
            .collect()
    }
}

/// One column of one stock level that disagrees with what derives it.
#[derive(SimpleObject)]
pub struct Discrepancy {
    pub sku: String,
    pub warehouse_code: String,
    /// "quantity", "reserved" or "safetyStock".
    pub field: String,
    /// What the stock level says.
    pub recorded: i32,
    /// What the movements (quantity, safetyStock) or the active
    /// reservations (reserved) add up to.
    pub derived: i32,
}
