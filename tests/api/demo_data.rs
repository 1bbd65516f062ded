use stockroute::demo::{self, HOT_SKU, HOT_SKU_UNITS, SeedOutcome};

use crate::{
    invariants::{QUANTITY_DRIFT, RESERVED_DRIFT},
    on_both_backends,
};

on_both_backends! {
    async fn every_demo_stock_level_equals_the_sum_of_its_movements(app) {
        assert!(app.scalar("SELECT COUNT(*) FROM inventory WHERE quantity > 0").await > 100);
        assert_eq!(app.scalar(QUANTITY_DRIFT).await, 0);
        assert_eq!(app.scalar(RESERVED_DRIFT).await, 0);
        assert_eq!(
            app.scalar("SELECT COUNT(*) FROM inventory WHERE reserved < 0 OR quantity < reserved").await,
            0
        );
        assert_eq!(
            app.scalar("SELECT COUNT(*) FROM inventory_movements WHERE movement_type <> 'RESTOCK'").await,
            0,
            "demo stock enters only through RESTOCK"
        );
    }

    async fn the_demo_is_varied_and_the_hot_sku_has_exactly_its_units_in_one_warehouse(app) {
        assert!(app.scalar("SELECT COUNT(*) FROM warehouses").await >= 10);
        assert!(app.scalar("SELECT COUNT(*) FROM products").await >= 60);
        let hot = format!(
            "SELECT {{}} FROM inventory i JOIN products p ON p.id = i.product_id WHERE p.sku = '{HOT_SKU}'"
        );
        assert_eq!(app.scalar(&hot.replace("{}", "COUNT(*)")).await, 1);
        assert_eq!(app.scalar(&hot.replace("{}", "SUM(i.quantity)")).await, i64::from(HOT_SKU_UNITS));
        // Some products are sold out: levels exist, nothing on hand.
        assert!(app.scalar(
            "SELECT COUNT(*) FROM products p WHERE EXISTS (SELECT 1 FROM inventory i WHERE i.product_id = p.id)
             AND NOT EXISTS (SELECT 1 FROM inventory i WHERE i.product_id = p.id AND i.quantity > 0)"
        ).await > 0);
        // Some products are in every active warehouse.
        assert!(app.scalar(
            "SELECT COUNT(*) FROM products p WHERE (SELECT COUNT(*) FROM inventory i JOIN warehouses w
             ON w.id = i.warehouse_id WHERE i.product_id = p.id AND w.active AND i.quantity > 0)
             = (SELECT COUNT(*) FROM warehouses WHERE active)"
        ).await > 0);
    }

    async fn seeding_a_second_time_changes_nothing(app) {
        let movements = app.scalar("SELECT COUNT(*) FROM inventory_movements").await;
        let stock = app.scalar("SELECT SUM(quantity) FROM inventory").await;
        assert_eq!(demo::seed(&app.db).await.unwrap(), SeedOutcome::SkippedNotEmpty);
        assert_eq!(app.scalar("SELECT COUNT(*) FROM inventory_movements").await, movements);
        assert_eq!(app.scalar("SELECT SUM(quantity) FROM inventory").await, stock);
    }
}
