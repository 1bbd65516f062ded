//! Inserting many rows, or looking many up by id, with one statement whose
//! text does not depend on how many there are.
//!
//! A multi-row `INSERT … VALUES (…), (…)` binds one parameter per cell, so
//! its text changes with every row count: PostgreSQL parses and plans each
//! new text again (and the driver prepares it again, one more round trip),
//! and a 500-row insert of a 13-column table binds 6,500 parameters. On
//! PostgreSQL the rows go instead as ONE typed array per column, in the
//! driver's binary format, and `unnest` turns them back into rows, so the
//! statement is prepared once per table and column set and no cell is
//! parsed from text. (The rows went as one json parameter before: lexing
//! it, and the hash table `json_populate_recordset` builds per row, were
//! ~30 % of PostgreSQL's CPU in the flash-sale benchmark.) SQLite, in
//! process and without that cost, takes the ordinary multi-row insert; so
//! does any row holding a value this module does not carry in an array.

use sea_orm::{
    ActiveModelTrait, ActiveValue, ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityName,
    EntityTrait, IdenStatic, Iterable, SqlErr, Statement, Value,
    sea_query::{ArrayType, Expr, ExprTrait, SimpleExpr, extension::postgres::PgFunc},
};

use super::quote_identifier;

/// Inserts `rows` (each setting the same columns) in one statement and
/// says how many went in. A row whose key (primary or another unique one)
/// is taken fails the statement, and nothing is inserted: the caller tells
/// that by [`is_taken`]. (Skipping such rows with `ON CONFLICT DO NOTHING`
/// instead costs PostgreSQL a speculative insertion per row: ~2 µs a row
/// measured with pgbench, 250-row inserts of a uuid-keyed table.)
pub async fn insert_rows<A>(connection: &impl ConnectionTrait, rows: Vec<A>) -> Result<u64, DbErr>
where
    A: ActiveModelTrait + Send,
{
    if rows.is_empty() {
        return Ok(0);
    }
    if connection.get_database_backend() == DbBackend::Postgres
        && let Some(statement) = as_array_insert(&rows, Returning::Count)
    {
        return Ok(connection.execute_raw(statement).await?.rows_affected());
    }
    A::Entity::insert_many(rows)
        .exec_without_returning(connection)
        .await
}

/// `column` is one of `ids`, as a condition whose text, on PostgreSQL, does
/// not depend on how many there are (`= ANY($1)`, one typed array). An
/// `IN ($1, …)` list is a new statement for every length, which PostgreSQL
/// parses and plans again and the driver prepares again: a batch of
/// sold-out answers looks up its ~120 ids this way, and planning them was
/// ~17 % of PostgreSQL's CPU in the 100-unit flash sale.
pub fn is_one_of<C, V>(backend: DbBackend, column: C, ids: Vec<V>) -> SimpleExpr
where
    C: ColumnTrait,
    V: Into<Value>,
    Vec<V>: Into<Value>,
{
    match backend {
        DbBackend::Postgres => {
            let column = Expr::col((column.entity_name(), column));
            ExprTrait::eq(column, PgFunc::any(Expr::val(ids)))
        }
        _ => column.is_in(ids),
    }
}

/// Whether `error` is an insert finding a key taken.
pub fn is_taken(error: &DbErr) -> bool {
    matches!(error.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}

/// Inserts `rows` as [`insert_rows`] does (failing on a taken key) into a
/// table whose key is a generated `id`, and returns each row with the id
/// it got, in the order of `rows`. Only where the statement can say: on
/// PostgreSQL, for rows carried as arrays, it feeds them in their order and
/// the table numbers them as fed; elsewhere `None`.
///
/// `first`, when given, is a select list of calls (taking a lock, say)
/// that must happen before any row is numbered: it goes in the same
/// statement, evaluated once before the first row reaches the table, or
/// as a `SELECT` of its own first where the rows cannot go as arrays.
pub async fn insert_numbered_rows<A>(
    connection: &impl ConnectionTrait,
    rows: Vec<A>,
    first: Option<&str>,
) -> Result<Option<Vec<(A, i64)>>, DbErr>
where
    A: ActiveModelTrait + Send,
{
    let array_insert = (connection.get_database_backend() == DbBackend::Postgres
        && !rows.is_empty())
    .then(|| as_array_insert(&rows, Returning::Ids { first }))
    .flatten();
    let Some(statement) = array_insert else {
        if let Some(first) = first {
            connection
                .execute_unprepared(&format!("SELECT {first}"))
                .await?;
        }
        insert_rows(connection, rows).await?;
        return Ok(None);
    };
    // One row holding every id: a row per id cost the driver a message, a
    // row and a column lookup by name each (~1.3k of a flash-sale hold's
    // ~200k instructions: round 25 of benches/flash-rounds.md).
    let ids = match connection.query_one_raw(statement).await? {
        Some(row) => row
            .try_get::<Option<Vec<i64>>>("", "ids")?
            .unwrap_or_default(),
        None => Vec::new(),
    };
    Ok((ids.len() == rows.len()).then(|| rows.into_iter().zip(ids).collect()))
}

/// What an insert from arrays returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Returning<'a> {
    /// How many rows went in.
    Count,
    /// The generated ids, numbered in the order of the rows, after the
    /// calls of `first` (see [`insert_numbered_rows`]).
    Ids { first: Option<&'a str> },
}

/// The PostgreSQL statement inserting `rows` from one array parameter per
/// column; `None` when some column holds a type this module does not carry.
///
/// A column that holds the same value in every row goes as that one value
/// instead: a batch of holds for one SKU shares its product, warehouse,
/// strategy, caller and timestamps, and each array cell costs the driver a
/// clone, a conversion and an encoding, and PostgreSQL an element to unnest.
/// At least one column stays an array, to carry the number of rows.
fn as_array_insert<A: ActiveModelTrait>(rows: &[A], returning: Returning) -> Option<Statement> {
    let columns: Vec<_> = <A::Entity as EntityTrait>::Column::iter()
        .filter(|c| !matches!(rows[0].get(*c), ActiveValue::NotSet))
        .collect();
    let cells = columns
        .iter()
        .map(|column| {
            let cells = rows
                .iter()
                .map(|row| match row.get(*column) {
                    ActiveValue::Set(value) | ActiveValue::Unchanged(value) => Some(value),
                    ActiveValue::NotSet => None,
                })
                .collect::<Option<Vec<Value>>>()?;
            column_cells(cells)
        })
        .collect::<Option<Vec<_>>>()?;
    // Nothing varies (one row, say): then every column stays an array.
    let fold = cells
        .iter()
        .any(|c| matches!(c, ColumnCells::Array { same: false, .. }));
    let as_one_value = |same: bool| same && fold;
    // The arrays are bound first ($1 …), the single values after them.
    let array_count: usize = cells
        .iter()
        .map(|c| match c {
            ColumnCells::Array { same, nulls, .. } if !as_one_value(*same) => {
                1 + usize::from(nulls.is_some())
            }
            _ => 0,
        })
        .sum();
    let mut arrays = Vec::with_capacity(array_count);
    let mut single_values = Vec::new();
    let mut unnested = Vec::with_capacity(array_count);
    let mut selected = Vec::with_capacity(columns.len());
    for column in cells {
        let ColumnCells::Array {
            kind,
            mut values,
            sql_type,
            nulls,
            same,
        } = column
        else {
            // NULL in every row, cast to the column's type by the insert.
            selected.push("NULL".to_owned());
            continue;
        };
        if as_one_value(same) {
            single_values.push(values.swap_remove(0));
            let n = array_count + single_values.len();
            selected.push(format!("${n}::{sql_type}"));
            continue;
        }
        let n = arrays.len();
        arrays.push(Value::Array(kind, Some(Box::new(values))));
        unnested.push(format!("${}::{sql_type}[]", n + 1));
        match nulls {
            None => selected.push(format!("r.c{n}")),
            Some(nulls) => {
                arrays.push(Value::Array(ArrayType::Bool, Some(Box::new(nulls))));
                unnested.push(format!("${}::boolean[]", n + 2));
                selected.push(format!("CASE WHEN r.c{} THEN NULL ELSE r.c{n} END", n + 1));
            }
        }
    }
    let aliases = (0..arrays.len())
        .map(|n| format!("c{n}"))
        .collect::<Vec<_>>()
        .join(", ");
    let table = quote_identifier(A::Entity::default().table_name());
    let names = columns
        .iter()
        .map(|c| quote_identifier(c.as_str()))
        .collect::<Vec<_>>()
        .join(", ");
    let selected = selected.join(", ");
    let unnested = unnested.join(", ");
    let sql = match returning {
        Returning::Count => format!(
            "INSERT INTO {table} ({names}) SELECT {selected} \
             FROM unnest({unnested}) AS r({aliases})"
        ),
        // Fed in the arrays' order, so that the identity hands out its
        // numbers in that order: PostgreSQL evaluates a volatile default
        // (the id's nextval) after the sort. The calls of `first` sit in a
        // one-row subquery joined to every row: no row exists, so none is
        // numbered, before they have run (their volatility keeps the
        // planner from dropping them), and they run once. The ids come
        // back as one array, smallest (the first row's) first.
        Returning::Ids { first } => {
            let first = first
                .map(|calls| format!("(SELECT {calls}) AS first, "))
                .unwrap_or_default();
            format!(
                "WITH numbered AS (INSERT INTO {table} ({names}) SELECT {selected} \
                 FROM {first}unnest({unnested}) WITH ORDINALITY AS r({aliases}, ordinality) \
                 ORDER BY r.ordinality RETURNING id) \
                 SELECT array_agg(id ORDER BY id) AS ids FROM numbered"
            )
        }
    };
    debug_assert_eq!(arrays.len(), array_count);
    arrays.extend(single_values);
    Some(Statement::from_sql_and_values(
        DbBackend::Postgres,
        sql,
        arrays,
    ))
}

/// One column's cells, ready to bind.
enum ColumnCells {
    /// Every cell is NULL: no value gives the column a type to bind by.
    AllNull,
    /// The cells, for an array of `sql_type` (an element's type) and, when
    /// some are NULL, a `boolean[]` saying which: a bound array may hold no
    /// NULL, so a NULL cell holds its type's default in the first.
    Array {
        kind: ArrayType,
        values: Vec<Value>,
        sql_type: &'static str,
        nulls: Option<Vec<Value>>,
        /// No cell is NULL and every one equals the first.
        same: bool,
    },
}

/// `None` when the column holds a type this module does not carry.
fn column_cells(cells: Vec<Value>) -> Option<ColumnCells> {
    let Some(kind) = cells.iter().find(|v| v.is_some()).map(Value::array_type) else {
        return Some(ColumnCells::AllNull);
    };
    let sql_type = sql_type(&kind)?;
    let same = cells.iter().all(|cell| identical(cell, &cells[0]));
    let mut any_null = false;
    let mut nulls = Vec::with_capacity(cells.len());
    let mut values = Vec::with_capacity(cells.len());
    for cell in cells {
        if cell.array_type() != kind {
            return None;
        }
        let null = !cell.is_some();
        any_null |= null;
        nulls.push(Value::Bool(Some(null)));
        values.push(if null { cell.dummy_value() } else { cell });
    }
    Some(ColumnCells::Array {
        kind,
        values,
        sql_type,
        nulls: any_null.then_some(nulls),
        same: same && !any_null,
    })
}

/// Whether two cells hold the same value, bit for bit: a float's `==`
/// takes -0.0 for 0.0, and one bound for both would store the other's sign.
fn identical(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Double(Some(a)), Value::Double(Some(b))) => a.to_bits() == b.to_bits(),
        (Value::Float(Some(a)), Value::Float(Some(b))) => a.to_bits() == b.to_bits(),
        _ => a == b,
    }
}

/// The PostgreSQL type of cells of `kind`; `None` for a kind that does not
/// travel in an array here.
fn sql_type(kind: &ArrayType) -> Option<&'static str> {
    Some(match kind {
        ArrayType::Bool => "boolean",
        ArrayType::SmallInt => "smallint",
        ArrayType::Int => "integer",
        ArrayType::BigInt => "bigint",
        ArrayType::Double => "double precision",
        ArrayType::String => "text",
        ArrayType::Uuid => "uuid",
        ArrayType::ChronoDateTimeUtc => "timestamptz",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entities::{
        movement::{self, MovementType},
        reservation::{self, ReservationStatus},
    };
    use chrono::{TimeZone, Utc};
    use sea_orm::{ActiveValue::Set, IntoActiveModel};

    #[test]
    fn a_column_with_nulls_carries_which_they_are() {
        let Some(ColumnCells::Array {
            values,
            sql_type,
            nulls,
            same,
            ..
        }) = column_cells(vec![
            Value::String(Some("a".into())),
            Value::String(None),
            Value::String(Some("a".into())),
        ])
        else {
            panic!("strings are carried");
        };
        assert_eq!(sql_type, "text");
        assert_eq!(
            values,
            vec![
                Value::String(Some("a".into())),
                Value::String(Some(String::new())),
                Value::String(Some("a".into())),
            ]
        );
        assert_eq!(
            nulls,
            Some(vec![
                Value::Bool(Some(false)),
                Value::Bool(Some(true)),
                Value::Bool(Some(false)),
            ])
        );
        assert!(!same, "a NULL among equal values is not one value");
    }

    #[test]
    fn a_column_without_nulls_carries_no_mask_and_one_all_null_no_array() {
        let Some(ColumnCells::Array { nulls, same, .. }) =
            column_cells(vec![Value::Int(Some(1)), Value::Int(Some(2))])
        else {
            panic!("ints are carried");
        };
        assert_eq!(nulls, None);
        assert!(!same);
        let Some(ColumnCells::Array { same, .. }) =
            column_cells(vec![Value::Int(Some(7)), Value::Int(Some(7))])
        else {
            panic!("ints are carried");
        };
        assert!(same);
        for (a, b, alike) in [
            (0.0, -0.0, false),
            (f64::NAN, f64::NAN, true),
            (1.5, 1.5, true),
        ] {
            let Some(ColumnCells::Array { same, .. }) =
                column_cells(vec![Value::Double(Some(a)), Value::Double(Some(b))])
            else {
                panic!("doubles are carried");
            };
            assert_eq!(same, alike, "{a} and {b}");
        }
        assert!(matches!(
            column_cells(vec![Value::Uuid(None), Value::Uuid(None)]),
            Some(ColumnCells::AllNull)
        ));
        // No array type here: the caller takes the plain insert.
        assert!(column_cells(vec![Value::Bytes(Some(vec![1]))]).is_none());
    }

    #[test]
    fn columns_the_same_in_every_row_are_bound_once() {
        let at = Utc.with_ymd_and_hms(2026, 12, 5, 15, 4, 5).unwrap();
        let movement = |reserved_after: i32| movement::ActiveModel {
            product_id: Set(1),
            warehouse_id: Set(2),
            movement_type: Set(MovementType::Reserve),
            quantity_delta: Set(0),
            reserved_delta: Set(1),
            quantity_after: Set(5),
            reserved_after: Set(reserved_after),
            safety_stock_delta: Set(0),
            safety_stock_after: Set(0),
            version_after: Set(reserved_after),
            reference_id: Set(Some(format!("hold {reserved_after}"))),
            created_by: Set(None),
            created_at: Set(at),
            inbound_id: Set(None),
            ..Default::default()
        };
        let statement = as_array_insert(&[movement(1), movement(2)], Returning::Count)
            .expect("movements go as arrays");
        // Only what differs from row to row is unnested.
        assert!(
            statement
                .sql
                .contains("FROM unnest($1::integer[], $2::integer[], $3::text[]) AS r(c0, c1, c2)"),
            "{}",
            statement.sql
        );
        assert!(
            statement
                .sql
                .contains("SELECT $4::integer, $5::integer, $6::text"),
            "{}",
            statement.sql
        );
        let values = statement.values.expect("bound").0;
        assert_eq!(values.len(), 3 + 9, "three arrays, nine single values");
        assert_eq!(values[3], Value::Int(Some(1)));
        assert_eq!(values[4], Value::Int(Some(2)));
        assert_eq!(values.last(), Some(&Value::ChronoDateTimeUtc(Some(at))));

        // Rows that are all alike still need an array to count them.
        let sql = as_array_insert(&[movement(3), movement(3)], Returning::Count)
            .expect("movements go as arrays")
            .sql;
        assert!(sql.contains("SELECT r.c0, r.c1,"), "{sql}");
    }

    #[test]
    fn the_hot_path_rows_all_go_as_arrays() {
        let at = Utc.with_ymd_and_hms(2026, 12, 5, 15, 4, 5).unwrap();
        let id = uuid::Uuid::new_v4();
        let hold = reservation::Model {
            id,
            status: ReservationStatus::Active,
            strategy: "NEAREST".into(),
            ship_to_latitude: 52.52,
            ship_to_longitude: 13.405,
            max_shipments: None,
            fingerprint: "f".into(),
            total_cost_cents: 1,
            created_by: Some("key".into()),
            created_at: at,
            expires_at: at,
            confirmed_at: None,
            released_at: None,
            plan: "[]".into(),
        };
        let movement = movement::ActiveModel {
            product_id: Set(1),
            warehouse_id: Set(1),
            movement_type: Set(MovementType::Reserve),
            quantity_delta: Set(0),
            reserved_delta: Set(1),
            quantity_after: Set(5),
            reserved_after: Set(1),
            safety_stock_delta: Set(0),
            safety_stock_after: Set(0),
            version_after: Set(2),
            reference_id: Set(Some(id.to_string())),
            created_by: Set(None),
            created_at: Set(at),
            inbound_id: Set(None),
            ..Default::default()
        };
        let count = Returning::Count;
        let sql = as_array_insert(&[hold.into_active_model()], count)
            .expect("reservations go as arrays")
            .sql;
        assert!(sql.contains("unnest($1::uuid[], $2::text[]"), "{sql}");
        let sql = as_array_insert(
            std::slice::from_ref(&movement),
            Returning::Ids { first: None },
        )
        .expect("movements go as arrays")
        .sql;
        assert!(
            sql.ends_with("ORDER BY r.ordinality RETURNING id) SELECT array_agg(id ORDER BY id) AS ids FROM numbered"),
            "{sql}"
        );
        let first = Some("pg_advisory_xact_lock(7)");
        let sql = as_array_insert(&[movement], Returning::Ids { first })
            .expect("movements go as arrays")
            .sql;
        assert!(
            sql.contains("FROM (SELECT pg_advisory_xact_lock(7)) AS first, unnest($1"),
            "{sql}"
        );
    }
}
