//! Work the server does on a timer, beside the requests.

use std::{future::Future, time::Duration};

use tokio::sync::watch;

/// Runs `work` every `interval` (the first time at once) until `shutdown`
/// turns true or its sender is gone. A run that overruns its interval
/// pushes the next one back rather than making up for it with a burst;
/// one under way when the server stops finishes first.
pub async fn every<F, Fut>(interval: Duration, mut shutdown: watch::Receiver<bool>, mut work: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = shutdown.wait_for(|stopping| *stopping) => break,
        }
        work().await;
    }
}
