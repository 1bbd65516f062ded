use sea_orm_migration::prelude::*;

use crate::hot_path_keys::{HotPathKey, drops_hot_path_keys};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The foreign keys from a hold's line and the ledger's movements onto the
/// inbound shipment they pre-order, on PostgreSQL only: the two that
/// migration 13 kept.
///
/// They were kept as free, since a hold's line and movement name no
/// inbound (NULL). They are not free: PostgreSQL queues a check for every
/// inserted row, NULL or not, and runs the queue at the end of the
/// statement. The movements' insert is the one statement a batch of holds
/// runs while it holds the append lock and the stock level's row lock,
/// which the next batch waits for: in the flash-sale benchmark (1,000
/// clients, one SKU; batches of ~210 holds, timed in the service) that
/// insert took ~3.0 ms with the key and ~2.4 ms without, and the level's
/// guarded UPDATE before it ~1.4 ms and ~1.1 ms. What they guard is true
/// by construction: a line or movement names an inbound shipment only in
/// the transaction that read it with `FOR UPDATE` and moved its reserved
/// count, and nothing deletes an inbound shipment. The test suite checks
/// after its races that no line or movement names a missing one.
///
/// SQLite keeps the movements' (its lines never had one: migration 11),
/// for the reasons migration 13 gives.
const DROPPED: [HotPathKey; 2] = [
    HotPathKey {
        table: "reservation_lines",
        name: "fk_reservation_lines_inbound",
        column: "inbound_id",
        to_table: "inbound_shipments",
        to_column: "id",
        cascade: false,
    },
    HotPathKey {
        table: "inventory_movements",
        name: "fk_inventory_movements_inbound",
        column: "inbound_id",
        to_table: "inbound_shipments",
        to_column: "id",
        cascade: false,
    },
];

drops_hot_path_keys!(DROPPED);
