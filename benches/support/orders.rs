//! Random planning instances for the planner benchmark: warehouses spread
//! over Europe and North America with demo-like rates, and orders whose SKUs
//! are held by some warehouses and not others. Deterministic per seed.

use stockroute::{
    geography::Location,
    planner::{Offer, OrderLine, PlanRequest, ShippingRate, Site, Strategy, Wording},
};

/// A small deterministic generator (SplitMix64).
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    pub fn between(&mut self, low: f64, high: f64) -> f64 {
        low + (self.next() >> 11) as f64 / (1u64 << 53) as f64 * (high - low)
    }
}

pub struct Instance {
    pub lines: Vec<OrderLine>,
    pub sites: Vec<Site>,
    pub offers: Vec<Offer>,
    pub destination: Location,
}

impl Instance {
    /// This order under `strategy`, without a shipment cap.
    pub fn request(&self, strategy: Strategy) -> PlanRequest<'_> {
        PlanRequest {
            lines: &self.lines,
            destination: self.destination,
            sites: &self.sites,
            offers: &self.offers,
            strategy,
            max_shipments: None,
            wording: Wording::Explained,
        }
    }
}

pub fn instance(seed: u64, lines: usize, warehouses: usize) -> Instance {
    let mut rng = Rng(seed);
    let sites: Vec<Site> = (0..warehouses)
        .map(|i| {
            // Half in Europe, half in North America.
            let (lat, lon) = if i % 2 == 0 {
                (rng.between(37.0, 60.0), rng.between(-9.0, 30.0))
            } else {
                (rng.between(26.0, 49.0), rng.between(-123.0, -70.0))
            };
            Site {
                id: i as i32 + 1,
                code: format!("W{i:03}"),
                label: format!("Site {i}"),
                location: Location::new(lat, lon).unwrap(),
                rate: ShippingRate {
                    base_cents: 300 + rng.below(500) as i64,
                    cents_per_100km: 20 + rng.below(30) as i64,
                    cents_per_kg: 40 + rng.below(60) as i64,
                },
                active: rng.below(20) != 0,
            }
        })
        .collect();
    let order: Vec<OrderLine> = (0..lines)
        .map(|l| OrderLine {
            sku: format!("SKU{l}"),
            quantity: 1 + rng.below(5) as u32,
            unit_weight_grams: 100 + rng.below(2900) as u32,
        })
        .collect();
    let mut offers = Vec::new();
    for line in &order {
        for site in &sites {
            // Each SKU is held by about a third of the warehouses.
            if rng.below(3) == 0 {
                offers.push(Offer {
                    sku: line.sku.clone(),
                    site_id: site.id,
                    available: rng.below(12) as u32,
                });
            }
        }
    }
    let destination = Location::new(rng.between(40.0, 55.0), rng.between(-5.0, 20.0)).unwrap();
    Instance {
        lines: order,
        sites,
        offers,
        destination,
    }
}
