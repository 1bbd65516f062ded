//! The demo data a newcomer sees first: real cities on five continents,
//! a catalogue of outdoor gear, and stock spread unevenly: some SKUs in
//! every warehouse, some in one, some sold out, and one hot SKU with exactly
//! [`HOT_SKU_UNITS`] units in one warehouse for flash-sale drills.
//!
//! Every unit enters through a RESTOCK movement, so the ledger equals the
//! stock from the first second.

use chrono::Utc;
use sea_orm::{
    ActiveValue::Set, DatabaseConnection, DbErr, EntityTrait, PaginatorTrait, QueryOrder,
    TransactionTrait,
};

use crate::{
    entities::{
        movement::{self, MovementType},
        product, stock_level, warehouse,
    },
    inventory::ledger,
};

/// The SKU every flash-sale test and drill races for.
pub const HOT_SKU: &str = "DROP-SNEAKER-LTD";
/// How many units of [`HOT_SKU`] the demo holds, all in [`HOT_SKU_WAREHOUSE`].
pub const HOT_SKU_UNITS: i32 = 100;
pub const HOT_SKU_WAREHOUSE: &str = "BER1";
/// `createdBy` and `referenceId` of the demo's RESTOCK movements.
pub const DEMO_ACTOR: &str = "demo-seed";

/// A warehouse of the demo network.
pub struct DemoWarehouse {
    pub code: &'static str,
    pub name: &'static str,
    pub city: &'static str,
    pub latitude: f64,
    pub longitude: f64,
    pub active: bool,
    /// base fee, cents per 100 km, cents per kg
    pub rate: (i32, i32, i32),
}

const fn wh(
    code: &'static str,
    name: &'static str,
    city: &'static str,
    latitude: f64,
    longitude: f64,
    rate: (i32, i32, i32),
) -> DemoWarehouse {
    DemoWarehouse {
        code,
        name,
        city,
        latitude,
        longitude,
        active: true,
        rate,
    }
}

/// The demo's warehouse network.
pub const WAREHOUSES: &[DemoWarehouse] = &[
    wh(
        "BER1",
        "Berlin Spandau DC",
        "Berlin",
        52.5200,
        13.4050,
        (450, 35, 60),
    ),
    wh(
        "PAR1",
        "Paris Gennevilliers",
        "Paris",
        48.8566,
        2.3522,
        (520, 40, 70),
    ),
    wh(
        "MAD1",
        "Madrid Coslada",
        "Madrid",
        40.4168,
        -3.7038,
        (390, 30, 55),
    ),
    wh(
        "MIL1",
        "Milan Linate Hub",
        "Milan",
        45.4642,
        9.1900,
        (480, 38, 65),
    ),
    wh(
        "WAW1",
        "Warsaw Okęcie",
        "Warsaw",
        52.2297,
        21.0122,
        (300, 25, 45),
    ),
    wh(
        "LON1",
        "London Park Royal",
        "London",
        51.5074,
        -0.1278,
        (610, 45, 80),
    ),
    wh(
        "NYC1",
        "New York Newark Port",
        "New York",
        40.7128,
        -74.0060,
        (700, 30, 90),
    ),
    wh(
        "CHI1",
        "Chicago O'Hare",
        "Chicago",
        41.8781,
        -87.6298,
        (550, 22, 75),
    ),
    wh(
        "DAL1",
        "Dallas Fort Worth",
        "Dallas",
        32.7767,
        -96.7970,
        (480, 20, 70),
    ),
    wh(
        "LAX1",
        "Los Angeles Carson",
        "Los Angeles",
        34.0522,
        -118.2437,
        (650, 28, 85),
    ),
    wh(
        "TOR1",
        "Toronto Mississauga",
        "Toronto",
        43.6532,
        -79.3832,
        (580, 27, 78),
    ),
    wh(
        "SAO1",
        "São Paulo Guarulhos",
        "São Paulo",
        -23.5505,
        -46.6333,
        (420, 33, 60),
    ),
    wh(
        "TYO1",
        "Tokyo Shinagawa",
        "Tokyo",
        35.6762,
        139.6503,
        (800, 50, 95),
    ),
    wh(
        "SYD1",
        "Sydney Botany",
        "Sydney",
        -33.8688,
        151.2093,
        (750, 42, 90),
    ),
    DemoWarehouse {
        active: false,
        ..wh(
            "DUB1",
            "Dublin Ballycoolin (closed for refit)",
            "Dublin",
            53.3498,
            -6.2603,
            (500, 40, 70),
        )
    },
];

/// (sku stem, product name, base weight in grams)
const PRODUCT_LINES: &[(&str, &str, i32)] = &[
    ("TENT-2P", "Ridgeline 2-person tent", 2_100),
    ("TENT-4P", "Basecamp 4-person tent", 5_400),
    ("PACK-45L", "Alpine 45 L backpack", 1_450),
    ("PACK-22L", "Daypack 22 L", 680),
    ("BAG-0C", "Down sleeping bag 0 °C", 1_050),
    ("BAG-M10C", "Expedition sleeping bag -10 °C", 1_900),
    ("PAD-AIR", "Insulated air pad", 520),
    ("STOVE-GAS", "Compact gas stove", 310),
    ("POT-TI", "Titanium pot 900 ml", 140),
    ("LAMP-HEAD", "Headlamp 400 lm", 95),
    ("BOOT-HIKE", "Waterproof hiking boot", 1_300),
    ("JKT-SHELL", "3-layer shell jacket", 420),
    ("JKT-DOWN", "Packable down jacket", 360),
    ("POLE-CARB", "Carbon trekking poles (pair)", 460),
    ("FILTER-H2O", "Squeeze water filter", 85),
];

const VARIANTS: &[(&str, &str, i32)] = &[
    ("GRN", "green", 0),
    ("BLU", "blue", 10),
    ("RED", "red", 5),
    ("BLK", "black", 15),
];

/// What [`seed`] did.
#[derive(Debug, PartialEq, Eq)]
pub enum SeedOutcome {
    Loaded {
        warehouses: usize,
        products: usize,
        stock_levels: usize,
    },
    /// The catalogue already had products or warehouses; nothing was written.
    SkippedNotEmpty,
}

/// A small deterministic generator, so that every newcomer sees the same
/// demo and tests can rely on it.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A planned stock level: indexes into the catalogue and warehouse lists.
struct PlannedStock {
    product: usize,
    warehouse: usize,
    quantity: i32,
}

/// A product of the demo catalogue.
pub struct DemoProduct {
    pub sku: String,
    pub name: String,
    pub weight_grams: i32,
}

/// The demo catalogue.
pub fn demo_products() -> Vec<DemoProduct> {
    let mut products: Vec<DemoProduct> = PRODUCT_LINES
        .iter()
        .flat_map(|(stem, name, grams)| {
            VARIANTS
                .iter()
                .map(move |(code, colour, extra)| DemoProduct {
                    sku: format!("{stem}-{code}"),
                    name: format!("{name}, {colour}"),
                    weight_grams: grams + extra,
                })
        })
        .collect();
    products.push(DemoProduct {
        sku: HOT_SKU.to_owned(),
        name: "Limited-drop trail sneaker".to_owned(),
        weight_grams: 780,
    });
    products
}

/// The stock layout, by pattern of product index so that every kind of
/// level occurs: everywhere, one warehouse, sold out, and a spread.
fn plan_stock(products: &[DemoProduct]) -> Vec<PlannedStock> {
    let active: Vec<usize> = (0..WAREHOUSES.len())
        .filter(|&i| WAREHOUSES[i].active)
        .collect();
    let inactive = (0..WAREHOUSES.len()).find(|&i| !WAREHOUSES[i].active);
    let mut rng = SplitMix(0x5704_C4A0_07E5);
    let mut plan = Vec::new();
    for (index, product) in products.iter().enumerate() {
        if product.sku == HOT_SKU {
            let warehouse = WAREHOUSES
                .iter()
                .position(|w| w.code == HOT_SKU_WAREHOUSE)
                .expect("the hot SKU's warehouse is in the demo");
            plan.push(PlannedStock {
                product: index,
                warehouse,
                quantity: HOT_SKU_UNITS,
            });
            continue;
        }
        match index % 6 {
            // Everywhere, in depth.
            0 => plan.extend(active.iter().map(|&warehouse| PlannedStock {
                product: index,
                warehouse,
                quantity: 20 + rng.below(180) as i32,
            })),
            // One warehouse only.
            1 => plan.push(PlannedStock {
                product: index,
                warehouse: active[rng.below(active.len() as u64) as usize],
                quantity: 5 + rng.below(40) as i32,
            }),
            // Sold out: the levels exist, with nothing on hand.
            2 if index % 4 == 2 => {
                for _ in 0..2 {
                    let warehouse = active[rng.below(active.len() as u64) as usize];
                    if !plan
                        .iter()
                        .any(|p| p.product == index && p.warehouse == warehouse)
                    {
                        plan.push(PlannedStock {
                            product: index,
                            warehouse,
                            quantity: 0,
                        });
                    }
                }
            }
            // A spread over a few warehouses, shallow and uneven.
            _ => {
                let count = 2 + rng.below(4) as usize;
                let mut chosen: Vec<usize> = Vec::new();
                while chosen.len() < count {
                    let warehouse = active[rng.below(active.len() as u64) as usize];
                    if !chosen.contains(&warehouse) {
                        chosen.push(warehouse);
                    }
                }
                chosen.sort_unstable();
                plan.extend(chosen.into_iter().map(|warehouse| PlannedStock {
                    product: index,
                    warehouse,
                    quantity: 1 + rng.below(60) as i32,
                }));
            }
        }
    }
    // Stock left in the closed warehouse: it must never be offered.
    if let Some(closed) = inactive {
        plan.push(PlannedStock {
            product: 0,
            warehouse: closed,
            quantity: 500,
        });
    }
    plan
}

/// The demo stock as (SKU, warehouse code, units on hand), for tools that
/// want the demo without a database (the planner report).
pub fn demo_stock() -> Vec<(String, &'static str, i32)> {
    let products = demo_products();
    plan_stock(&products)
        .into_iter()
        .map(|s| {
            (
                products[s.product].sku.clone(),
                WAREHOUSES[s.warehouse].code,
                s.quantity,
            )
        })
        .collect()
}

/// Loads the demo data in one transaction when the catalogue is empty.
/// Running it again changes nothing.
pub async fn seed(db: &DatabaseConnection) -> Result<SeedOutcome, DbErr> {
    let txn = db.begin().await?;
    let existing =
        product::Entity::find().count(&txn).await? + warehouse::Entity::find().count(&txn).await?;
    if existing > 0 {
        txn.rollback().await?;
        return Ok(SeedOutcome::SkippedNotEmpty);
    }
    let now = Utc::now();

    warehouse::Entity::insert_many(WAREHOUSES.iter().map(|w| warehouse::ActiveModel {
        code: Set(w.code.to_owned()),
        name: Set(w.name.to_owned()),
        city: Set(Some(w.city.to_owned())),
        latitude: Set(w.latitude),
        longitude: Set(w.longitude),
        active: Set(w.active),
        base_cents: Set(w.rate.0),
        cents_per_100km: Set(w.rate.1),
        cents_per_kg: Set(w.rate.2),
        created_at: Set(now),
        ..Default::default()
    }))
    .exec(&txn)
    .await?;

    let products = demo_products();
    product::Entity::insert_many(products.iter().map(|p| product::ActiveModel {
        sku: Set(p.sku.clone()),
        name: Set(p.name.clone()),
        weight_grams: Set(p.weight_grams),
        created_at: Set(now),
        ..Default::default()
    }))
    .exec(&txn)
    .await?;

    // Ids as the database assigned them, matched back by sku and code.
    let warehouse_ids = warehouse::Entity::find()
        .order_by_asc(warehouse::Column::Id)
        .all(&txn)
        .await?;
    let product_ids = product::Entity::find()
        .order_by_asc(product::Column::Id)
        .all(&txn)
        .await?;
    let warehouse_id = |i: usize| {
        warehouse_ids
            .iter()
            .find(|w| w.code == WAREHOUSES[i].code)
            .map(|w| w.id)
            .expect("inserted above")
    };
    let product_id = |i: usize| {
        product_ids
            .iter()
            .find(|p| p.sku == products[i].sku)
            .map(|p| p.id)
            .expect("inserted above")
    };

    let plan = plan_stock(&products);
    stock_level::Entity::insert_many(plan.iter().map(|s| stock_level::ActiveModel {
        product_id: Set(product_id(s.product)),
        warehouse_id: Set(warehouse_id(s.warehouse)),
        quantity: Set(s.quantity),
        reserved: Set(0),
        version: Set(i32::from(s.quantity > 0)),
        updated_at: Set(now),
        ..Default::default()
    }))
    .exec(&txn)
    .await?;

    let movements = plan
        .iter()
        .filter(|s| s.quantity > 0)
        .map(|s| movement::ActiveModel {
            product_id: Set(product_id(s.product)),
            warehouse_id: Set(warehouse_id(s.warehouse)),
            movement_type: Set(MovementType::Restock),
            quantity_delta: Set(s.quantity),
            reserved_delta: Set(0),
            quantity_after: Set(s.quantity),
            reserved_after: Set(0),
            version_after: Set(1),
            reference_id: Set(Some(DEMO_ACTOR.to_owned())),
            created_by: Set(Some(DEMO_ACTOR.to_owned())),
            created_at: Set(now),
            ..Default::default()
        });
    ledger::append(&txn, movements.collect()).await?;

    txn.commit().await?;
    Ok(SeedOutcome::Loaded {
        warehouses: WAREHOUSES.len(),
        products: products.len(),
        stock_levels: plan.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_is_large_varied_and_has_exactly_one_hot_level() {
        let products = demo_products();
        assert!(products.len() >= 60);
        let plan = plan_stock(&products);
        let hot = products.iter().position(|p| p.sku == HOT_SKU).unwrap();
        let hot_levels: Vec<_> = plan.iter().filter(|s| s.product == hot).collect();
        assert_eq!(hot_levels.len(), 1);
        assert_eq!(hot_levels[0].quantity, HOT_SKU_UNITS);

        let levels_of = |p: usize| plan.iter().filter(|s| s.product == p).count();
        let everywhere = WAREHOUSES.iter().filter(|w| w.active).count();
        assert!((0..products.len()).any(|p| levels_of(p) >= everywhere));
        assert!((0..products.len()).any(|p| levels_of(p) == 1 && p != hot));
        assert!((0..products.len()).any(|p| {
            levels_of(p) > 0
                && plan
                    .iter()
                    .filter(|s| s.product == p)
                    .all(|s| s.quantity == 0)
        }));
        let continents_apart = WAREHOUSES.iter().any(|w| w.longitude < -30.0)
            && WAREHOUSES.iter().any(|w| w.longitude > -30.0);
        assert!(continents_apart && WAREHOUSES.len() >= 10);
    }

    #[test]
    fn no_stock_level_is_planned_twice() {
        let plan = plan_stock(&demo_products());
        let mut keys: Vec<_> = plan.iter().map(|s| (s.product, s.warehouse)).collect();
        keys.sort_unstable();
        let before = keys.len();
        keys.dedup();
        assert_eq!(before, keys.len());
    }
}
