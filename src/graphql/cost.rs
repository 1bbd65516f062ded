//! Query-cost budgets: what one client may ask of the service.
//!
//! Every query and mutation costs its complexity (each field 1, as the
//! complexity limit counts it), charged when it has been validated, before
//! it runs. Each API key, and the public role per client address, has a
//! bucket that holds up to `capacity` points and refills at `per_second`:
//! a request the bucket cannot pay is refused, THROTTLED, with the seconds
//! to wait until it could be paid, and runs nothing. Every response says
//! what it cost and what is left (`extensions.cost`, in the shape Shopify's
//! API uses), so a client can pace itself instead of being refused.

use std::{
    collections::HashMap,
    fmt,
    net::IpAddr,
    str::FromStr,
    sync::{Arc, Mutex},
    time::Instant,
};

use async_graphql::{
    ServerError, ValidationResult, Value,
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextValidation},
};

use crate::auth::{Caller, Role};

/// A bucket's size and how fast it refills.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Budget {
    pub capacity: f64,
    pub per_second: f64,
}

/// The budget of each role; `None` is unlimited.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Budgets {
    pub public: Option<Budget>,
    pub checkout: Option<Budget>,
    pub admin: Option<Budget>,
}

impl Budgets {
    /// No limits: for benchmarks that measure the service, not a client.
    pub const OFF: Budgets = Budgets {
        public: None,
        checkout: None,
        admin: None,
    };

    fn of(&self, role: Role) -> Option<Budget> {
        match role {
            Role::Public => self.public,
            Role::Checkout => self.checkout,
            Role::Admin => self.admin,
        }
    }
}

impl Default for Budgets {
    /// Far above what one storefront page, checkout or dashboard needs (a
    /// full 1,000-point query every 50 ms from one address), yet one client
    /// cannot take the whole service.
    fn default() -> Self {
        Budgets {
            public: Some(Budget {
                capacity: 20_000.0,
                per_second: 20_000.0,
            }),
            checkout: Some(Budget {
                capacity: 200_000.0,
                per_second: 100_000.0,
            }),
            admin: Some(Budget {
                capacity: 200_000.0,
                per_second: 100_000.0,
            }),
        }
    }
}

/// `off`, or `role=capacity/per_second` for any of public, checkout, admin
/// (comma separated; roles not named keep their default).
impl FromStr for Budgets {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let raw = raw.trim();
        if raw.eq_ignore_ascii_case("off") {
            return Ok(Budgets::OFF);
        }
        let mut budgets = Budgets::default();
        for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let bad = || {
                format!(
                    "`{part}` is not role=capacity/per_second (e.g. public=20000/20000) or role=off"
                )
            };
            let (role, limit) = part.split_once('=').ok_or_else(bad)?;
            let budget = if limit.trim().eq_ignore_ascii_case("off") {
                None
            } else {
                let (capacity, per_second) = limit.split_once('/').ok_or_else(bad)?;
                let capacity: f64 = capacity.trim().parse().map_err(|_| bad())?;
                let per_second: f64 = per_second.trim().parse().map_err(|_| bad())?;
                if !(capacity >= super::MAX_COMPLEXITY as f64
                    && per_second > 0.0
                    && capacity.is_finite()
                    && per_second.is_finite())
                {
                    return Err(format!(
                        "`{part}`: the capacity must be at least {} (what one query may cost) and \
                         the rate above 0",
                        super::MAX_COMPLEXITY
                    ));
                }
                Some(Budget {
                    capacity,
                    per_second,
                })
            };
            match role.trim() {
                "public" => budgets.public = budget,
                "checkout" => budgets.checkout = budget,
                "admin" => budgets.admin = budget,
                other => {
                    return Err(format!(
                        "`{other}` is not a role: public, checkout or admin"
                    ));
                }
            }
        }
        Ok(budgets)
    }
}

/// Who pays: an API key, or the public role at one address.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Account {
    Key(Arc<str>),
    Public(Option<IpAddr>),
}

impl fmt::Display for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Account::Key(name) => write!(f, "key {name}"),
            Account::Public(Some(address)) => write!(f, "public {address}"),
            Account::Public(None) => f.write_str("public"),
        }
    }
}

/// What a request cost and what its account has left: `extensions.cost`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Spent {
    pub requested: usize,
    pub budget: Budget,
    pub left: f64,
}

impl Spent {
    /// `extensions.cost`; `None` when the account has no limit.
    pub fn to_value(self) -> Option<Value> {
        if !self.budget.capacity.is_finite() {
            return None;
        }
        let mut status = async_graphql::indexmap::IndexMap::new();
        status.insert(
            async_graphql::Name::new("maximumAvailable"),
            Value::from(self.budget.capacity.floor() as u64),
        );
        status.insert(
            async_graphql::Name::new("currentlyAvailable"),
            Value::from(self.left.max(0.0).floor() as u64),
        );
        status.insert(
            async_graphql::Name::new("restoreRate"),
            Value::from(self.budget.per_second.floor() as u64),
        );
        let mut cost = async_graphql::indexmap::IndexMap::new();
        cost.insert(
            async_graphql::Name::new("requestedQueryCost"),
            Value::from(self.requested as u64),
        );
        cost.insert(
            async_graphql::Name::new("throttleStatus"),
            Value::Object(status),
        );
        Some(Value::Object(cost))
    }
}

/// Put in a request's data by the pipeline: who pays for it, and where
/// the charge is told back.
#[derive(Clone)]
pub struct Spender {
    account: Account,
    role: Role,
    spent: Arc<Mutex<Option<Spent>>>,
}

impl Spender {
    pub fn new(caller: &Caller, address: Option<IpAddr>) -> Self {
        let account = match &caller.key_name {
            Some(name) => Account::Key(name.clone()),
            None => Account::Public(address),
        };
        Spender {
            account,
            role: caller.role,
            spent: Arc::default(),
        }
    }

    /// What the request was charged, once validated.
    pub fn spent(&self) -> Option<Spent> {
        *self.spent.lock().expect("spent")
    }
}

struct Bucket {
    left: f64,
    at: Instant,
}

/// The buckets of every account. Cheap to clone; register it on the schema.
#[derive(Clone)]
pub struct CostBudgets {
    budgets: Budgets,
    buckets: Arc<Mutex<HashMap<Account, Bucket>>>,
}

impl CostBudgets {
    pub fn new(budgets: Budgets) -> Self {
        CostBudgets {
            budgets,
            buckets: Arc::default(),
        }
    }

    /// Takes `cost` from the account's bucket: what is left, or the seconds
    /// until it could be paid.
    fn charge(&self, spender: &Spender, cost: usize, now: Instant) -> Result<Spent, (Spent, f64)> {
        let Some(budget) = self.budgets.of(spender.role) else {
            let unlimited = Budget {
                capacity: f64::INFINITY,
                per_second: f64::INFINITY,
            };
            return Ok(Spent {
                requested: cost,
                budget: unlimited,
                left: f64::INFINITY,
            });
        };
        let mut buckets = self.buckets.lock().expect("cost buckets");
        // Full buckets carry no information: forget them, so that the map
        // stays as small as the set of clients spending right now.
        if buckets.len() > 10_000 {
            buckets.retain(|_, b| {
                b.left + now.duration_since(b.at).as_secs_f64() * budget.per_second
                    < budget.capacity
            });
        }
        let bucket = buckets.entry(spender.account.clone()).or_insert(Bucket {
            left: budget.capacity,
            at: now,
        });
        let refilled = now.duration_since(bucket.at).as_secs_f64() * budget.per_second;
        bucket.left = (bucket.left + refilled).min(budget.capacity);
        bucket.at = now;
        let cost_points = cost as f64;
        if cost_points <= bucket.left {
            bucket.left -= cost_points;
            Ok(Spent {
                requested: cost,
                budget,
                left: bucket.left,
            })
        } else {
            let wait = (cost_points.min(budget.capacity) - bucket.left) / budget.per_second;
            Err((
                Spent {
                    requested: cost,
                    budget,
                    left: bucket.left,
                },
                wait,
            ))
        }
    }
}

impl ExtensionFactory for CostBudgets {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(Charge(self.clone()))
    }
}

struct Charge(CostBudgets);

#[async_graphql::async_trait::async_trait]
impl Extension for Charge {
    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let result = next.run(ctx).await?;
        let Some(spender) = ctx.data_opt::<Spender>() else {
            return Ok(result);
        };
        let charged = self.0.charge(spender, result.complexity, Instant::now());
        let spent = match charged {
            Ok(spent) | Err((spent, _)) => spent,
        };
        *spender.spent.lock().expect("spent") = Some(spent);
        match charged {
            Ok(_) => Ok(result),
            Err((_, wait)) => {
                let seconds = (wait * 10.0).ceil() / 10.0;
                let mut error = ServerError::new(
                    format!(
                        "{} is over its query-cost budget: this request costs {} points, {} are \
                         left; retry in {seconds:.1} s",
                        spender.account,
                        result.complexity,
                        spent.left.floor() as u64,
                    ),
                    None,
                );
                let extensions = error.extensions.get_or_insert_with(Default::default);
                extensions.set("code", "THROTTLED");
                extensions.set("retryAfterSeconds", seconds);
                Err(vec![error])
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn spender(key: Option<&str>, role: Role) -> Spender {
        let caller = Caller {
            role,
            key_name: key.map(Into::into),
        };
        Spender::new(&caller, Some("10.0.0.1".parse().unwrap()))
    }

    #[test]
    fn a_bucket_pays_until_empty_then_says_how_long_to_wait_and_refills() {
        let budgets = CostBudgets::new(Budgets {
            public: Some(Budget {
                capacity: 100.0,
                per_second: 10.0,
            }),
            ..Budgets::OFF
        });
        let shopper = spender(None, Role::Public);
        let start = Instant::now();
        for left in [70.0, 40.0, 10.0] {
            assert_eq!(budgets.charge(&shopper, 30, start).unwrap().left, left);
        }
        let (spent, wait) = budgets.charge(&shopper, 30, start).unwrap_err();
        assert_eq!(spent.left, 10.0);
        assert!((wait - 2.0).abs() < 1e-9, "20 points at 10/s: {wait}");
        // Two seconds later it can pay again.
        assert!(
            budgets
                .charge(&shopper, 30, start + Duration::from_secs(2))
                .is_ok()
        );
        // Another address has its own bucket; keys are not limited here.
        let other = Spender::new(&Caller::public(), Some("10.0.0.2".parse().unwrap()));
        assert!(budgets.charge(&other, 30, start).is_ok());
        assert!(
            budgets
                .charge(&spender(Some("till"), Role::Checkout), 5_000, start)
                .is_ok()
        );
    }

    #[test]
    fn budgets_are_configured_per_role_or_off() {
        let budgets: Budgets = "public=1000/10, admin=off".parse().unwrap();
        assert_eq!(
            budgets.public,
            Some(Budget {
                capacity: 1000.0,
                per_second: 10.0
            })
        );
        assert_eq!(budgets.admin, None);
        assert_eq!(budgets.checkout, Budgets::default().checkout);
        assert_eq!("off".parse::<Budgets>().unwrap(), Budgets::OFF);
        assert!("public=100".parse::<Budgets>().is_err());
        assert!("shop=1/1".parse::<Budgets>().is_err());
        assert!(
            "public=999/1".parse::<Budgets>().is_err(),
            "below one query's cost"
        );
        assert!("public=1000/0".parse::<Budgets>().is_err());
    }
}
