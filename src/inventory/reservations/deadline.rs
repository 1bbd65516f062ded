//! A batch's deadline. Its callers wait for it under the request deadline
//! and are answered UNAVAILABLE when that passes; a batch that ran on
//! would commit holds (or endings) of callers told they failed, once a
//! database gone silent answered again. So a batch gives up when its
//! first caller's deadline has passed: what is still running is dropped
//! before its COMMIT is sent.

use std::{
    future::Future,
    time::{Duration, Instant},
};

use tokio::sync::oneshot;

use crate::{db::Outage, inventory::InventoryError};

#[derive(Clone, Copy, Debug)]
pub(super) struct BatchDeadline(tokio::time::Instant);

impl BatchDeadline {
    /// `deadline` after the earliest of `asked` (when each caller reached
    /// the queue).
    pub fn of(asked: impl Iterator<Item = Instant>, deadline: Duration) -> Self {
        BatchDeadline((asked.min().unwrap_or_else(Instant::now) + deadline).into())
    }

    /// `work`'s output, or `None` when the deadline passed first (and
    /// `work` was dropped).
    pub async fn bound<F: Future>(self, work: F) -> Option<F::Output> {
        tokio::time::timeout_at(self.0, work).await.ok()
    }
}

/// The answer of a caller whose batch gave up.
pub(super) fn too_late<T>() -> Result<T, InventoryError> {
    Err(InventoryError::Unavailable(Outage::Deadline))
}

/// Answers every caller of a batch that gave up; `what` names the batch
/// for the log.
pub(super) fn give_up<T>(
    what: &str,
    answers: impl ExactSizeIterator<Item = oneshot::Sender<Result<T, InventoryError>>>,
) {
    tracing::warn!(
        size = answers.len(),
        "a batch of {what} passed its callers' deadline and was dropped"
    );
    for answer in answers {
        // A caller that has gone away needs no answer.
        let _ = answer.send(too_late());
    }
}
