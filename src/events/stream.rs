//! One subscriber's view of the event log: replay from a cursor, then live,
//! with no gap and no duplicate at the seam, catching up from the table
//! whenever the live channel left it behind.

use std::{collections::VecDeque, sync::Arc};

use futures_util::{Stream, stream};
use sea_orm::DatabaseConnection;
use tokio::sync::{broadcast, watch};

use super::{EventBus, StockEvent, events_after};

/// How many events one read of the table replays.
const REPLAY_PAGE: u64 = 500;

/// Which events a subscriber wants; `None` wants all.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventFilter {
    pub product_ids: Option<Vec<i32>>,
    pub warehouse_ids: Option<Vec<i32>>,
}

impl EventFilter {
    pub fn matches(&self, event: &StockEvent) -> bool {
        let wanted =
            |ids: &Option<Vec<i32>>, id: i32| ids.as_ref().is_none_or(|ids| ids.contains(&id));
        wanted(&self.product_ids, event.movement.product_id)
            && wanted(&self.warehouse_ids, event.movement.warehouse_id)
    }
}

/// Why a stream of events ended. It is the stream's last item, so a client
/// always learns that and where it stopped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamEnd {
    pub reason: String,
    /// The id of the last event delivered (or the cursor it started after):
    /// pass it as `after` to resume.
    pub last_delivered: Option<i64>,
}

struct Subscriber {
    db: DatabaseConnection,
    filter: EventFilter,
    live: broadcast::Receiver<Arc<StockEvent>>,
    closing: watch::Receiver<bool>,
    /// Everything up to this id has been delivered or filtered out.
    last: i64,
    delivered_any: bool,
    started_after: Option<i64>,
    /// Whether the table holds events this subscriber has not seen that the
    /// live channel will not bring: at the start of a replay, and after
    /// falling behind the channel.
    catching_up: bool,
    ready: VecDeque<Arc<StockEvent>>,
    done: bool,
}

/// Events after `after` (or, without it, from now on) that pass `filter`,
/// in id order.
pub fn stock_events(
    bus: &EventBus,
    db: DatabaseConnection,
    filter: EventFilter,
    after: Option<i64>,
) -> impl Stream<Item = Result<Arc<StockEvent>, StreamEnd>> + Send + use<> {
    // Subscribed before the starting point is fixed: whatever is published
    // from here on is in the channel, whatever came before is in the table.
    let live = bus.subscribe();
    let subscriber = Subscriber {
        db,
        filter,
        live,
        closing: bus.closing(),
        last: after.unwrap_or_else(|| bus.last_published()),
        delivered_any: false,
        started_after: after,
        catching_up: after.is_some(),
        ready: VecDeque::new(),
        done: false,
    };
    stream::unfold(subscriber, |mut subscriber| async move {
        if subscriber.done {
            return None;
        }
        let item = subscriber.next().await;
        subscriber.done = item.is_err();
        Some((item, subscriber))
    })
}

impl Subscriber {
    async fn next(&mut self) -> Result<Arc<StockEvent>, StreamEnd> {
        loop {
            while let Some(event) = self.ready.pop_front() {
                let id = event.movement.id;
                if id <= self.last {
                    continue; // seen already: the seam between table and channel
                }
                self.last = id;
                if self.filter.matches(&event) {
                    self.delivered_any = true;
                    return Ok(event);
                }
            }
            if self.catching_up {
                let page = events_after(&self.db, self.last, &self.filter, REPLAY_PAGE)
                    .await
                    .map_err(|e| {
                        tracing::warn!(error = %e, "a subscription could not read the event log");
                        self.end("the event log could not be read")
                    })?;
                self.catching_up = page.len() as u64 == REPLAY_PAGE;
                self.ready.extend(page.into_iter().map(Arc::new));
                continue;
            }
            let closing = &mut self.closing;
            let received = tokio::select! {
                received = self.live.recv() => Some(received),
                _ = async { let _ = closing.wait_for(|closed| *closed).await; } => None,
            };
            let Some(received) = received else {
                return Err(self.end("the server is shutting down"));
            };
            match received {
                Ok(event) => self.ready.push_back(event),
                // Behind the channel: what was dropped is in the table.
                Err(broadcast::error::RecvError::Lagged(_)) => self.catching_up = true,
                Err(broadcast::error::RecvError::Closed) => {
                    return Err(self.end("the server stopped publishing events"));
                }
            }
        }
    }

    fn end(&self, reason: &str) -> StreamEnd {
        StreamEnd {
            reason: reason.to_owned(),
            last_delivered: if self.delivered_any {
                Some(self.last)
            } else {
                self.started_after
            },
        }
    }
}
