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
use serde_json::{Map, Value as Json};

use super::quote_identifier;

/// What to do with a row whose primary key is taken.
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
        && let Some(statement) = as_json_insert(&rows, on_taken)
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

/// The PostgreSQL statement inserting `rows` from one json parameter;
/// `None` when some value has no faithful json spelling here.
fn as_json_insert<A: ActiveModelTrait>(rows: &[A], on_taken: OnTaken) -> Option<Statement> {
    let columns: Vec<_> = <A::Entity as EntityTrait>::Column::iter()
        .filter(|c| !matches!(rows[0].get(*c), ActiveValue::NotSet))
        .collect();
    let mut records = Vec::with_capacity(rows.len());
    for row in rows {
        let mut record = Map::with_capacity(columns.len());
        for column in &columns {
            let value = match row.get(*column) {
                ActiveValue::Set(v) | ActiveValue::Unchanged(v) => v,
                ActiveValue::NotSet => return None,
            };
            record.insert(column.as_str().to_owned(), json_of(&value)?);
        }
        records.push(Json::Object(record));
    }
    let table = quote_identifier(A::Entity::default().table_name());
    let names = columns
        .iter()
        .map(|c| quote_identifier(c.as_str()))
        .collect::<Vec<_>>()
        .join(", ");
    let conflict = match on_taken {
        OnTaken::Fail => "",
        OnTaken::Skip => " ON CONFLICT DO NOTHING",
    };
    let sql = format!(
        "INSERT INTO {table} ({names}) SELECT {names} FROM json_populate_recordset(NULL::{table}, $1::json){conflict}"
    );
    let body = Json::Array(records).to_string();
    Some(Statement::from_sql_and_values(
        DbBackend::Postgres,
        sql,
        [Value::String(Some(body))],
    ))
}

/// `value` as json that PostgreSQL reads back as the same column value.
fn json_of(value: &Value) -> Option<Json> {
    Some(match value {
        Value::Bool(v) => v.map_or(Json::Null, Json::Bool),
        Value::SmallInt(v) => v.map_or(Json::Null, Json::from),
        Value::Int(v) => v.map_or(Json::Null, Json::from),
        Value::BigInt(v) => v.map_or(Json::Null, Json::from),
        // json has no NaN or infinity.
        Value::Double(v) => match v {
            None => Json::Null,
            Some(x) if x.is_finite() => Json::from(*x),
            Some(_) => return None,
        },
        Value::String(v) => v.clone().map_or(Json::Null, Json::String),
        Value::Uuid(v) => v.map_or(Json::Null, |id| Json::String(id.to_string())),
        Value::ChronoDateTimeUtc(v) => v.map_or(Json::Null, |at| {
            Json::String(at.to_rfc3339_opts(SecondsFormat::Micros, true))
        }),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    #[test]
    fn values_keep_their_meaning_in_json() {
        let at = Utc.with_ymd_and_hms(2026, 12, 5, 15, 4, 5).unwrap()
            + chrono::Duration::microseconds(123_456);
        assert_eq!(
            json_of(&Value::ChronoDateTimeUtc(Some(at))),
            Some(Json::String("2026-12-05T15:04:05.123456Z".into()))
        );
        assert_eq!(json_of(&Value::Int(None)), Some(Json::Null));
        assert_eq!(json_of(&Value::BigInt(Some(-7))), Some(Json::from(-7)));
        assert_eq!(
            json_of(&Value::String(Some("a\"b".into()))),
            Some(Json::String("a\"b".into()))
        );
        // No faithful spelling: the caller falls back to a plain insert.
        assert_eq!(json_of(&Value::Double(Some(f64::NAN))), None);
        assert_eq!(json_of(&Value::Bytes(Some(vec![1]))), None);
    }
}
