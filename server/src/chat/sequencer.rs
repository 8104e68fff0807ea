//! The sequencer: the one writer of messages.
//!
//! Handlers send validated messages here and wait for the outcome. The sequencer takes what
//! is queued (up to a batch limit, see [`batch_limit`]), stores it in one transaction (group
//! commit: one fsync for many messages), hands the new rows to a [`CommitSink`] in id order,
//! and only then answers each waiter. So an ack always follows both the commit and the
//! broadcast, and ids are broadcast in the order they were committed.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::domain::NewMessage;
use crate::metrics::Metrics;
pub use crate::store::WriteError;
use crate::store::{Committed, Store, StoredMessage, WriteOutcome, WriteReceipt};

/// Where committed messages go, in offset order: this process's [`super::feed::Feed`], or
/// the primary's relay to every worker.
pub trait CommitSink: Send + Sync + 'static {
    /// Delivers newly committed messages. Returns once they are queued for every worker, or
    /// taken by this process's feed (which writes them to sockets within its delivery
    /// window; the sender's own socket is given them before its ack).
    fn publish(&self, messages: &[StoredMessage]) -> impl std::future::Future<Output = ()> + Send;
}

/// Where a write's outcome goes: called once, after the commit and the publish. Dropped
/// unanswered (the sequencer stopped first), it answers [`WriteError::ShuttingDown`].
pub struct Reply(Option<Answer>);

/// What a [`Reply`] calls.
type Answer = Box<dyn FnOnce(Result<WriteReceipt, WriteError>) + Send>;

impl Reply {
    /// A reply that calls `answer` with the outcome.
    pub fn new(answer: impl FnOnce(Result<WriteReceipt, WriteError>) + Send + 'static) -> Self {
        Self(Some(Box::new(answer)))
    }

    /// Answers with `outcome`.
    fn send(mut self, outcome: Result<WriteReceipt, WriteError>) {
        if let Some(answer) = self.0.take() {
            answer(outcome);
        }
    }
}

impl Drop for Reply {
    fn drop(&mut self) {
        if let Some(answer) = self.0.take() {
            answer(Err(WriteError::ShuttingDown));
        }
    }
}

/// One message waiting to be written.
struct WriteRequest {
    message: NewMessage,
    reply: Reply,
}

/// The handle handlers write through. Cloning it is cheap. The sequencer stops when its
/// [`SequencerTask`] is shut down (or every handle is dropped), after committing what is
/// already queued.
#[derive(Clone)]
pub struct Sequencer {
    requests: mpsc::Sender<WriteRequest>,
}

impl Sequencer {
    /// Starts the writer task over `store`, publishing to `sink`, committing at most
    /// `max_batch` messages per transaction.
    pub fn spawn<S: CommitSink>(
        store: Store,
        sink: Arc<S>,
        max_batch: usize,
        metrics: Arc<Metrics>,
    ) -> (Self, SequencerTask) {
        let (requests, queue) = mpsc::channel(max_batch * 4);
        let (stop, stopping) = oneshot::channel();
        let handle = tokio::spawn(run(store, sink, queue, stopping, max_batch, metrics));
        (Self { requests }, SequencerTask { handle, stop })
    }

    /// Stores `message` (or finds it already stored) and returns once it is committed and
    /// broadcast.
    pub async fn write(&self, message: NewMessage) -> Result<WriteReceipt, WriteError> {
        let (answer, outcome) = oneshot::channel();
        self.submit(
            message,
            Reply::new(move |result| {
                let _ = answer.send(result);
            }),
        )
        .await;
        outcome.await.map_err(|_| WriteError::ShuttingDown)?
    }

    /// Queues `message`, waiting while the queue is full; `reply` gets its outcome.
    pub async fn submit(&self, message: NewMessage, reply: Reply) {
        // A closed queue drops the request, and with it the reply, which answers
        // ShuttingDown.
        let _ = self.requests.send(WriteRequest { message, reply }).await;
    }

    /// Queues `message` without waiting (no task per write for the primary's worker
    /// links); `reply` gets its outcome. A full queue hands both back, for [`Self::submit`].
    pub fn try_submit(&self, message: NewMessage, reply: Reply) -> Result<(), (NewMessage, Reply)> {
        match self.requests.try_send(WriteRequest { message, reply }) {
            Err(mpsc::error::TrySendError::Full(request)) => Err((request.message, request.reply)),
            // Sent, or closed: the dropped reply answers ShuttingDown.
            _ => Ok(()),
        }
    }
}

/// The running sequencer, to stop at shutdown.
pub struct SequencerTask {
    handle: JoinHandle<()>,
    stop: oneshot::Sender<()>,
}

impl SequencerTask {
    /// Refuses new writes, commits those already queued, and waits (at most `grace`) for the
    /// writer to finish. Returns false if it did not finish in time.
    pub async fn shutdown(self, grace: std::time::Duration) -> bool {
        let _ = self.stop.send(());
        tokio::time::timeout(grace, self.handle).await.is_ok()
    }
}

/// The writer loop: batch, commit, publish, answer.
async fn run<S: CommitSink>(
    store: Store,
    sink: Arc<S>,
    mut queue: mpsc::Receiver<WriteRequest>,
    mut stopping: oneshot::Receiver<()>,
    max_batch: usize,
    metrics: Arc<Metrics>,
) {
    let mut batch: Vec<WriteRequest> = Vec::with_capacity(max_batch);
    let mut stop_seen = false;
    loop {
        let limit = batch_limit(queue.len(), max_batch);
        let received = tokio::select! {
            biased;
            n = queue.recv_many(&mut batch, limit) => n,
            stop = &mut stopping, if !stop_seen => {
                stop_seen = true;
                if stop.is_ok() {
                    // Refuse new writes; what is queued is still committed below.
                    queue.close();
                }
                continue;
            }
        };
        if received == 0 {
            break;
        }
        metrics.sequencer_queue.set(queue.len() as i64);
        // Move the texts out of the requests: they are stored, then published, never copied.
        let (messages, replies): (Vec<NewMessage>, Vec<_>) =
            batch.drain(..).map(|r| (r.message, r.reply)).unzip();
        let created_at = now_millis();
        let started = std::time::Instant::now();
        let result = store.insert_batch(messages, created_at).await;
        metrics
            .store_commit_seconds
            .observe(started.elapsed().as_secs_f64());
        match result {
            Ok(Committed {
                messages,
                outcomes,
                seqs,
                created_at,
            }) => {
                let fresh: Vec<StoredMessage> = outcomes
                    .iter()
                    .zip(seqs)
                    .zip(messages)
                    .filter_map(|((outcome, seq), message)| match outcome {
                        WriteOutcome::Inserted(id) => Some(StoredMessage {
                            id: *id,
                            text: message.text.into_inner(),
                            author: message.author.into_inner(),
                            created_at,
                            channel: message.channel,
                            seq,
                        }),
                        WriteOutcome::Duplicate(_) => None,
                    })
                    .collect();
                debug_assert!(
                    fresh.windows(2).all(|w| w[0].id < w[1].id),
                    "ids ascend in batch order"
                );
                metrics.messages_stored.inc_by(fresh.len() as u64);
                sink.publish(&fresh).await;
                tracing::debug!(batch = replies.len(), stored = fresh.len(), "committed");
                for (reply, outcome) in replies.into_iter().zip(outcomes) {
                    reply.send(Ok(WriteReceipt {
                        outcome,
                        created_at,
                    }));
                }
            }
            Err(error) => {
                metrics.store_errors.inc();
                tracing::error!(%error, batch = replies.len(), "storing a batch failed; error acks sent");
                let error = WriteError::Storage(error.to_string().into());
                for reply in replies {
                    reply.send(Err(error.clone()));
                }
            }
        }
    }
    tracing::debug!("sequencer stopped: no more writers");
}

/// The fewest writes a batch is limited to when others wait behind it (fewer if `max_batch`
/// is smaller); see [`batch_limit`].
const SPLIT_FLOOR: usize = 32;

/// How many of the `waiting` writes the next transaction takes: half of them, but at least
/// [`SPLIT_FLOOR`] and at most `max_batch`.
///
/// Taking everything that waits makes each client's next writes (sent as its acks arrive)
/// come back together, so committing and the round trip through the workers and clients
/// take turns. Taking half lets the first half's acks travel while the second half commits.
/// A client keeping 256 writes in flight got 20–40 % more acks per second this way, for one
/// more commit per round (BENCHMARKS.md, "Fifth pass").
fn batch_limit(waiting: usize, max_batch: usize) -> usize {
    (waiting / 2).max(SPLIT_FLOOR).min(max_batch)
}

/// The current time in unix milliseconds (a message's `created_at`).
pub(crate) fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::domain::{ClientOffset, MessageText, Nickname};
    use crate::store::StoreLocation;

    #[test]
    fn a_batch_takes_half_of_what_waits_within_its_bounds() {
        assert_eq!(batch_limit(0, 256), SPLIT_FLOOR);
        assert_eq!(batch_limit(64, 256), 32);
        assert_eq!(batch_limit(200, 256), 100);
        assert_eq!(batch_limit(1024, 256), 256);
        assert_eq!(batch_limit(0, 8), 8, "never above --max-batch");
    }

    /// Records the size of each published batch.
    #[derive(Default)]
    struct Batches(Mutex<Vec<usize>>);

    impl CommitSink for Batches {
        async fn publish(&self, messages: &[StoredMessage]) {
            self.0.lock().unwrap().push(messages.len());
        }
    }

    fn message(key: usize) -> NewMessage {
        NewMessage {
            text: MessageText::parse(format!("message {key}"), 4096).unwrap(),
            client_offset: ClientOffset::parse(format!("key-{key}")).unwrap(),
            author: Nickname::parse("ana").unwrap(),
            channel: crate::domain::ChannelId::GENERAL,
        }
    }

    #[tokio::test]
    async fn sixty_four_waiting_writes_commit_as_two_halves_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&StoreLocation::Sqlite(dir.path().join("chat.db")))
            .await
            .unwrap();
        let batches = Arc::new(Batches::default());
        let metrics = Metrics::new("test", None);
        let (sequencer, task) = Sequencer::spawn(store.clone(), batches.clone(), 256, metrics);
        // The sequencer's task has not run yet (one-threaded test runtime): all 64 wait.
        let (answers, mut outcomes) = mpsc::unbounded_channel();
        for key in 0..64 {
            let answers = answers.clone();
            let reply = Reply::new(move |outcome| {
                let _ = answers.send((key, outcome));
            });
            assert!(sequencer.try_submit(message(key), reply).is_ok());
        }
        drop(answers);
        let mut acked = Vec::new();
        while let Some((key, outcome)) = outcomes.recv().await {
            acked.push((key, outcome.unwrap().outcome.id()));
        }
        assert_eq!(*batches.0.lock().unwrap(), [32, 32]);
        acked.sort();
        let ids: Vec<i64> = acked.iter().map(|(_, id)| id.0).collect();
        assert_eq!(
            ids,
            (1..=64).collect::<Vec<_>>(),
            "ids follow the order of submission"
        );
        assert!(task.shutdown(std::time::Duration::from_secs(5)).await);
        store.close().await;
    }
}
