//! Telling a retry from a different order that reuses a reservation id.

use sha2::{Digest, Sha256};

use super::{HoldRequest, strategy_name};
use crate::digest::lower_hex;

/// A digest of everything the request asks for. Lines are taken in SKU
/// order: the same lines sent in another order are the same order.
pub fn fingerprint(request: &HoldRequest) -> String {
    let mut lines: Vec<_> = request
        .order
        .lines
        .iter()
        .map(|l| (l.sku.as_str(), l.quantity))
        .collect();
    lines.sort_unstable();
    let mut hasher = Sha256::new();
    // Each part is length-prefixed or fixed-width, so no two different
    // requests can spell the same bytes.
    for (sku, quantity) in lines {
        hasher.update((sku.len() as u64).to_le_bytes());
        hasher.update(sku.as_bytes());
        hasher.update(quantity.to_le_bytes());
    }
    let ship_to = request.order.ship_to;
    hasher.update(ship_to.latitude().to_bits().to_le_bytes());
    hasher.update(ship_to.longitude().to_bits().to_le_bytes());
    hasher.update(strategy_name(request.strategy).as_bytes());
    hasher.update(request.order.max_shipments.map_or(0, |n| n).to_le_bytes());
    hasher.update(request.ttl.seconds().to_le_bytes());
    // Present or not, then when: no promise and a promise never collide.
    match request.order.promise_by {
        Some(by) => {
            hasher.update([1]);
            hasher.update(by.timestamp_micros().to_le_bytes());
        }
        None => hasher.update([0]),
    }
    lower_hex(&hasher.finalize())
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;
    use crate::{
        geography::Location,
        inventory::{
            planning::{Order, RequestedLine},
            reservations::Ttl,
        },
        planner::Strategy,
    };

    fn request(lines: &[(&str, i32)], strategy: Strategy, ttl: i32) -> HoldRequest {
        let lines = lines
            .iter()
            .map(|(sku, quantity)| RequestedLine {
                sku: (*sku).to_owned(),
                quantity: *quantity,
            })
            .collect();
        HoldRequest {
            id: Uuid::nil(),
            order: Order::new(lines, Location::new(52.5, 13.4).unwrap(), None).unwrap(),
            strategy,
            ttl: Ttl::new(ttl, "ttlSeconds").unwrap(),
        }
    }

    #[test]
    fn the_same_order_in_another_line_order_has_the_same_fingerprint() {
        let a = request(&[("A", 1), ("B", 2)], Strategy::Nearest, 900);
        let b = request(&[("B", 2), ("A", 1)], Strategy::Nearest, 900);
        assert_eq!(fingerprint(&a), fingerprint(&b));
    }

    #[test]
    fn any_change_of_input_changes_the_fingerprint() {
        let base = fingerprint(&request(&[("A", 1), ("B", 2)], Strategy::Nearest, 900));
        let changed = [
            request(&[("A", 1), ("B", 3)], Strategy::Nearest, 900),
            request(&[("A", 1)], Strategy::Nearest, 900),
            request(&[("A", 1), ("C", 2)], Strategy::Nearest, 900),
            request(&[("A", 1), ("B", 2)], Strategy::Cheapest, 900),
            request(&[("A", 1), ("B", 2)], Strategy::Nearest, 60),
        ];
        for other in &changed {
            assert_ne!(fingerprint(other), base, "{other:?}");
        }
        let mut moved = request(&[("A", 1), ("B", 2)], Strategy::Nearest, 900);
        moved.order.ship_to = Location::new(48.1, 11.6).unwrap();
        assert_ne!(fingerprint(&moved), base);
        let mut capped = request(&[("A", 1), ("B", 2)], Strategy::Nearest, 900);
        capped.order.max_shipments = Some(1);
        assert_ne!(fingerprint(&capped), base);
        let launch = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let promised = |by| {
            let mut promised = request(&[("A", 1), ("B", 2)], Strategy::Nearest, 900);
            promised.order = promised.order.promising_by(Some(by));
            fingerprint(&promised)
        };
        assert_ne!(promised(launch), base);
        assert_ne!(
            promised(launch),
            promised(launch + chrono::Duration::seconds(1))
        );
        assert_eq!(
            promised(launch),
            promised(launch),
            "the same promise is the same order"
        );
    }
}
