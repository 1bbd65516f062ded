//! Checking the API key of every request without one database read each.
//!
//! Requests that arrive while a lookup is in flight share the next lookup,
//! whatever keys they carry: it reads every key its requests carry in one
//! statement. That lookup starts only after every request sharing it has
//! arrived, so each answer is as fresh as a lookup made for that request
//! alone: a key revoked before a request arrives is refused. Under a flash
//! sale a thousand checkouts cost one indexed read per round trip instead of
//! one each, and so do checkouts spread over many keys (a storefront each,
//! say), where rounds of their own would cost a read per key per round trip:
//! with 50 keys that was 5,500 reads a second and a third of the holds.
//!
//! A key found valid is then taken as valid for a while (one second by
//! default, `STOCKROUTE_KEY_CACHE_TTL`) without a lookup: a revoked key
//! stops working within that time instead of at once. The rounds cost
//! every request a wait and a wake-up, and PostgreSQL a transaction per
//! ~20 requests; taking the key from memory gave the flash sale ~10 % more
//! holds a second (README, "API keys and roles"). Unknown, revoked and
//! malformed keys are never remembered: each is looked up every time, and
//! a key created a moment ago works at once.
//!
//! Rounds run one after another, so a lookup that never answers (its
//! connection went into a network that drops everything, which TCP gives
//! up on only after ~15 minutes) would hold every later request. Each
//! lookup is therefore bounded by the request deadline: its round is
//! answered UNAVAILABLE (cause `deadline`) and the next round starts.

use std::{
    collections::{HashMap, HashSet},
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use sea_orm::{DatabaseConnection, DbErr};
use tokio::sync::watch;

use crate::db::Outage;

use super::{
    AuthError, Caller,
    api_keys::{Refusal, caller_for, find_by_hashes, hash, secret_of},
};

/// What one lookup found: for each key hash of its round, the caller the
/// key makes, made once and shared by every request of the round that
/// carries it (a clone costs a reference count, where the key's row cost
/// four strings each).
type Found = Result<Arc<HashMap<String, Result<Caller, Refusal>>>, LookupFailure>;

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
    rounds: Arc<Mutex<Rounds>>,
    /// The longest one lookup may take.
    deadline: Duration,
    census: Arc<Counts>,
    /// Valid keys found lately, when they may be taken from memory.
    remembered: Option<Arc<Remembered>>,
}

/// The callers of valid keys, each with when its key was found valid.
struct Remembered {
    for_how_long: Duration,
    callers: Mutex<HashMap<String, (Caller, Instant)>>,
}

impl Remembered {
    fn recall(&self, key_hash: &str) -> Option<Caller> {
        let callers = self.callers.lock().expect("remembered keys lock");
        let (caller, found_at) = callers.get(key_hash)?;
        (found_at.elapsed() < self.for_how_long).then(|| caller.clone())
    }

    fn note(&self, key_hash: &str, caller: &Caller, found_at: Instant) {
        // Once per key and TTL: the copy of the hash costs nothing worth
        // saving.
        self.callers
            .lock()
            .expect("remembered keys lock")
            .insert(key_hash.to_owned(), (caller.clone(), found_at));
    }
}

/// The lookups under way: the round still taking requests, if any, and
/// whether a task is looking keys up (it takes that round when its lookup
/// is done, and stops when there is none).
#[derive(Default)]
struct Rounds {
    gathering: Option<Round>,
    looking: bool,
}

/// A round not yet looked up: the key hashes its requests carry, and where
/// the answer goes.
struct Round {
    keys: HashSet<String>,
    answer: watch::Sender<Option<Found>>,
}

#[derive(Default)]
struct Counts {
    lookups: AtomicU64,
    keys: AtomicU64,
}

/// How many lookups the key checks have made, and how many keys they read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KeyCensus {
    pub lookups: u64,
    pub keys: u64,
}

impl KeyChecks {
    /// Checks keys against `db`, each lookup within `deadline` (a request
    /// waits for at most two: the one in flight when it came, then its own).
    pub fn new(db: DatabaseConnection, deadline: Duration) -> Self {
        KeyChecks {
            db,
            rounds: Arc::default(),
            deadline,
            census: Arc::default(),
            remembered: None,
        }
    }

    /// Takes a key found valid as valid for `ttl` without another lookup;
    /// `None`: every request's key is looked up.
    pub fn remembering_for(mut self, ttl: Option<Duration>) -> Self {
        self.remembered = ttl.map(|for_how_long| {
            Arc::new(Remembered {
                for_how_long,
                callers: Mutex::default(),
            })
        });
        self
    }

    /// The lookups made since start.
    pub fn census(&self) -> KeyCensus {
        KeyCensus {
            lookups: self.census.lookups.load(Ordering::Relaxed),
            keys: self.census.keys.load(Ordering::Relaxed),
        }
    }

    /// The caller an `Authorization` header value (or its absence) makes.
    pub async fn authenticate(&self, authorization: Option<&str>) -> Result<Caller, AuthError> {
        let Some(header) = authorization else {
            return Ok(Caller::public());
        };
        let key_hash = hash(secret_of(header)?);
        if let Some(caller) = self.remembered.as_ref().and_then(|r| r.recall(&key_hash)) {
            return Ok(caller);
        }
        // Taken before the lookup, so the time a key is remembered never
        // runs past what `ttl` allows after a revocation the lookup missed.
        let asked_at = Instant::now();
        let mut answer = self.join(&key_hash);
        let found = answer
            .wait_for(Option::is_some)
            .await
            .map_err(|_| DbErr::Custom("the key lookup stopped".to_owned()))?
            .clone()
            .expect("waited for an answer");
        match found {
            Ok(callers) => match callers.get(&key_hash) {
                Some(Ok(caller)) => {
                    if let Some(remembered) = &self.remembered {
                        remembered.note(&key_hash, caller, asked_at);
                    }
                    Ok(caller.clone())
                }
                Some(Err(refusal)) => Err((*refusal).into()),
                None => Err(DbErr::Custom("the key was not looked up".to_owned()).into()),
            },
            Err(LookupFailure::TimedOut) => Err(AuthError::Unavailable(Outage::Deadline)),
            // The error is shared by every request of the round; what it
            // means for them is kept, not only its text.
            Err(LookupFailure::Database(e)) => Err(match crate::db::unavailability(&e) {
                Some(cause) => AuthError::Unavailable(cause),
                None => AuthError::Database(DbErr::Custom(e.to_string())),
            }),
        }
    }

    /// Joins the round that has not started yet with `key_hash`, opening
    /// one when there is none, and starts the task that looks rounds up
    /// when none runs.
    fn join(&self, key_hash: &str) -> watch::Receiver<Option<Found>> {
        let mut rounds = self.rounds.lock().expect("key rounds lock");
        let round = rounds.gathering.get_or_insert_with(|| Round {
            keys: HashSet::new(),
            answer: watch::channel(None).0,
        });
        // Copied only by the first request of the round with this key.
        if !round.keys.contains(key_hash) {
            round.keys.insert(key_hash.to_owned());
        }
        let answer = round.answer.subscribe();
        if !rounds.looking {
            rounds.looking = true;
            // Spawned, not awaited: a caller that hangs up must not strand
            // the others of its round.
            tokio::spawn(self.clone().look_up());
        }
        answer
    }

    /// Looks up one round after another until no request waits.
    async fn look_up(self) {
        loop {
            let round = {
                let mut rounds = self.rounds.lock().expect("key rounds lock");
                let Some(round) = rounds.gathering.take() else {
                    rounds.looking = false;
                    return;
                };
                round
            };
            let keys: Vec<String> = round.keys.into_iter().collect();
            self.census.lookups.fetch_add(1, Ordering::Relaxed);
            self.census
                .keys
                .fetch_add(keys.len() as u64, Ordering::Relaxed);
            let found =
                match tokio::time::timeout(self.deadline, find_by_hashes(&self.db, keys.clone()))
                    .await
                {
                    Ok(Ok(rows)) => {
                        let mut rows: HashMap<String, _> = rows
                            .into_iter()
                            .map(|row| (row.key_hash.clone(), row))
                            .collect();
                        Ok(Arc::new(
                            keys.into_iter()
                                .map(|key| {
                                    let caller = caller_for(rows.remove(&key));
                                    (key, caller)
                                })
                                .collect(),
                        ))
                    }
                    Ok(Err(e)) => Err(LookupFailure::Database(Arc::new(e))),
                    Err(_) => Err(LookupFailure::TimedOut),
                };
            round.answer.send_replace(Some(found));
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
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("keys.db").display())
            .parse()
            .unwrap();
        db::migrate(&url, db::PoolSettings::default())
            .await
            .unwrap();
        let db = db::connect(&url, db::PoolSettings::default())
            .await
            .unwrap();
        (db, dir)
    }

    /// A valid key is taken from memory for the time given, so a key
    /// revoked meanwhile works until that time has passed, and not after.
    #[tokio::test]
    async fn a_valid_key_is_remembered_for_its_time_and_a_revoked_one_stops_after_it() {
        const TTL: Duration = Duration::from_millis(400);
        let (db, _dir) = database().await;
        let key = create_key(&db, KeyRole::Checkout, Some("till".into()))
            .await
            .unwrap();
        let checks = KeyChecks::new(db.clone(), DEADLINE).remembering_for(Some(TTL));
        let header = format!("Bearer {}", key.secret);
        let first = checks.authenticate(Some(&header)).await.unwrap();
        assert_eq!(first.role, Role::Checkout);
        assert_eq!(checks.census().lookups, 1);
        let started = Instant::now();
        revoke_key(&db, "till").await.unwrap();
        let remembered = checks.authenticate(Some(&header)).await;
        if started.elapsed() < TTL {
            assert_eq!(remembered.unwrap().role, Role::Checkout);
            assert_eq!(checks.census().lookups, 1, "no lookup within the time");
        }
        tokio::time::sleep(TTL).await;
        assert!(matches!(
            checks.authenticate(Some(&header)).await,
            Err(AuthError::RevokedKey)
        ));
        assert_eq!(checks.census().lookups, 2);
    }

    /// Refusals are not remembered: an unknown key is looked up each time,
    /// so a key created after it was tried works at once.
    #[tokio::test]
    async fn refused_keys_are_looked_up_every_time() {
        let (db, _dir) = database().await;
        let checks = KeyChecks::new(db, DEADLINE).remembering_for(Some(Duration::from_secs(3600)));
        for _ in 0..3 {
            assert!(matches!(
                checks.authenticate(Some("Bearer sr_unknown")).await,
                Err(AuthError::UnknownKey)
            ));
        }
        assert_eq!(checks.census().lookups, 3);
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
        let rounds = checks.rounds.lock().unwrap();
        assert!(
            rounds.gathering.is_none() && !rounds.looking,
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

    /// Requests that arrive together share one lookup whatever keys they
    /// carry, and each gets what its own key makes: its role and name, or
    /// the refusal of an unknown or a revoked key.
    #[tokio::test]
    async fn requests_with_many_keys_share_one_lookup_and_each_gets_its_own_answer() {
        let (db, _dir) = database().await;
        let mut headers = Vec::new();
        for n in 0..20 {
            let role = if n % 2 == 0 {
                KeyRole::Checkout
            } else {
                KeyRole::Admin
            };
            let key = create_key(&db, role, Some(format!("shop-{n}")))
                .await
                .unwrap();
            headers.push((format!("Bearer {}", key.secret), Some((role, n))));
        }
        let revoked = create_key(&db, KeyRole::Checkout, Some("closed".into()))
            .await
            .unwrap();
        revoke_key(&db, "closed").await.unwrap();
        headers.push((format!("Bearer {}", revoked.secret), None));
        headers.push(("Bearer sr_unknown".to_owned(), None));
        let checks = KeyChecks::new(db, DEADLINE);

        // Five requests per key, all arriving before the first lookup runs
        // (this runtime has one thread: the lookup waits for them).
        let requests: Vec<_> = (0..5).flat_map(|_| headers.iter()).collect();
        let answers = futures_util::future::join_all(
            requests
                .iter()
                .map(|(header, _)| checks.authenticate(Some(header.as_str()))),
        )
        .await;
        for ((header, expected), answer) in requests.iter().zip(answers) {
            match (expected, answer) {
                (Some((role, n)), Ok(caller)) => {
                    assert_eq!(caller.role, Role::from(*role), "{header}");
                    assert_eq!(
                        caller.key_name.as_deref(),
                        Some(format!("shop-{n}").as_str())
                    );
                }
                (None, Err(AuthError::RevokedKey)) => assert!(header.contains(&revoked.secret)),
                (None, Err(AuthError::UnknownKey)) => assert!(header.ends_with("sr_unknown")),
                (expected, answer) => panic!("{header}: {answer:?}, expected {expected:?}"),
            }
        }
        assert_eq!(
            checks.census(),
            KeyCensus {
                lookups: 1,
                keys: 22
            },
            "one lookup read all 22 keys once"
        );
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
