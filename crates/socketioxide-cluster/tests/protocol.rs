//! The primary against peers that do not follow the protocol, spoken over a raw Unix
//! stream: it trusts no worker, and a confused or corrupt one loses its connection without
//! disturbing the relay. And the workers when their primary dies.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::BytesMut;
use common::{TestPrimary, WAIT};
use socketioxide_cluster::{Frame, LinkError, PrimaryApp, PrimaryConfig, WorkerHandle, WorkerLink};
use socketioxide_redis::drivers::Driver;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;

/// Counts the workers that left.
#[derive(Default)]
struct Departures(AtomicUsize);

impl PrimaryApp for Departures {
    fn worker_left(&self, _worker: &WorkerHandle) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn wire(frames: &[Frame]) -> BytesMut {
    let mut out = BytesMut::new();
    for frame in frames {
        frame.encode(&mut out);
    }
    out
}

/// Reads until the primary closes the stream; returns what it sent.
async fn read_to_end(stream: &mut UnixStream) -> Vec<u8> {
    let mut received = Vec::new();
    tokio::time::timeout(WAIT, stream.read_to_end(&mut received))
        .await
        .expect("the primary closes the connection in time")
        .expect("a clean close");
    received
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_that_does_not_start_with_hello_is_dropped_unwelcomed() {
    let departures = Arc::new(Departures::default());
    let primary = TestPrimary::start(PrimaryConfig::default(), departures.clone());
    let mut stream = UnixStream::connect(&primary.ipc).await.expect("connect");
    let subscribe = Frame::Subscribe {
        channel: "c".into(),
    };
    stream.write_all(&wire(&[subscribe])).await.expect("write");
    assert!(read_to_end(&mut stream).await.is_empty(), "no Welcome");
    assert!(primary.primary.connected_workers().is_empty());
    assert_eq!(departures.0.load(Ordering::SeqCst), 0, "it never joined");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_sending_a_corrupt_frame_is_disconnected_and_the_others_stay() {
    let departures = Arc::new(Departures::default());
    let primary = TestPrimary::start(PrimaryConfig::default(), departures.clone());
    let (good, reader) = WorkerLink::connect(&primary.ipc, 0).await.expect("connect");
    tokio::spawn(async move { reader.run(&()).await });

    let mut stream = UnixStream::connect(&primary.ipc).await.expect("connect");
    stream
        .write_all(&wire(&[Frame::Hello { worker: 1 }]))
        .await
        .expect("write");
    primary.wait_for_workers(&[0, 1]).await;
    // A frame with an unknown tag, then bytes that would be a frame if it were read on.
    let mut corrupt = vec![0, 0, 0, 1, 200];
    corrupt.extend_from_slice(&wire(&[Frame::Subscribe {
        channel: "c".into(),
    }]));
    stream.write_all(&corrupt).await.expect("write");
    assert_eq!(read_to_end(&mut stream).await, &wire(&[Frame::Welcome])[..]);
    primary.wait_for_workers(&[0]).await;
    assert_eq!(departures.0.load(Ordering::SeqCst), 1);
    assert_eq!(
        primary.primary.cut_offs(),
        0,
        "a corrupt peer is not a slow one"
    );
    assert!(!good.is_closed());
    good.send(bytes::Bytes::from_static(b"still here"))
        .await
        .expect("the good worker's link works");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_the_primary_dies_the_link_reader_returns_and_requests_fail_at_once() {
    let primary = TestPrimary::start(PrimaryConfig::default(), Arc::new(()));
    let (link, reader) = WorkerLink::connect(&primary.ipc, 0).await.expect("connect");
    let task = tokio::spawn(async move { reader.run(&()).await });
    let driver = link.driver();
    assert_eq!(driver.num_serv("c").await.expect("count"), 0);

    primary.kill();
    let ended = tokio::time::timeout(WAIT, task)
        .await
        .expect("LinkReader::run returns when the primary dies")
        .expect("the reader task did not panic");
    assert!(ended.is_ok(), "a closed link is a clean end: {ended:?}");
    assert!(link.is_closed());
    let started = std::time::Instant::now();
    assert!(matches!(driver.num_serv("c").await, Err(LinkError::Closed)));
    assert!(driver.subscribe("c".to_owned(), 8).await.is_err());
    assert!(
        link.send(bytes::Bytes::from_static(b"anyone?"))
            .await
            .is_err()
    );
    assert!(started.elapsed() < std::time::Duration::from_millis(100));
}
