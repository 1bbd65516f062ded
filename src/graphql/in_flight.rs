//! Load shedding per client: each API key (and each public client address)
//! may have so many queries and mutations running at once. One past it is
//! answered UNAVAILABLE at once (HTTP 503 with `Retry-After`), instead of
//! queueing for the database behind its own flood, so a client that floods
//! waits on itself and everyone else is served as before.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{Arc, Mutex},
};

use crate::auth::Caller;

/// The default: far above what one well-behaved client runs at once (a
/// flash sale's checkout service with 1,000 connections stays under it).
pub const DEFAULT_PER_CLIENT: usize = 4_096;

/// Who a limit is kept for.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
enum Client {
    Key(Arc<str>),
    Address(IpAddr),
    Unknown,
}

#[derive(Clone)]
pub struct InFlight {
    per_client: usize,
    running: Arc<Mutex<HashMap<Client, usize>>>,
}

/// One running operation; dropping it frees its place.
pub struct Slot {
    client: Client,
    running: Arc<Mutex<HashMap<Client, usize>>>,
}

impl InFlight {
    pub fn new(per_client: usize) -> Self {
        InFlight {
            per_client: per_client.max(1),
            running: Arc::default(),
        }
    }

    pub fn per_client(&self) -> usize {
        self.per_client
    }

    /// A place for one more operation of `caller`, calling from `address`;
    /// `None` when it already runs as many as it may.
    pub fn enter(&self, caller: &Caller, address: Option<IpAddr>) -> Option<Slot> {
        let client = match (&caller.key_name, address) {
            (Some(key), _) => Client::Key(key.clone()),
            (None, Some(address)) => Client::Address(address),
            (None, None) => Client::Unknown,
        };
        let mut running = self.lock();
        let count = running.entry(client.clone()).or_default();
        if *count >= self.per_client {
            return None;
        }
        *count += 1;
        Some(Slot {
            client,
            running: self.running.clone(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Client, usize>> {
        self.running
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut running = self
            .running
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(count) = running.get_mut(&self.client) {
            *count -= 1;
            if *count == 0 {
                running.remove(&self.client);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Role;

    fn key(name: &str) -> Caller {
        Caller {
            role: Role::Checkout,
            key_name: Some(name.into()),
        }
    }

    #[test]
    fn each_client_has_its_own_places_and_gets_them_back() {
        let limits = InFlight::new(2);
        let a1 = limits.enter(&key("a"), None).unwrap();
        let _a2 = limits.enter(&key("a"), None).unwrap();
        assert!(limits.enter(&key("a"), None).is_none(), "a is full");
        assert!(limits.enter(&key("b"), None).is_some(), "b is not a");
        let here: IpAddr = "10.0.0.1".parse().unwrap();
        assert!(limits.enter(&Caller::public(), Some(here)).is_some());
        drop(a1);
        assert!(limits.enter(&key("a"), None).is_some(), "a place came back");
    }
}
