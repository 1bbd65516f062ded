//! Checking the API key of every request without one database read each.
//!
//! Requests that carry the same key and arrive while a lookup of it is in
//! flight share the next lookup. That lookup starts only after every request
//! sharing it has arrived, so each answer is as fresh as a lookup made for
//! that request alone: a key revoked before a request arrives is refused.
//! Under a flash sale a thousand checkouts carry one key; they cost one
//! indexed read per round trip instead of one each.
//!
//! A key's rounds run one after another, so a lookup that never answers
//! (its connection went into a network that drops everything, which TCP
//! gives up on only after ~15 minutes) would hold every later request of
//! the key. Each lookup is therefore bounded by the request deadline: its
//! round is answered UNAVAILABLE (cause `deadline`) and the next round
//! starts.

use std::{
    collections::{HashMap, hash_map::Entry},
    sync::{Arc, Mutex},
    time::Duration,
};

use sea_orm::{DatabaseConnection, DbErr};
use tokio::sync::watch;

use crate::db::Outage;

use super::{
    AuthError, Caller,
    api_keys::{Refusal, caller_for, find_by_hash, hash, secret_of},
};

/// What one lookup found: the caller the key makes, made once and shared by
/// every request of its round (a clone costs a reference count, where the
/// key's row cost four strings each).
type Found = Result<Result<Caller, Refusal>, LookupFailure>;

/// Why a lookup found nothing, shared by every request of its round.
#[derive(Clone)]
enum LookupFailure {
    Database(Arc<DbErr>),
    /// No answer within the deadline.
    TimedOut,
}

/// Resolves `Authorization` header values to callers. Cheap to clone.
#[derive(Clone)]
pub struct KeyChecks {
    db: DatabaseConnection,
    rounds: Arc<Mutex<HashMap<String, Rounds>>>,
    /// The longest one lookup may take.
    deadline: Duration,
}

/// The lookups of one key: the round still taking requests, if any. Its
/// entry exists while a lookup of the key runs.
#[derive(Default)]
struct Rounds {
    gathering: Option<watch::Sender<Option<Found>>>,
}

impl KeyChecks {
    /// Checks keys against `db`, each lookup within `deadline` (a request
    /// waits for at most two: the one in flight when it came, then its own).
    pub fn new(db: DatabaseConnection, deadline: Duration) -> Self {
        KeyChecks {
            db,
            rounds: Arc::default(),
            deadline,
        }
    }

    /// The caller an `Authorization` header value (or its absence) makes.
    pub async fn authenticate(&self, authorization: Option<&str>) -> Result<Caller, AuthError> {
        let Some(header) = authorization else {
            return Ok(Caller::public());
        };
        let key_hash = hash(secret_of(header)?);
        let mut answer = self.join(key_hash);
        let found = answer
            .wait_for(Option::is_some)
            .await
            .map_err(|_| DbErr::Custom("the key lookup stopped".to_owned()))?
            .clone()
            .expect("waited for an answer");
        match found {
            Ok(caller) => caller.map_err(AuthError::from),
            Err(LookupFailure::TimedOut) => Err(AuthError::Unavailable(Outage::Deadline)),
            // The error is shared by every request of the round; what it
            // means for them is kept, not only its text.
            Err(LookupFailure::Database(e)) => Err(match crate::db::unavailability(&e) {
                Some(cause) => AuthError::Unavailable(cause),
                None => AuthError::Database(DbErr::Custom(e.to_string())),
            }),
        }
    }

    /// Joins the round of `key_hash` that has not started yet, opening one
    /// (and the task that looks it up) when there is none.
    fn join(&self, key_hash: String) -> watch::Receiver<Option<Found>> {
        let mut rounds = self.rounds.lock().expect("key rounds lock");
        match rounds.entry(key_hash) {
            Entry::Occupied(mut entry) => {
                let gathering = entry
                    .get_mut()
                    .gathering
                    .get_or_insert_with(|| watch::channel(None).0);
                gathering.subscribe()
            }
            Entry::Vacant(entry) => {
                let (round, answer) = watch::channel(None);
                let key_hash = entry.key().clone();
                entry.insert(Rounds {
                    gathering: Some(round),
                });
                // Spawned, not awaited: a caller that hangs up must not
                // strand the others of its round.
                tokio::spawn(self.clone().look_up(key_hash));
                answer
            }
        }
    }

    /// Looks `key_hash` up once per round until no request waits for it.
    async fn look_up(self, key_hash: String) {
        loop {
            let round = {
                let mut rounds = self.rounds.lock().expect("key rounds lock");
                let Some(round) = rounds.get_mut(&key_hash).and_then(|r| r.gathering.take()) else {
                    rounds.remove(&key_hash);
                    return;
                };
                round
            };
            let found =
                match tokio::time::timeout(self.deadline, find_by_hash(&self.db, key_hash.clone()))
                    .await
                {
                    Ok(found) => found
                        .map(caller_for)
                        .map_err(|e| LookupFailure::Database(Arc::new(e))),
                    Err(_) => Err(LookupFailure::TimedOut),
                };
            round.send_replace(Some(found));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        auth::{KeyRole, Role, create_key, revoke_key},
        db,
    };

    const DEADLINE: Duration = Duration::from_secs(15);

    /// A migrated SQLite database in a file that lives as long as the test.
    async fn database() -> (DatabaseConnection, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("keys.db").display());
        let db = db::connect(&url.parse().unwrap(), db::PoolSettings::default())
            .await
            .unwrap();
        db::migrate(&db).await.unwrap();
        (db, dir)
    }

    #[tokio::test]
    async fn concurrent_requests_with_one_key_share_lookups_and_all_get_the_caller() {
        let (db, _dir) = database().await;
        let key = create_key(&db, KeyRole::Checkout, Some("till".into()))
            .await
            .unwrap();
        let checks = KeyChecks::new(db, DEADLINE);
        let header = format!("Bearer {}", key.secret);
        let answers = futures_util::future::join_all(
            (0..200).map(|_| checks.authenticate(Some(header.as_str()))),
        )
        .await;
        for answer in answers {
            let caller = answer.unwrap();
            assert_eq!(caller.role, Role::Checkout);
            assert_eq!(caller.key_name.as_deref(), Some("till"));
        }
        assert!(
            checks.rounds.lock().unwrap().is_empty(),
            "no round outlives its requests"
        );
    }

    /// While other requests with the key keep lookups in flight all the
    /// time, a request that arrives after the key was revoked is refused: it
    /// never shares a lookup that began before it arrived.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_request_after_a_revocation_is_refused_while_lookups_are_in_flight() {
        let (db, _dir) = database().await;
        let checks = KeyChecks::new(db.clone(), DEADLINE);
        for attempt in 0..40 {
            let key = create_key(&db, KeyRole::Admin, None).await.unwrap();
            let header = format!("Bearer {}", key.secret);
            let busy = Arc::new(std::sync::atomic::AtomicBool::new(true));
            let background: Vec<_> = (0..16)
                .map(|_| {
                    let (checks, header, busy) = (checks.clone(), header.clone(), busy.clone());
                    tokio::spawn(async move {
                        while busy.load(std::sync::atomic::Ordering::Relaxed) {
                            let _ = checks.authenticate(Some(header.as_str())).await;
                        }
                    })
                })
                .collect();
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            revoke_key(&db, &key.record.name).await.unwrap();
            let after = checks.authenticate(Some(header.as_str())).await;
            busy.store(false, std::sync::atomic::Ordering::Relaxed);
            for task in background {
                task.await.unwrap();
            }
            assert!(
                matches!(after, Err(AuthError::RevokedKey)),
                "attempt {attempt}: {after:?}"
            );
        }
    }

    #[tokio::test]
    async fn unknown_and_malformed_keys_are_told_apart_and_no_key_is_public() {
        let (db, _dir) = database().await;
        let checks = KeyChecks::new(db, DEADLINE);
        assert!(matches!(
            checks.authenticate(Some("Bearer sr_nope")).await,
            Err(AuthError::UnknownKey)
        ));
        assert!(matches!(
            checks.authenticate(Some("Basic abc")).await,
            Err(AuthError::MalformedHeader)
        ));
        assert_eq!(checks.authenticate(None).await.unwrap().role, Role::Public);
    }
}
