//! Application payloads between a real primary and worker links over a Unix socket: the
//! primary's hooks see the right workers, payloads keep their order both ways and their
//! place among the adapter's frames, and a worker whose queue fills up is cut off.

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use common::{TestPrimary, WAIT};
use futures_util::FutureExt;
use futures_util::StreamExt;
use socketioxide_cluster::{
    LinkReader, PrimaryApp, PrimaryConfig, TrySendError, WorkerApp, WorkerHandle, WorkerLink,
};
use socketioxide_redis::drivers::{ChanItem, Driver, MessageStream};
use tokio::sync::{Notify, mpsc};

/// What the primary's application saw, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seen {
    Joined { id: u64, index: u16 },
    Message { index: u16, payload: String },
    Left { id: u64, index: u16 },
}

/// A primary application that records what it sees, greets each worker, and forwards
/// `fwd:<text>` from any worker to worker 1 as `<text>`.
#[derive(Default)]
struct Recorder {
    seen: Mutex<Vec<Seen>>,
    handles: Mutex<HashMap<u16, WorkerHandle>>,
    changed: Notify,
}

impl Recorder {
    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("not poisoned").clone()
    }

    fn record(&self, seen: Seen) {
        self.seen.lock().expect("not poisoned").push(seen);
        self.changed.notify_waiters();
    }

    fn handle(&self, index: u16) -> WorkerHandle {
        self.handles.lock().expect("not poisoned")[&index].clone()
    }

    /// Waits until `done` holds of what was seen.
    async fn wait_until(&self, done: impl Fn(&[Seen]) -> bool) {
        let waited = tokio::time::timeout(WAIT, async {
            loop {
                let changed = self.changed.notified();
                if done(&self.seen()) {
                    return;
                }
                changed.await;
            }
        })
        .await;
        assert!(waited.is_ok(), "not seen in time: {:?}", self.seen());
    }
}

impl PrimaryApp for Recorder {
    fn worker_joined(&self, worker: &WorkerHandle) {
        let greeting = format!("welcome {}", worker.index());
        assert!(worker.send_or_cut_off(greeting.into()));
        self.handles
            .lock()
            .expect("not poisoned")
            .insert(worker.index(), worker.clone());
        self.record(Seen::Joined {
            id: worker.id(),
            index: worker.index(),
        });
    }

    fn worker_message(&self, worker: &WorkerHandle, payload: Bytes) {
        let text = String::from_utf8(payload.to_vec()).expect("UTF-8 payloads");
        if let Some(forward) = text.strip_prefix("fwd:") {
            let to = self.handle(1);
            assert!(to.send_or_cut_off(Bytes::copy_from_slice(forward.as_bytes())));
        }
        self.record(Seen::Message {
            index: worker.index(),
            payload: text,
        });
    }

    fn worker_left(&self, worker: &WorkerHandle) {
        self.record(Seen::Left {
            id: worker.id(),
            index: worker.index(),
        });
    }
}

/// A worker application that logs each payload as `a:<text>`, preceded by the adapter
/// messages of its subscription (once it has one) that arrived before it, as `m:<text>`.
struct Log {
    subscription: Mutex<Option<MessageStream<ChanItem>>>,
    entries: mpsc::UnboundedSender<String>,
}

impl WorkerApp for Log {
    async fn on_message(&self, payload: Bytes) {
        if let Some(subscription) = self.subscription.lock().expect("not poisoned").as_mut() {
            // Whatever the reader dispatched before this payload is there already.
            while let Some(Some((_, message))) = subscription.next().now_or_never() {
                let text = String::from_utf8(message).expect("UTF-8 messages");
                let _ = self.entries.send(format!("m:{text}"));
            }
        }
        let text = String::from_utf8(payload.to_vec()).expect("UTF-8 payloads");
        let _ = self.entries.send(format!("a:{text}"));
    }
}

/// A worker application that holds each payload until the test opens its gate.
#[derive(Default)]
struct Gated {
    gate: Notify,
}

impl WorkerApp for Gated {
    async fn on_message(&self, _payload: Bytes) {
        self.gate.notified().await;
    }
}

async fn connect(primary: &TestPrimary, index: u16) -> (WorkerLink, LinkReader) {
    tokio::time::timeout(WAIT, WorkerLink::connect(&primary.ipc, index))
        .await
        .expect("connected in time")
        .expect("connected")
}

async fn next_entry(entries: &mut mpsc::UnboundedReceiver<String>) -> String {
    tokio::time::timeout(WAIT, entries.recv())
        .await
        .expect("an entry in time")
        .expect("the worker is running")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_payloads_keep_their_order_both_ways_and_among_adapter_messages() {
    let recorder = Arc::new(Recorder::default());
    let primary = TestPrimary::start(PrimaryConfig::default(), recorder.clone());
    let (w0, reader0) = connect(&primary, 0).await;
    tokio::spawn(async move { reader0.run(&()).await });
    let (w1, reader1) = connect(&primary, 1).await;
    let (entries_tx, mut entries) = mpsc::unbounded_channel();
    let log = Arc::new(Log {
        subscription: Mutex::new(None),
        entries: entries_tx,
    });
    let app = log.clone();
    let task1 = tokio::spawn(async move { reader1.run(&*app).await });

    // The greeting sent from worker_joined comes first.
    assert_eq!(next_entry(&mut entries).await, "a:welcome 1");
    let subscription = w1
        .driver()
        .subscribe("c".to_owned(), 64)
        .await
        .expect("subscribe");
    *log.subscription.lock().expect("not poisoned") = Some(subscription);
    assert_eq!(w0.driver().num_serv("c").await.expect("count"), 1);

    // Worker 0 interleaves adapter publishes on "c" with payloads the primary forwards to
    // worker 1: one connection in, one out, so worker 1 sees them in this order.
    let publish = async |text: &str| {
        w0.driver()
            .publish("c".to_owned(), text.as_bytes().to_vec())
            .await
            .expect("publish");
    };
    let send = async |text: &str| w0.send(Bytes::from(text.to_owned())).await.expect("send");
    publish("m1").await;
    send("fwd:a1").await;
    publish("m2").await;
    publish("m3").await;
    send("fwd:a2").await;
    publish("m4").await;
    send("fwd:a3").await;
    for expected in ["m:m1", "a:a1", "m:m2", "m:m3", "a:a2", "m:m4", "a:a3"] {
        assert_eq!(next_entry(&mut entries).await, expected);
    }

    // Many payloads each way keep their order.
    for n in 0..200 {
        w1.send(Bytes::from(format!("up {n}")))
            .await
            .expect("send up");
    }
    let to_1 = recorder.handle(1);
    for n in 0..200 {
        to_1.send(Bytes::from(format!("down {n}")))
            .await
            .expect("send down");
    }
    for n in 0..200 {
        assert_eq!(next_entry(&mut entries).await, format!("a:down {n}"));
    }
    recorder
        .wait_until(|seen| {
            seen.iter()
                .filter(|s| matches!(s, Seen::Message { index: 1, .. }))
                .count()
                == 200
        })
        .await;
    let up: Vec<String> = recorder
        .seen()
        .into_iter()
        .filter_map(|s| match s {
            Seen::Message { index: 1, payload } => Some(payload),
            _ => None,
        })
        .collect();
    assert_eq!(up, (0..200).map(|n| format!("up {n}")).collect::<Vec<_>>());
    let from_0: Vec<String> = recorder
        .seen()
        .into_iter()
        .filter_map(|s| match s {
            Seen::Message { index: 0, payload } => Some(payload),
            _ => None,
        })
        .collect();
    assert_eq!(from_0, ["fwd:a1", "fwd:a2", "fwd:a3"]);

    // Worker 1 goes away: worker_left names the connection that joined, its subscription
    // is gone, and sending to it fails. Back again, it is a new connection.
    let joined: Vec<Seen> = recorder
        .seen()
        .into_iter()
        .filter(|s| matches!(s, Seen::Joined { .. }))
        .collect();
    let [
        Seen::Joined { id: id0, index: 0 },
        Seen::Joined { id: id1, index: 1 },
    ] = joined[..]
    else {
        panic!("workers 0 then 1 joined: {joined:?}");
    };
    assert_ne!(id0, id1);
    task1.abort();
    recorder
        .wait_until(|seen| seen.contains(&Seen::Left { id: id1, index: 1 }))
        .await;
    assert_eq!(primary.primary.connected_workers(), [0]);
    assert_eq!(w0.driver().num_serv("c").await.expect("count"), 0);
    assert!(matches!(
        to_1.try_send(Bytes::from_static(b"late")),
        Err(TrySendError::Closed)
    ));
    assert!(!to_1.send_or_cut_off(Bytes::from_static(b"late")));
    assert!(w1.send(Bytes::from_static(b"late")).await.is_err());

    let (_w1, reader1) = connect(&primary, 1).await;
    let again = recorder.handle(1);
    assert_ne!(again.id(), id1);
    assert_eq!(again.index(), 1);
    drop(reader1);
    assert_eq!(primary.primary.cut_offs(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_whose_queue_is_full_is_cut_off_and_its_link_ends() {
    let recorder = Arc::new(Recorder::default());
    let config = PrimaryConfig { queue: 8 };
    let primary = TestPrimary::start(config, recorder.clone());
    let (link, reader) = connect(&primary, 0).await;
    let app = Arc::new(Gated::default());
    let gated = app.clone();
    let task = tokio::spawn(async move { reader.run(&*gated).await });
    let handle = recorder.handle(0);

    // The worker is stuck on the greeting: its socket fills up, then its queue. A full
    // queue refuses try_send and keeps the worker.
    let big = Bytes::from(vec![7u8; 64 * 1024]);
    let full = tokio::time::timeout(WAIT, async {
        loop {
            match handle.try_send(big.clone()) {
                Ok(()) => tokio::time::sleep(Duration::from_millis(1)).await,
                Err(TrySendError::Full(payload)) => return payload,
                Err(TrySendError::Closed) => panic!("closed before its queue was full"),
            }
        }
    })
    .await
    .expect("the queue fills up");
    assert_eq!(full, big);
    assert_eq!(primary.primary.cut_offs(), 0);
    assert_eq!(primary.primary.connected_workers(), [0]);
    assert_eq!(primary.primary.queue_depths(), [(0, 8)]);

    // send_or_cut_off cuts it off instead: counted once, and its link ends.
    assert!(!handle.send_or_cut_off(big.clone()));
    assert!(!handle.send_or_cut_off(big.clone()));
    assert_eq!(primary.primary.cut_offs(), 1);
    assert!(handle.is_closed());
    assert!(matches!(
        handle.try_send(big.clone()),
        Err(TrySendError::Closed)
    ));
    recorder
        .wait_until(|seen| {
            seen.iter()
                .any(|s| matches!(s, Seen::Left { index: 0, .. }))
        })
        .await;
    assert!(primary.primary.connected_workers().is_empty());

    // Once the application lets go, the reader finds the end of its link and returns.
    let opener = tokio::spawn(async move {
        loop {
            app.gate.notify_waiters();
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    });
    let ended = tokio::time::timeout(WAIT, task).await;
    opener.abort();
    assert!(
        ended.is_ok(),
        "LinkReader::run returns once the link is cut"
    );
    assert!(link.is_closed());
    assert!(link.send(Bytes::from_static(b"after")).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_too_slow_for_the_relay_is_cut_off_not_skipped() {
    let recorder = Arc::new(Recorder::default());
    let primary = TestPrimary::start(PrimaryConfig { queue: 8 }, recorder.clone());
    let (w0, reader0) = connect(&primary, 0).await;
    tokio::spawn(async move { reader0.run(&()).await });
    let (w1, reader1) = connect(&primary, 1).await;
    let task1 = tokio::spawn(async move { reader1.run(&()).await });
    // Worker 1 subscribes and never reads its subscription: its reader soon waits for room.
    let stuck = w1
        .driver()
        .subscribe("c".to_owned(), 1)
        .await
        .expect("subscribe");
    assert_eq!(w0.driver().num_serv("c").await.expect("count"), 1);

    let big = vec![1u8; 64 * 1024];
    let cut = tokio::time::timeout(WAIT, async {
        while primary.primary.cut_offs() == 0 {
            w0.driver()
                .publish("c".to_owned(), big.clone())
                .await
                .expect("publish");
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
    .await;
    assert!(cut.is_ok(), "the slow subscriber is cut off");
    assert_eq!(primary.primary.cut_offs(), 1);
    // Gone from the relay at once: the server count no longer waits for it.
    assert_eq!(w0.driver().num_serv("c").await.expect("count"), 0);
    assert_eq!(primary.primary.connected_workers(), [0]);
    drop(stuck);
    let ended = tokio::time::timeout(WAIT, task1).await;
    assert!(
        ended.is_ok(),
        "worker 1's reader returns once its link is cut"
    );
}
