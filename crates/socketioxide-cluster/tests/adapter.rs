//! The cluster adapter across three workers: three Socket.IO servers in this process, each
//! with its own [`WorkerLink`](socketioxide_cluster::WorkerLink) to one real primary over
//! a Unix socket, driven by raw Engine.IO v4 websocket clients. Broadcasts, acks, rooms,
//! `fetch_sockets` and remote disconnects reach the sockets of every worker; a worker that
//! dies is not waited for, and one that comes back is reached again.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Node, RawClient, TestPrimary, WAIT, ids, sorted, start_nodes};
use futures_util::StreamExt;
use socketioxide_cluster::PrimaryConfig;

fn primary() -> TestPrimary {
    TestPrimary::start(PrimaryConfig::default(), Arc::new(()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broadcast_from_a_socket_on_one_worker_reaches_sockets_on_all_three() {
    let primary = primary();
    let nodes = start_nodes(&primary, 3).await;
    let mut sender = RawClient::connect(nodes[0].port, "a").await;
    let mut same_worker = RawClient::connect(nodes[0].port, "a").await;
    let mut on_1 = RawClient::connect(nodes[1].port, "b").await;
    let mut on_2 = RawClient::connect(nodes[2].port, "c").await;

    sender.emit("shout", &["hello, all"], None).await;
    for client in [&mut same_worker, &mut on_1, &mut on_2] {
        assert_eq!(client.event().await, r#"42["shout","hello, all"]"#);
    }
    // The sender is left out (a broadcast), and each got it once: the next event is a marker.
    nodes[2].io.emit("marker", &1).await.expect("emit a marker");
    for client in [&mut sender, &mut same_worker, &mut on_1, &mut on_2] {
        assert_eq!(client.event().await, r#"42["marker",1]"#);
    }
    assert_eq!(primary.primary.cut_offs(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broadcast_with_acks_collects_the_acks_of_sockets_on_the_other_workers() {
    let primary = primary();
    let nodes = start_nodes(&primary, 3).await;
    let mut asker = RawClient::connect(nodes[0].port, "a").await;
    let mut b0 = RawClient::connect(nodes[0].port, "a").await;
    let mut c1 = RawClient::connect(nodes[1].port, "a").await;
    let mut d2 = RawClient::connect(nodes[2].port, "a").await;

    // The socket's handler broadcasts `question` with acks and acks back what it collected.
    asker.emit("ask", &[], Some(7)).await;
    b0.answer("question", "b0").await;
    c1.answer("question", "c1").await;
    d2.answer("question", "d2").await;
    assert_eq!(asker.event().await, r#"437[["b0","c1","d2"]]"#);

    // The same from the server: every socket of every worker answers, and the stream ends.
    let acks = nodes[1]
        .io
        .broadcast()
        .timeout(Duration::from_secs(2))
        .emit_with_ack::<_, String>("question", "again?")
        .await
        .expect("broadcast with acks");
    for (client, answer) in [
        (&mut asker, "asker"),
        (&mut b0, "b0"),
        (&mut c1, "c1"),
        (&mut d2, "d2"),
    ] {
        client.answer("question", answer).await;
    }
    let mut answers: Vec<String> = tokio::time::timeout(
        WAIT,
        acks.filter_map(|(_, answer)| std::future::ready(answer.ok()))
            .collect(),
    )
    .await
    .expect("the ack stream ends once every socket answered");
    answers.sort();
    assert_eq!(answers, ["asker", "b0", "c1", "d2"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rooms_join_and_leave_across_workers() {
    let primary = primary();
    let nodes = start_nodes(&primary, 3).await;
    let mut a0 = RawClient::connect(nodes[0].port, "a").await;
    let mut b1 = RawClient::connect(nodes[1].port, "b").await;
    let mut c2 = RawClient::connect(nodes[2].port, "c").await;

    // to(room) from worker 1 reaches room "a" on worker 0, and nobody else.
    nodes[1]
        .io
        .to("a")
        .emit("room", "a only")
        .await
        .expect("emit");
    nodes[1].io.emit("marker", &1).await.expect("emit");
    assert_eq!(a0.event().await, r#"42["room","a only"]"#);
    for client in [&mut a0, &mut b1, &mut c2] {
        assert_eq!(client.event().await, r#"42["marker",1]"#);
    }

    // A remote join issued on worker 0 puts worker 1's socket in room "x" ... (The emit
    // comes from worker 0 too: requests from one worker arrive in order, requests from
    // different workers need not, as with Redis.)
    nodes[0].io.to("b").join("x").await.expect("remote join");
    nodes[0].io.to("x").emit("x", "joined").await.expect("emit");
    assert_eq!(b1.event().await, r#"42["x","joined"]"#);
    let mut rooms: Vec<String> = nodes[2]
        .io
        .rooms()
        .await
        .expect("rooms")
        .iter()
        .map(|r| r.to_string())
        .collect();
    rooms.sort();
    assert_eq!(rooms, ["a", "b", "c", "x"]);
    assert_eq!(ids(nodes[0].io.to("x").fetch_sockets()).await.len(), 1);

    // ... and a remote leave issued on worker 2 takes it out again.
    nodes[2].io.to("x").leave("x").await.expect("remote leave");
    nodes[2].io.to("x").emit("x", "nobody").await.expect("emit");
    nodes[2].io.emit("marker", &2).await.expect("emit");
    for client in [&mut a0, &mut b1, &mut c2] {
        assert_eq!(client.event().await, r#"42["marker",2]"#, "room x is empty");
    }
    let mut rooms: Vec<String> = nodes[1]
        .io
        .rooms()
        .await
        .expect("rooms")
        .iter()
        .map(|r| r.to_string())
        .collect();
    rooms.sort();
    assert_eq!(rooms, ["a", "b", "c"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_sockets_sees_the_sockets_of_all_three_workers() {
    let primary = primary();
    let nodes = start_nodes(&primary, 3).await;
    let a0 = RawClient::connect(nodes[0].port, "a").await;
    let b1 = RawClient::connect(nodes[1].port, "b").await;
    let c2 = RawClient::connect(nodes[2].port, "a").await;
    let d2 = RawClient::connect(nodes[2].port, "b").await;

    let all = sorted(&[&a0.sid, &b1.sid, &c2.sid, &d2.sid]);
    for node in &nodes {
        assert_eq!(ids(node.io.fetch_sockets()).await, all);
    }
    assert_eq!(
        ids(nodes[1].io.to("a").fetch_sockets()).await,
        sorted(&[&a0.sid, &c2.sid])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnecting_a_remote_socket_closes_it() {
    let primary = primary();
    let nodes = start_nodes(&primary, 3).await;
    let mut stays = RawClient::connect(nodes[1].port, "stay").await;
    let mut victim = RawClient::connect(nodes[2].port, "bye").await;

    nodes[0]
        .io
        .to("bye")
        .disconnect()
        .await
        .expect("remote disconnect");
    // The victim gets a Socket.IO disconnect packet, or its connection closes.
    let packet = victim.packet().await;
    assert!(
        packet.as_deref().is_none_or(|p| p.starts_with("41")),
        "disconnect expected, got {packet:?}"
    );
    assert_eq!(
        ids(nodes[0].io.fetch_sockets()).await,
        sorted(&[&stays.sid])
    );
    nodes[0].io.emit("marker", &1).await.expect("emit");
    assert_eq!(stays.event().await, r#"42["marker",1]"#);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_that_dies_is_not_waited_for_and_is_reached_again_once_it_comes_back() {
    let primary = primary();
    let mut nodes = start_nodes(&primary, 3).await;
    let mut a0 = RawClient::connect(nodes[0].port, "a").await;
    let mut a1 = RawClient::connect(nodes[1].port, "a").await;
    let a2 = RawClient::connect(nodes[2].port, "a").await;
    assert_eq!(ids(nodes[0].io.fetch_sockets()).await.len(), 3);

    // Worker 2 dies, and its clients with it.
    nodes.pop().expect("worker 2").kill();
    drop(a2);

    // At once, before the primary may even have noticed: requests end with an answer or
    // an error, within the adapter's request timeout, never later.
    let started = Instant::now();
    let fetched = tokio::time::timeout(WAIT, nodes[0].io.fetch_sockets())
        .await
        .expect("fetch_sockets must not hang");
    // An answer is what the living workers have (an error would be acceptable too).
    if let Ok(sockets) = fetched {
        let mut fetched: Vec<String> = sockets.iter().map(|s| s.data().id.to_string()).collect();
        fetched.sort();
        assert_eq!(fetched, sorted(&[&a0.sid, &a1.sid]));
    }
    let acks = tokio::time::timeout(
        WAIT,
        nodes[0]
            .io
            .timeout(Duration::from_millis(500))
            .emit_with_ack::<_, String>("question", "still there?"),
    )
    .await
    .expect("emit_with_ack must not hang");
    if let Ok(acks) = acks {
        a0.answer("question", "a0").await;
        a1.answer("question", "a1").await;
        let answers: Vec<String> = tokio::time::timeout(
            WAIT,
            acks.filter_map(|(_, answer)| std::future::ready(answer.ok()))
                .collect(),
        )
        .await
        .expect("the ack stream must end");
        assert_eq!(
            sorted(&answers.iter().map(String::as_str).collect::<Vec<_>>()),
            ["a0", "a1"]
        );
    }
    assert!(started.elapsed() < Duration::from_secs(4));

    // Once the primary has seen it go, the others count two servers and answer promptly.
    primary.wait_for_workers(&[0, 1]).await;
    let started = Instant::now();
    assert_eq!(
        ids(nodes[1].io.fetch_sockets()).await,
        sorted(&[&a0.sid, &a1.sid])
    );
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "no wait for the dead worker: {:?}",
        started.elapsed()
    );

    // It comes back (a new link, a new server): broadcasts reach it again.
    nodes.push(Node::start(&primary.ipc, 2).await);
    primary.wait_for_workers(&[0, 1, 2]).await;
    let mut back = RawClient::connect(nodes[2].port, "a").await;
    nodes[0]
        .io
        .to("a")
        .emit("back", "welcome")
        .await
        .expect("emit");
    for (name, client) in [("a0", &mut a0), ("a1", &mut a1), ("back", &mut back)] {
        assert_eq!(client.event().await, r#"42["back","welcome"]"#, "{name}");
    }
    assert_eq!(
        ids(nodes[2].io.fetch_sockets()).await,
        sorted(&[&a0.sid, &a1.sid, &back.sid])
    );
}
