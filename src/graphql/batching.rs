//! Deterministic DataLoader batching for one request.
//!
//! async-graphql's DataLoader collects keys for a fixed delay (1 ms) and then
//! fetches. Whether sibling fields land in one batch then depends on how fast
//! the executor walks the list: a large response, a debug build or a busy
//! machine splits one batch into many, and a request's statement count grows
//! with its size after all.
//!
//! Here a request's loader fetches are not spawned on the runtime. They are
//! queued and run by the request's own task, and only once the executor has
//! done everything it can without them: when its poll returns pending without
//! having woken itself (async-graphql's `FuturesUnordered` wakes itself to
//! yield after 32 items; that is not "blocked"). Every field waiting on a
//! loader has registered its key by then, so each level of nesting costs one
//! batch, whatever the number of siblings.

use std::{
    future::Future,
    pin::Pin,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    task::{Context, Poll, Wake, Waker},
};

use futures_util::{StreamExt, future::BoxFuture, stream::FuturesUnordered};

/// Fetches queued by a request's loaders, waiting for the request to need them.
#[derive(Clone, Default)]
pub struct FetchQueue(Arc<Mutex<Vec<BoxFuture<'static, ()>>>>);

impl FetchQueue {
    /// Queues a fetch of the request's DataLoaders.
    pub fn push(&self, fetch: BoxFuture<'static, ()>) {
        self.0.lock().expect("fetch queue").push(fetch);
    }

    fn drain(&self) -> Vec<BoxFuture<'static, ()>> {
        std::mem::take(&mut *self.0.lock().expect("fetch queue"))
    }
}

/// Runs `execution` to completion in the current task, running queued
/// fetches whenever it is blocked.
///
/// `execution` is boxed here, once, and not kept by value in an `async fn`'s
/// state: a future that holds another by value is as large as both, and
/// every move of it copies all of it (an execution is kilobytes).
pub fn drive<F: Future>(execution: F, queue: FetchQueue) -> Drive<F> {
    Drive {
        execution: Box::pin(execution),
        queue,
        fetches: FuturesUnordered::new(),
    }
}

/// A request's execution with its loaders' fetches; see [`drive`].
pub struct Drive<F: Future> {
    execution: Pin<Box<F>>,
    queue: FetchQueue,
    fetches: FuturesUnordered<BoxFuture<'static, ()>>,
}

/// Wakes the task and remembers that it was woken.
struct Flagged {
    woken: AtomicBool,
    task: Waker,
}

impl Wake for Flagged {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        self.task.wake_by_ref();
    }
}

impl<F: Future> Future for Drive<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // Only a Pin<Box<F>> and a FuturesUnordered of boxed futures: Unpin.
        let this = self.get_mut();
        loop {
            let flagged = Arc::new(Flagged {
                woken: AtomicBool::new(false),
                task: cx.waker().clone(),
            });
            let waker = Waker::from(flagged.clone());
            if let Poll::Ready(output) = this
                .execution
                .as_mut()
                .poll(&mut Context::from_waker(&waker))
            {
                return Poll::Ready(output);
            }
            if flagged.woken.load(Ordering::Acquire) {
                // The executor yielded with work left; it registers more keys
                // on its next poll, which the wake above has scheduled.
                return Poll::Pending;
            }
            this.fetches.extend(this.queue.drain());
            match this.fetches.poll_next_unpin(cx) {
                // A fetch delivered its rows: the fields waiting on it can run.
                Poll::Ready(Some(())) => continue,
                Poll::Ready(None) | Poll::Pending => return Poll::Pending,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::{collections::HashMap, sync::atomic::AtomicUsize, time::Duration};

    use async_graphql::dataloader::{DataLoader, Loader};

    use super::*;

    struct CountingLoader(Arc<AtomicUsize>);

    /// Gives way once, waking the task at once, as `FuturesUnordered` does.
    struct YieldNow(bool);

    impl Future for YieldNow {
        type Output = ();

        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            if self.0 {
                return Poll::Ready(());
            }
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }

    impl Loader<u32> for CountingLoader {
        type Value = u32;
        type Error = String;

        async fn load(&self, keys: &[u32]) -> Result<HashMap<u32, u32>, String> {
            self.0.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(1)).await;
            Ok(keys.iter().map(|k| (*k, k * 10)).collect())
        }
    }

    #[tokio::test]
    async fn siblings_share_one_fetch_however_slowly_they_register() {
        let batches = Arc::new(AtomicUsize::new(0));
        let queue = FetchQueue::default();
        let spawner = queue.clone();
        let loader = DataLoader::new(CountingLoader(batches.clone()), move |fetch| {
            spawner.push(fetch)
        })
        .delay(Duration::ZERO);
        let loader = &loader;
        // 500 siblings that each do a little work and yield before loading,
        // far longer than any time window, as a large response would.
        let siblings = (0..500u32).map(|key| async move {
            for _ in 0..3 {
                YieldNow(false).await;
            }
            loader.load_one(key).await.unwrap().unwrap()
        });
        let values = drive(futures_util::future::join_all(siblings), queue).await;
        assert_eq!(values.len(), 500);
        assert_eq!(values[7], 70);
        assert_eq!(batches.load(Ordering::SeqCst), 1);
    }
}
