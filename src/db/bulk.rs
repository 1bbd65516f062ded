//! Inserting many rows with one statement whose text does not depend on how
//! many there are.
//!
//! A multi-row `INSERT … VALUES (…), (…)` binds one parameter per cell, so
//! its text changes with every row count: PostgreSQL parses and plans each
//! new text again (and the driver prepares it again, one more round trip),
//! and a 500-row insert of a 13-column table binds 6,500 parameters. On
//! PostgreSQL the rows go instead as ONE json parameter, unpacked by
//! `json_populate_recordset` into the table's own row type, so the
//! statement is prepared once per table and column set and every column
//! keeps its declared type. SQLite, in process and without that cost, takes
//! the ordinary multi-row insert; so does any row holding a value this
//! module does not carry in json.

use chrono::SecondsFormat;
use sea_orm::{
    ActiveModelTrait, ActiveValue, ConnectionTrait, DbBackend, DbErr, EntityName, EntityTrait,
    IdenStatic, Iterable, Statement, TryInsertResult, Value,
};

use super::quote_identifier;

/// What to do with a row whose key (primary or another unique one) is
/// taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnTaken {
    /// The statement fails.
    Fail,
    /// The row is left out; the count says how many went in.
    Skip,
}

/// Inserts `rows` (each setting the same columns) in one statement and
/// says how many went in.
pub async fn insert_rows<A>(
    connection: &impl ConnectionTrait,
    rows: Vec<A>,
    on_taken: OnTaken,
) -> Result<u64, DbErr>
where
    A: ActiveModelTrait + Send,
{
    if rows.is_empty() {
        return Ok(0);
    }
    if connection.get_database_backend() == DbBackend::Postgres
        && let Some(statement) = as_json_insert(&rows, Returning::Count(on_taken))
    {
        return Ok(connection.execute_raw(statement).await?.rows_affected());
    }
    let insert = A::Entity::insert_many(rows);
    Ok(match on_taken {
        OnTaken::Fail => insert.exec_without_returning(connection).await?,
        OnTaken::Skip => match insert
            .on_conflict_do_nothing()
            .exec_without_returning(connection)
            .await?
        {
            TryInsertResult::Inserted(n) => n,
            TryInsertResult::Conflicted | TryInsertResult::Empty => 0,
        },
    })
}

/// Inserts `rows` as [`insert_rows`] does (failing on a taken key) into a
/// table whose key is a generated `id`, and returns each row with the id
/// it got, in the order of `rows`. Only where the statement can say: on
/// PostgreSQL, for rows carried as json, it feeds them in their order and
/// the table numbers them as fed; elsewhere `None`.
pub async fn insert_numbered_rows<A>(
    connection: &impl ConnectionTrait,
    rows: Vec<A>,
) -> Result<Option<Vec<(A, i64)>>, DbErr>
where
    A: ActiveModelTrait + Send,
{
    if connection.get_database_backend() == DbBackend::Postgres
        && !rows.is_empty()
        && let Some(statement) = as_json_insert(&rows, Returning::Ids)
    {
        let mut ids = connection
            .query_all_raw(statement)
            .await?
            .iter()
            .map(|row| row.try_get::<i64>("", "id"))
            .collect::<Result<Vec<_>, _>>()?;
        // The rows come back in no promised order; numbered as fed, the
        // smallest id is the first row's.
        ids.sort_unstable();
        return Ok((ids.len() == rows.len()).then(|| rows.into_iter().zip(ids).collect()));
    }
    insert_rows(connection, rows, OnTaken::Fail).await?;
    Ok(None)
}

/// What an insert from json does with a taken key, and what it returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Returning {
    /// How many rows went in.
    Count(OnTaken),
    /// The generated ids, numbered in the order of the rows (a taken key
    /// fails the statement).
    Ids,
}

/// The PostgreSQL statement inserting `rows` from one json parameter;
/// `None` when some value has no faithful json spelling here.
fn as_json_insert<A: ActiveModelTrait>(rows: &[A], returning: Returning) -> Option<Statement> {
    let columns: Vec<_> = <A::Entity as EntityTrait>::Column::iter()
        .filter(|c| !matches!(rows[0].get(*c), ActiveValue::NotSet))
        .collect();
    // Each cell's `"column":` once, not once per row.
    let keys: Vec<String> = columns
        .iter()
        .map(|c| {
            let mut key = String::new();
            write_string(&mut key, c.as_str());
            key.push(':');
            key
        })
        .collect();
    // Written straight into the text: a json tree of every cell first
    // cost more than the rest of the batch's own work.
    let mut body = String::with_capacity(rows.len() * columns.len() * 24);
    body.push('[');
    for (n, row) in rows.iter().enumerate() {
        body.push_str(if n == 0 { "{" } else { ",{" });
        for (k, (column, key)) in columns.iter().zip(&keys).enumerate() {
            if k > 0 {
                body.push(',');
            }
            body.push_str(key);
            match row.get(*column) {
                ActiveValue::Set(value) | ActiveValue::Unchanged(value) => {
                    write_value(&mut body, &value)?
                }
                ActiveValue::NotSet => return None,
            }
        }
        body.push('}');
    }
    body.push(']');

    let table = quote_identifier(A::Entity::default().table_name());
    let names = columns
        .iter()
        .map(|c| quote_identifier(c.as_str()))
        .collect::<Vec<_>>()
        .join(", ");
    let rows = format!("json_populate_recordset(NULL::{table}, $1::json)");
    let sql = match returning {
        Returning::Count(OnTaken::Fail) => {
            format!("INSERT INTO {table} ({names}) SELECT {names} FROM {rows}")
        }
        Returning::Count(OnTaken::Skip) => format!(
            "INSERT INTO {table} ({names}) SELECT {names} FROM {rows} ON CONFLICT DO NOTHING"
        ),
        // Fed in the json's order, so that the identity hands out its
        // numbers in that order.
        Returning::Ids => format!(
            "INSERT INTO {table} ({names}) SELECT {names} FROM {rows} WITH ORDINALITY AS r \
             ORDER BY r.ordinality RETURNING id"
        ),
    };
    Some(Statement::from_sql_and_values(
        DbBackend::Postgres,
        sql,
        [Value::String(Some(body))],
    ))
}

/// Appends `value` as json that PostgreSQL reads back as the same column
/// value; `None` (having appended part of it) when there is no such json.
fn write_value(out: &mut String, value: &Value) -> Option<()> {
    use std::fmt::Write;
    let written = match value {
        Value::Bool(Some(v)) => write!(out, "{v}"),
        Value::SmallInt(Some(v)) => write!(out, "{v}"),
        Value::Int(Some(v)) => write!(out, "{v}"),
        Value::BigInt(Some(v)) => write!(out, "{v}"),
        // json has no NaN or infinity; Display never writes an exponent.
        Value::Double(Some(v)) if v.is_finite() => write!(out, "{v}"),
        Value::Double(Some(_)) => return None,
        Value::String(Some(v)) => {
            write_string(out, v);
            Ok(())
        }
        Value::Uuid(Some(v)) => write!(out, "\"{v}\""),
        Value::ChronoDateTimeUtc(Some(at)) => write!(
            out,
            "\"{}\"",
            at.to_rfc3339_opts(SecondsFormat::Micros, true)
        ),
        Value::Bool(None)
        | Value::SmallInt(None)
        | Value::Int(None)
        | Value::BigInt(None)
        | Value::Double(None)
        | Value::String(None)
        | Value::Uuid(None)
        | Value::ChronoDateTimeUtc(None) => {
            out.push_str("null");
            Ok(())
        }
        _ => return None,
    };
    written.ok()
}

/// Appends `text` as a json string.
fn write_string(out: &mut String, text: &str) {
    use std::fmt::Write;
    out.push('"');
    // Runs of plain characters are copied whole; only quotes, backslashes
    // and control characters are escaped (all ASCII, so every split is at
    // a character boundary).
    let mut plain = 0;
    for (at, byte) in text.bytes().enumerate() {
        if byte == b'"' || byte == b'\\' || byte < 0x20 {
            out.push_str(&text[plain..at]);
            match byte {
                b'"' => out.push_str("\\\""),
                b'\\' => out.push_str("\\\\"),
                _ => {
                    let _ = write!(out, "\\u{byte:04x}");
                }
            }
            plain = at + 1;
        }
    }
    out.push_str(&text[plain..]);
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn json(value: &Value) -> Option<serde_json::Value> {
        let mut out = String::new();
        write_value(&mut out, value)?;
        Some(serde_json::from_str(&out).expect("valid json"))
    }

    #[test]
    fn values_keep_their_meaning_in_json() {
        let at = Utc.with_ymd_and_hms(2026, 12, 5, 15, 4, 5).unwrap()
            + chrono::Duration::microseconds(123_456);
        assert_eq!(
            json(&Value::ChronoDateTimeUtc(Some(at))),
            Some(serde_json::json!("2026-12-05T15:04:05.123456Z"))
        );
        assert_eq!(json(&Value::Int(None)), Some(serde_json::Value::Null));
        assert_eq!(json(&Value::BigInt(Some(-7))), Some(serde_json::json!(-7)));
        assert_eq!(
            json(&Value::Double(Some(52.52))),
            Some(serde_json::json!(52.52))
        );
        assert_eq!(
            json(&Value::Double(Some(1e21))),
            Some(serde_json::json!(1e21))
        );
        let awkward = "a\"b\\c\nd\u{1}é";
        assert_eq!(
            json(&Value::String(Some(awkward.into()))),
            Some(serde_json::json!(awkward))
        );
        let id = uuid::Uuid::new_v4();
        assert_eq!(
            json(&Value::Uuid(Some(id))),
            Some(serde_json::json!(id.to_string()))
        );
        // No faithful spelling: the caller falls back to a plain insert.
        assert_eq!(json(&Value::Double(Some(f64::NAN))), None);
        assert_eq!(json(&Value::Bytes(Some(vec![1]))), None);
    }
}
