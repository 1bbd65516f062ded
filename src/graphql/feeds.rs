//! Shared renderings of live subscriptions.
//!
//! async-graphql executes a subscription's selection set once per
//! subscriber per event. Dashboards tend to watch the same thing: ten
//! thousand of them on one `stockLevelChanged` would have every event
//! rendered ten thousand times, and that, not the delivery, is what made
//! fan-out slow and took the CPU from writers. So subscribers whose
//! subscriptions cannot differ (the same document, operation, variables
//! and role, watching from now on) share one *feed*: one execution whose
//! responses are broadcast to all of them.
//!
//! What each subscriber sees is what its own execution would have shown:
//! - it joins a feed between two responses, and every response after that
//!   point reaches it (the feed renders events in id order);
//! - if it falls behind the feed's bounded channel, it leaves the feed and
//!   continues on an execution of its own that replays from the table
//!   after the last event it received, so nothing is lost or repeated;
//! - a feed's last response (the coded error that ends a stream) reaches
//!   every subscriber that joined before it; one that joined just after it
//!   runs its own execution, which says for itself why it ends (or goes
//!   on); later ones start a new feed.
//!
//! Only `stockLevelChanged` without `after` is shared: a replay from a
//! cursor is each subscriber's own, and `availabilityChanged` begins with
//! the values at the moment each subscriber starts.

use std::{
    any::TypeId,
    collections::HashMap,
    sync::{
        Arc, Mutex, Weak,
        atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering},
    },
};

use async_graphql::{
    Data, Executor, Request, Response, Value,
    parser::types::{ExecutableDocument, OperationType, Selection},
};
use futures_util::{
    future,
    stream::{self, BoxStream, StreamExt},
};
use tokio::{sync::broadcast, task::JoinHandle};

use super::{
    documents,
    pipeline::{Pipeline, finish},
};
use crate::{
    auth::{Caller, Role},
    events::EventBus,
};

/// Where a websocket's client connects from: kept in its session for the
/// cost budget of public callers.
#[derive(Clone, Copy, Debug)]
pub struct ClientAddress(pub std::net::IpAddr);

/// Where a `stockLevelChanged` execution starts when its request has no
/// `after`: the movement id to replay after. Feeds start at a known point,
/// and a subscriber that left its feed resumes where it stopped.
#[derive(Clone, Copy, Debug)]
pub struct StartAfter(pub i64);

/// Set by `stockLevelChanged` to the id of each event just before the
/// event is rendered, so that a feed knows which event a response shows.
#[derive(Clone, Debug)]
pub struct RenderedEvent(Arc<AtomicI64>);

impl RenderedEvent {
    fn at(movement_id: i64) -> Self {
        RenderedEvent(Arc::new(AtomicI64::new(movement_id)))
    }

    pub fn set(&self, movement_id: i64) {
        self.0.store(movement_id, Ordering::Release);
    }

    fn get(&self) -> i64 {
        self.0.load(Ordering::Acquire)
    }
}

/// The executor behind the websocket: queries and mutations go through
/// the pipeline like any POST; shareable subscriptions go through a feed.
#[derive(Clone)]
pub struct SubscriptionExecutor {
    pipeline: Pipeline,
    feeds: Arc<Feeds>,
}

impl SubscriptionExecutor {
    /// `buffer` is how many responses a feed holds for its slowest
    /// subscriber before that subscriber goes its own way.
    pub fn new(pipeline: Pipeline, bus: EventBus, buffer: usize) -> Self {
        SubscriptionExecutor {
            pipeline,
            feeds: Arc::new(Feeds {
                bus,
                buffer: buffer.max(1),
                open: Mutex::default(),
                serials: AtomicU64::new(0),
            }),
        }
    }

    /// The feeds running now and the subscribers they serve.
    pub fn census(&self) -> FeedCensus {
        // Counted outside the lock: dropping the last hold on a feed takes it.
        let feeds: Vec<Arc<Feed>> = {
            let open = self.feeds.open.lock().expect("feeds");
            open.values()
                .filter_map(|(_, feed)| feed.upgrade())
                .collect()
        };
        FeedCensus {
            feeds: feeds.len(),
            subscribers: feeds.iter().map(|feed| feed.sender.receiver_count()).sum(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FeedCensus {
    pub feeds: usize,
    pub subscribers: usize,
}

impl Executor for SubscriptionExecutor {
    /// A request without a websocket session: run as public.
    async fn execute(&self, request: Request) -> Response {
        match self.pipeline.prepare(request) {
            Ok(operation) => {
                self.pipeline
                    .execute(operation, Caller::public(), None)
                    .await
            }
            Err(refused) => *refused,
        }
    }

    fn execute_stream(
        &self,
        request: Request,
        session: Option<Arc<Data>>,
    ) -> BoxStream<'static, Response> {
        let session = session.unwrap_or_default();
        let operation = match self.pipeline.prepare(request) {
            Ok(operation) => operation,
            Err(refused) => return stream::once(future::ready(*refused)).boxed(),
        };
        if operation.kind() != Some(OperationType::Subscription) {
            let pipeline = self.pipeline.clone();
            let caller = caller_of(&session);
            let address = session
                .get(&TypeId::of::<ClientAddress>())
                .and_then(|a| a.downcast_ref::<ClientAddress>())
                .map(|a| a.0);
            return stream::once(async move { pipeline.execute(operation, caller, address).await })
                .boxed();
        }
        self.pipeline.count_subscription();
        let document = operation.document().clone();
        let shared = shareable(&document.tree, operation.request());
        let request = operation.into_request();
        let operation_name = request.operation_name.clone();
        let finished = {
            let document = document.clone();
            move |response: Response| finish(response, &document.tree, operation_name.as_deref())
        };
        let schema = self.pipeline.schema().clone();
        if !shared {
            return schema
                .execute_stream_with_session_data(request, session)
                .map(finished)
                .boxed();
        }
        let key = FeedKey {
            role: caller_of(&session).role,
            query: request.query.clone(),
            operation_name: request.operation_name.clone(),
            variables: serde_json::to_string(&request.variables).unwrap_or_default(),
        };
        let execution: Execution = Arc::new(move |after, rendered| {
            let mut again = Request::new(request.query.clone())
                .variables(request.variables.clone())
                .data(StartAfter(after))
                .data(rendered);
            again.operation_name = request.operation_name.clone();
            again.set_parsed_query(document.tree.clone());
            schema
                .execute_stream_with_session_data(again, session.clone())
                .map(finished.clone())
                .boxed()
        });
        let joined = self
            .feeds
            .join(&key, None, &execution)
            .expect("joining from now on always finds or starts a feed");
        follow(self.feeds.clone(), key, joined, execution)
    }
}

/// What makes two subscriptions the same.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct FeedKey {
    role: Role,
    query: String,
    operation_name: Option<String>,
    variables: String,
}

/// Who opened the websocket: the caller its `connection_init` made.
fn caller_of(session: &Data) -> Caller {
    session
        .get(&TypeId::of::<Caller>())
        .and_then(|caller| caller.downcast_ref::<Caller>())
        .cloned()
        .unwrap_or_else(Caller::public)
}

/// Whether the request is one `stockLevelChanged` field watching from now
/// on: its only root selection, with no directive and no `after` (absent,
/// null, or a variable that is null or missing without a default).
fn shareable(document: &ExecutableDocument, request: &Request) -> bool {
    let variables = &request.variables;
    let Some(operation) = documents::operation(document, request.operation_name.as_deref()) else {
        return false;
    };
    if operation.ty != OperationType::Subscription || !operation.directives.is_empty() {
        return false;
    }
    let [selection] = operation.selection_set.node.items.as_slice() else {
        return false;
    };
    let Selection::Field(field) = &selection.node else {
        return false;
    };
    let field = &field.node;
    if field.name.node != "stockLevelChanged" || !field.directives.is_empty() {
        return false;
    }
    let Some(after) = field.get_argument("after") else {
        return true;
    };
    let after = after.node.clone().into_const_with(|variable| {
        let given = variables.get(&variable).cloned();
        let default = || {
            operation
                .variable_definitions
                .iter()
                .find(|definition| definition.node.name.node == variable)
                .and_then(|definition| definition.node.default_value.clone())
                .map(|value| value.node)
        };
        Ok::<_, ()>(given.or_else(default).unwrap_or(Value::Null))
    });
    after == Ok(Value::Null)
}

/// The feeds of one server, by what they render.
struct Feeds {
    bus: EventBus,
    buffer: usize,
    open: Mutex<HashMap<FeedKey, (u64, Weak<Feed>)>>,
    serials: AtomicU64,
}

/// What a feed sends.
enum Rendered {
    /// A response, and the id of the last event rendered by then.
    Response(i64, Box<Response>),
    /// The execution is over.
    End,
}

/// One execution shared by the subscribers holding it; it stops when the
/// last of them lets go.
struct Feed {
    sender: broadcast::Sender<Arc<Rendered>>,
    /// The id of the last event sent (or the one the feed started after).
    last_sent: Arc<AtomicI64>,
    /// Set, under the feeds' lock, before the last response is sent.
    ended: Arc<AtomicBool>,
    task: JoinHandle<()>,
    serial: u64,
    key: FeedKey,
    feeds: Weak<Feeds>,
}

impl Drop for Feed {
    fn drop(&mut self) {
        self.task.abort();
        if let Some(feeds) = self.feeds.upgrade() {
            forget(
                &mut feeds.open.lock().expect("feeds"),
                &self.key,
                self.serial,
            );
        }
    }
}

/// Removes a feed from the open ones, unless another has taken its place.
fn forget(open: &mut HashMap<FeedKey, (u64, Weak<Feed>)>, key: &FeedKey, serial: u64) {
    if open.get(key).is_some_and(|(current, _)| *current == serial) {
        open.remove(key);
    }
}

/// A subscriber's place in a feed: the feed, a receiver of every response
/// it sends from the moment of joining, and the id up to which the
/// subscriber has been served (responses up to it are not for it).
type Joined = (Arc<Feed>, broadcast::Receiver<Arc<Rendered>>, i64);

impl Feeds {
    /// Joins the running feed for `key`, or starts one with `execution`.
    /// A new subscriber (`served: None`) joins wherever the feed is. One
    /// coming back from its own execution, served up to `Some(id)`, joins
    /// only a feed that has sent nothing after `id` (else None: it must
    /// catch up first), or starts one right after `id`.
    fn join(
        self: &Arc<Self>,
        key: &FeedKey,
        served: Option<i64>,
        execution: &Execution,
    ) -> Option<Joined> {
        let mut open = self.open.lock().expect("feeds");
        // Dropped after the lock: if it is the last hold on a feed, the
        // feed's drop takes the lock itself.
        let mut stale = None;
        if let Some((_, weak)) = open.get(key)
            && let Some(feed) = weak.upgrade()
        {
            if !feed.ended.load(Ordering::Acquire) {
                // Subscribed first, read after; the feed notes an id before
                // it sends the response. So a response sent before the
                // subscription counts in what is read, and one not counted
                // yet reaches the receiver: nothing falls between the two.
                // (Read first, the feed could send between the read and
                // the subscription, and those responses were lost.)
                let receiver = feed.sender.subscribe();
                let joined_after = feed.last_sent.load(Ordering::Acquire);
                return match served {
                    Some(served) if served < joined_after => {
                        drop(receiver);
                        drop(open);
                        None
                    }
                    _ => Some((feed, receiver, served.unwrap_or(joined_after))),
                };
            }
            stale = Some(feed);
        }
        let start_after = served.unwrap_or_else(|| self.bus.last_published());
        let (sender, receiver) = broadcast::channel(self.buffer);
        let last_sent = Arc::new(AtomicI64::new(start_after));
        let ended = Arc::new(AtomicBool::new(false));
        let serial = self.serials.fetch_add(1, Ordering::Relaxed);
        let rendered = RenderedEvent::at(start_after);
        let responses = execution(start_after, rendered.clone());
        let task = tokio::spawn(render(
            responses,
            rendered,
            sender.clone(),
            last_sent.clone(),
            ended.clone(),
            Arc::downgrade(self),
            (key.clone(), serial),
        ));
        let feed = Arc::new(Feed {
            sender,
            last_sent,
            ended,
            task,
            serial,
            key: key.clone(),
            feeds: Arc::downgrade(self),
        });
        open.insert(key.clone(), (serial, Arc::downgrade(&feed)));
        drop(open);
        drop(stale);
        Some((feed, receiver, start_after))
    }
}

/// Runs a feed's execution and broadcasts its responses.
async fn render(
    mut responses: BoxStream<'static, Response>,
    rendered: RenderedEvent,
    sender: broadcast::Sender<Arc<Rendered>>,
    last_sent: Arc<AtomicI64>,
    ended: Arc<AtomicBool>,
    feeds: Weak<Feeds>,
    (key, serial): (FeedKey, u64),
) {
    while let Some(response) = responses.next().await {
        let id = rendered.get();
        // Noted before it is sent: see `Feeds::join`.
        last_sent.store(id, Ordering::Release);
        // Nobody listening is fine: subscribers come and go.
        let _ = sender.send(Arc::new(Rendered::Response(id, Box::new(response))));
    }
    // Marked ended under the lock joiners take: a subscriber either joined
    // before and receives the end, or finds the feed ended and starts
    // another.
    match feeds.upgrade() {
        Some(feeds) => {
            let mut open = feeds.open.lock().expect("feeds");
            ended.store(true, Ordering::Release);
            forget(&mut open, &key, serial);
        }
        None => ended.store(true, Ordering::Release),
    }
    let _ = sender.send(Arc::new(Rendered::End));
}

/// A subscriber's own response from its feed: the feed's very one when no
/// other subscriber is left to read it (the channel lets go of a message
/// once its last receiver has it), as with a feed of one subscriber; else
/// a copy. `None` for the end.
fn take(rendered: Arc<Rendered>) -> Option<Response> {
    match Arc::try_unwrap(rendered) {
        Ok(Rendered::Response(_, response)) => Some(*response),
        Ok(Rendered::End) => None,
        Err(shared) => match &*shared {
            Rendered::Response(_, response) => Some(copy(response)),
            Rendered::End => None,
        },
    }
}

/// A subscriber's own copy of a shared response (async-graphql's
/// `Response` is not `Clone`).
fn copy(response: &Response) -> Response {
    let mut copy = Response::new(response.data.clone())
        .cache_control(response.cache_control)
        .http_headers(response.http_headers.clone());
    copy.errors = response.errors.clone();
    copy.extensions = response.extensions.clone();
    copy
}

/// Runs a subscription's execution starting after the given movement id,
/// noting each event it renders: a feed's, or a subscriber's own.
type Execution = Arc<dyn Fn(i64, RenderedEvent) -> BoxStream<'static, Response> + Send + Sync>;

enum Following {
    Feed {
        feed: Arc<Feed>,
        receiver: broadcast::Receiver<Arc<Rendered>>,
        /// Events up to this id have reached the subscriber (or came
        /// before it joined); the feed's responses up to it are skipped.
        served: i64,
        /// Whether the last response it got was an error, which ends a
        /// subscription.
        ended_in_error: bool,
    },
    Own {
        responses: BoxStream<'static, Response>,
        rendered: RenderedEvent,
    },
}

/// A subscriber's own execution, replaying after `served`.
fn own(execution: &Execution, served: i64) -> Following {
    let rendered = RenderedEvent::at(served);
    Following::Own {
        responses: execution(served, rendered.clone()),
        rendered,
    }
}

/// One subscriber's responses: from its feed while it keeps up; after
/// falling behind, from an execution of its own that replays what it
/// missed, until it has caught up with a feed again.
fn follow(
    feeds: Arc<Feeds>,
    key: FeedKey,
    joined: Joined,
    execution: Execution,
) -> BoxStream<'static, Response> {
    let (feed, receiver, served) = joined;
    let following = Following::Feed {
        feed,
        receiver,
        served,
        ended_in_error: false,
    };
    // What does not change from one response to the next travels with the
    // state rather than being cloned for each response.
    let follower = (feeds, key, execution);
    stream::unfold((following, follower), |(following, follower)| {
        async move {
            let (feeds, key, execution) = &follower;
            let mut following = following;
            loop {
                match following {
                    Following::Own {
                        mut responses,
                        rendered,
                    } => {
                        let next = responses.next().await?;
                        let served = rendered.get();
                        // Back to sharing once a feed has sent nothing this
                        // subscriber has not had; an error ends it anyway.
                        let rejoined = (!next.is_err())
                            .then(|| feeds.join(key, Some(served), execution))
                            .flatten();
                        following = match rejoined {
                            Some((feed, receiver, served)) => Following::Feed {
                                feed,
                                receiver,
                                served,
                                ended_in_error: false,
                            },
                            None => Following::Own {
                                responses,
                                rendered,
                            },
                        };
                        return Some((next, (following, follower)));
                    }
                    Following::Feed {
                        feed,
                        mut receiver,
                        served,
                        ended_in_error,
                    } => match receiver.recv().await {
                        Ok(rendered) => match &*rendered {
                            // Already had from its own execution.
                            Rendered::Response(id, response)
                                if *id <= served && !response.is_err() =>
                            {
                                following = Following::Feed {
                                    feed,
                                    receiver,
                                    served,
                                    ended_in_error,
                                };
                            }
                            Rendered::Response(id, response) => {
                                let following = Following::Feed {
                                    feed,
                                    receiver,
                                    served: (*id).max(served),
                                    ended_in_error: response.is_err(),
                                };
                                // A response, so never `None`.
                                let response = take(rendered)?;
                                return Some((response, (following, follower)));
                            }
                            // The stream's last message was an error, or the
                            // subscriber joined after it: then its own
                            // execution says why it ends (or carries on).
                            Rendered::End if ended_in_error => return None,
                            Rendered::End => following = own(execution, served),
                        },
                        // Fell behind the feed (or, impossibly while `feed` is
                        // held, the feed went away): the ledger has the rest.
                        Err(_) => following = own(execution, served),
                    },
                }
            }
        }
    })
    .boxed()
}

#[cfg(test)]
mod tests {
    use std::{
        collections::VecDeque,
        sync::{Mutex as StdMutex, atomic::AtomicUsize},
    };

    use async_graphql::{ServerError, Variables};

    use super::*;

    fn feeds(buffer: usize) -> Arc<Feeds> {
        Arc::new(Feeds {
            bus: EventBus::new(16),
            buffer,
            open: Mutex::default(),
            serials: AtomicU64::new(0),
        })
    }

    fn key() -> FeedKey {
        FeedKey {
            role: Role::Admin,
            query: "subscription { stockLevelChanged { movement { id } } }".into(),
            operation_name: None,
            variables: "{}".into(),
        }
    }

    /// What the test's executions yield for event `id`.
    fn showing(id: i64) -> Response {
        Response::new(Value::from(id))
    }

    fn shown(response: &Response) -> i64 {
        match &response.data {
            Value::Number(n) => n.as_i64().expect("an id"),
            other => panic!("not an event: {other:?}"),
        }
    }

    /// A stand-in for the movement table and the event bus: executions
    /// replay the ids after their start, then follow live ones, noting
    /// each id before yielding it as `stockLevelChanged` does.
    #[derive(Clone)]
    struct Ledger {
        ids: Arc<StdMutex<Vec<i64>>>,
        live: broadcast::Sender<Option<i64>>,
        executions: Arc<AtomicUsize>,
    }

    impl Ledger {
        fn new() -> Self {
            Ledger {
                ids: Arc::default(),
                live: broadcast::channel(1024).0,
                executions: Arc::default(),
            }
        }

        fn publish(&self, id: i64) {
            self.ids.lock().unwrap().push(id);
            let _ = self.live.send(Some(id));
        }

        /// Ends every execution with an error, as a shutdown does.
        fn stop(&self) {
            let _ = self.live.send(None);
        }

        fn executions(&self) -> usize {
            self.executions.load(Ordering::SeqCst)
        }

        fn execution(&self) -> Execution {
            let ledger = self.clone();
            Arc::new(move |after, rendered| {
                ledger.executions.fetch_add(1, Ordering::SeqCst);
                let live = ledger.live.subscribe();
                let backlog: VecDeque<i64> = ledger
                    .ids
                    .lock()
                    .unwrap()
                    .iter()
                    .copied()
                    .filter(|id| *id > after)
                    .collect();
                stream::unfold(Some((backlog, live, rendered, after)), |state| async move {
                    let (mut backlog, mut live, rendered, mut last) = state?;
                    loop {
                        let next = match backlog.pop_front() {
                            Some(id) => Some(id),
                            None => live.recv().await.ok().flatten(),
                        };
                        match next {
                            Some(id) if id <= last => continue,
                            Some(id) => {
                                last = id;
                                rendered.set(id);
                                return Some((showing(id), Some((backlog, live, rendered, last))));
                            }
                            None => {
                                let end =
                                    Response::from_errors(vec![ServerError::new("stopped", None)]);
                                return Some((end, None));
                            }
                        }
                    }
                })
                .boxed()
            })
        }
    }

    fn subscribe(feeds: &Arc<Feeds>, ledger: &Ledger) -> BoxStream<'static, Response> {
        let execution = ledger.execution();
        let joined = feeds.join(&key(), None, &execution).expect("a feed");
        follow(feeds.clone(), key(), joined, execution)
    }

    async fn next_id(responses: &mut BoxStream<'static, Response>) -> i64 {
        shown(&responses.next().await.expect("a response"))
    }

    async fn next_ids(responses: &mut BoxStream<'static, Response>, n: usize) -> Vec<i64> {
        let mut ids = Vec::new();
        for _ in 0..n {
            ids.push(next_id(responses).await);
        }
        ids
    }

    fn census(feeds: &Arc<Feeds>) -> (usize, usize) {
        let open: Vec<Arc<Feed>> = {
            let open = feeds.open.lock().unwrap();
            open.values()
                .filter_map(|(_, feed)| feed.upgrade())
                .collect()
        };
        let subscribers = open.iter().map(|feed| feed.sender.receiver_count()).sum();
        (open.len(), subscribers)
    }

    #[tokio::test]
    async fn subscribers_to_one_key_share_a_feed_and_each_sees_what_comes_after_it_joined() {
        let (feeds, ledger) = (feeds(16), Ledger::new());
        let mut first = subscribe(&feeds, &ledger);
        ledger.publish(1);
        ledger.publish(2);
        assert_eq!(next_ids(&mut first, 2).await, [1, 2]);

        let mut second = subscribe(&feeds, &ledger);
        ledger.publish(3);
        assert_eq!(next_id(&mut first).await, 3);
        assert_eq!(
            next_id(&mut second).await,
            3,
            "3 is the first event the late one sees"
        );
        assert_eq!(ledger.executions(), 1, "one execution for both");
        assert_eq!(census(&feeds), (1, 2));

        drop(first);
        drop(second);
        assert!(
            feeds.open.lock().unwrap().is_empty(),
            "the feed stops with its last subscriber"
        );
    }

    #[tokio::test]
    async fn one_that_falls_behind_replays_on_its_own_then_rejoins_the_feed_when_level_with_it() {
        let (feeds, ledger) = (feeds(2), Ledger::new());
        let mut fast = subscribe(&feeds, &ledger);
        let mut slow = subscribe(&feeds, &ledger);
        ledger.publish(1);
        assert_eq!(next_id(&mut fast).await, 1);
        assert_eq!(next_id(&mut slow).await, 1);
        // The feed runs 5 responses ahead of `slow`, whose channel holds 2.
        for id in 2..=6 {
            ledger.publish(id);
            assert_eq!(next_id(&mut fast).await, id);
        }
        assert_eq!(
            next_ids(&mut slow, 5).await,
            [2, 3, 4, 5, 6],
            "nothing lost, nothing twice"
        );
        assert_eq!(
            ledger.executions(),
            2,
            "the feed's and the replay of the one that fell behind"
        );
        assert_eq!(
            census(&feeds),
            (1, 2),
            "level with the feed again, it rejoined"
        );

        ledger.publish(7);
        assert_eq!(next_id(&mut fast).await, 7);
        assert_eq!(next_id(&mut slow).await, 7);
        assert_eq!(ledger.executions(), 2, "its own execution is gone");
    }

    #[tokio::test]
    async fn the_last_one_to_fall_behind_starts_a_feed_again_where_it_stands() {
        let (feeds, ledger) = (feeds(2), Ledger::new());
        let mut only = subscribe(&feeds, &ledger);
        ledger.publish(1);
        assert_eq!(next_id(&mut only).await, 1);
        for id in 2..=6 {
            ledger.publish(id);
        }
        // Wait until the feed has rendered all five for nobody in time.
        while feeds
            .open
            .lock()
            .unwrap()
            .values()
            .filter_map(|(_, f)| f.upgrade())
            .any(|f| f.last_sent.load(Ordering::Acquire) < 6)
        {
            tokio::task::yield_now().await;
        }
        assert_eq!(next_ids(&mut only, 5).await, [2, 3, 4, 5, 6]);
        assert_eq!(census(&feeds), (1, 1), "sharing again");
        ledger.publish(7);
        assert_eq!(next_id(&mut only).await, 7);
    }

    #[tokio::test]
    async fn a_feed_ends_with_its_last_response_and_the_next_subscriber_starts_another() {
        let (feeds, ledger) = (feeds(16), Ledger::new());
        let mut only = subscribe(&feeds, &ledger);
        ledger.publish(7);
        assert_eq!(next_id(&mut only).await, 7);
        ledger.stop();
        assert!(only.next().await.expect("the last response").is_err());
        assert!(
            only.next().await.is_none(),
            "the error ends the subscription"
        );

        feeds.bus.set_last_published(7);
        let mut next = subscribe(&feeds, &ledger);
        assert_eq!(ledger.executions(), 2, "an ended feed is not joined");
        ledger.publish(8);
        assert_eq!(next_id(&mut next).await, 8);
    }

    #[test]
    fn only_stock_level_changed_from_now_on_is_shared() {
        let shared = |query: &str, variables: serde_json::Value| {
            let request = Request::new(query).variables(Variables::from_json(variables));
            let Ok(document) = async_graphql::parser::parse_query(query) else {
                return false;
            };
            shareable(&document, &request)
        };
        let none = serde_json::json!({});
        for query in [
            "subscription { stockLevelChanged { movement { id } } }",
            "subscription { stockLevelChanged(after: null) { movement { id } } }",
            "subscription Watch($a: ID) { stockLevelChanged(after: $a) { movement { id } } }",
        ] {
            assert!(shared(query, none.clone()), "{query}");
        }
        let with_after =
            "subscription($a: ID) { stockLevelChanged(after: $a) { movement { id } } }";
        assert!(shared(with_after, serde_json::json!({ "a": null })));
        assert!(
            !shared(with_after, serde_json::json!({ "a": "5" })),
            "a replay is its own"
        );
        for query in [
            "subscription { stockLevelChanged(after: \"5\") { movement { id } } }",
            "subscription($a: ID = \"5\") { stockLevelChanged(after: $a) { movement { id } } }",
            "subscription { stockLevelChanged @include(if: true) { movement { id } } }",
            "subscription { a: stockLevelChanged { movement { id } } b: stockLevelChanged { movement { id } } }",
            "subscription { ...F } fragment F on Subscription { stockLevelChanged { movement { id } } }",
            "subscription { availabilityChanged(skus: [\"X\"]) { sku } }",
            "query { viewer { role } }",
            "subscription {",
        ] {
            assert!(!shared(query, none.clone()), "{query}");
        }
    }
}
