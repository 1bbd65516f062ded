-- The books of a flash sale, as SQL both backends run: every row is a check
-- that failed. Read by benches/flash.sh and benches/flash_pairs.sh.
SELECT 'reserved above on hand at level ' || id FROM inventory WHERE reserved > quantity OR reserved < 0;
SELECT 'reserved differs from the active holds at level ' || i.id FROM inventory i
  WHERE i.reserved <> (SELECT COALESCE(SUM(l.quantity), 0) FROM reservation_lines l
    JOIN reservations r ON r.id = l.reservation_id
    WHERE r.status = 'ACTIVE' AND l.product_id = i.product_id AND l.warehouse_id = i.warehouse_id);
SELECT 'the movements do not add up at level ' || i.id FROM inventory i
  WHERE i.quantity <> (SELECT COALESCE(SUM(m.quantity_delta), 0) FROM inventory_movements m
      WHERE m.product_id = i.product_id AND m.warehouse_id = i.warehouse_id)
     OR i.reserved <> (SELECT COALESCE(SUM(m.reserved_delta), 0) FROM inventory_movements m
      WHERE m.product_id = i.product_id AND m.warehouse_id = i.warehouse_id);
SELECT 'a line of product ' || l.product_id || ' in warehouse ' || l.warehouse_id || ' names a missing stock level'
  FROM reservation_lines l
  WHERE NOT EXISTS (SELECT 1 FROM inventory i WHERE i.product_id = l.product_id AND i.warehouse_id = l.warehouse_id);
SELECT 'a shipment names missing warehouse ' || s.warehouse_id FROM reservation_shipments s
  WHERE NOT EXISTS (SELECT 1 FROM warehouses w WHERE w.id = s.warehouse_id);
SELECT 'movement ' || m.id || ' names a missing stock level' FROM inventory_movements m
  WHERE NOT EXISTS (SELECT 1 FROM inventory i WHERE i.product_id = m.product_id AND i.warehouse_id = m.warehouse_id);
