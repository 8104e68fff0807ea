//! The cluster adapter across two "workers" (two Socket.IO servers in this process, each
//! with its own link to a real relay over a Unix socket), driven by raw Engine.IO v4
//! websocket clients: broadcasts, rooms (join, leave, to), fetch_sockets, remote rooms and
//! broadcasts with acks all reach the sockets of both servers.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chat_server::adapter::driver::ClusterDriver;
use chat_server::adapter::{ChatAdapter, ChatAdapterState, LocalSockets};
use chat_server::chat::feed::Feed;
use chat_server::chat::from_primary::FromPrimary;
use chat_server::chat::presence::{Presence, Uplink};
use chat_server::chat::replay::Replayer;
use chat_server::chat::sequencer::Sequencer;
use chat_server::ipc::link::PrimaryLink;
use chat_server::metrics::Metrics;
use chat_server::primary::relay::Relay;
use chat_server::primary::workers::{WorkerLimits, WorkerTraffic};
use chat_server::store::{Store, StoreLocation};
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use socketioxide::SocketIo;
use socketioxide::extract::{SocketRef, TryData};
use socketioxide_cluster::{Primary, PrimaryConfig};
use tokio::net::{TcpListener, TcpStream, UnixListener};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

const WAIT: Duration = Duration::from_secs(5);

/// Starts the primary's side: the cluster relay, the chat's fan-out and a sequencer,
/// serving workers on `ipc`.
async fn start_primary(dir: &Path, ipc: &Path) -> Arc<Primary> {
    let store = Store::open(&StoreLocation::Sqlite(dir.join("chat.db")))
        .await
        .unwrap();
    let metrics = Metrics::new("primary", None);
    let relay = Arc::new(Relay::new(store.last_offset().await.unwrap()));
    let (sequencer, _task) = Sequencer::spawn(store, relay.clone(), 64, metrics);
    let listener = UnixListener::bind(ipc).unwrap();
    let limits = WorkerLimits {
        max_message_bytes: 4096,
        presence_grace: Duration::from_millis(100),
    };
    let cluster = Primary::new(PrimaryConfig { queue: 1024 });
    let traffic = WorkerTraffic::new(relay, sequencer, limits);
    tokio::spawn(cluster.clone().serve(listener, traffic));
    cluster
}

/// Starts one worker-like Socket.IO server joined to the relay; returns it and its port.
/// Its sockets join the room named in their connect auth (`{ "room": "a" }`).
async fn start_node(dir: &Path, ipc: &Path, index: u16) -> (SocketIo<ChatAdapter>, u16) {
    let (link, last, events) = PrimaryLink::connect(ipc, index).await.unwrap();
    let sockets = LocalSockets::default();
    let adapter = ChatAdapterState {
        remote: socketioxide_redis::RedisAdapterCtr::new_with_driver(
            ClusterDriver::Ipc(link.adapter_driver()),
            Default::default(),
        ),
        local: sockets.clone(),
    };
    let (layer, io) = SocketIo::builder()
        .with_adapter::<ChatAdapter>(adapter)
        .build_layer();
    io.ns(
        "/",
        async |socket: SocketRef<ChatAdapter>, TryData(auth): TryData<Value>| {
            if let Some(room) = auth
                .ok()
                .as_ref()
                .and_then(|a| a.get("room"))
                .and_then(Value::as_str)
            {
                socket.join(room.to_owned());
            }
        },
    )
    .await
    .unwrap();
    let store = Store::open_read_only(&StoreLocation::Sqlite(dir.join("chat.db")))
        .await
        .unwrap();
    // The default delivery window, so that windowed flushes are what this test exercises.
    let metrics = Metrics::new("worker", Some(index));
    let (feed, fell_behind) = Feed::new(
        last,
        sockets.clone(),
        metrics.clone(),
        Duration::from_millis(25),
    );
    let replayer = Replayer::new(store, sockets, feed.clone(), metrics);
    tokio::spawn(replayer.catch_up_fallen(fell_behind));
    let presence = Presence::new(Uplink::Primary(link), Duration::from_millis(100), 200);
    tokio::spawn(async move { events.run(&FromPrimary { feed, presence }).await });
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let app = axum::Router::new().layer(layer);
    tokio::spawn(async move { axum::serve(listener, app).await });
    (io, port)
}

/// A raw Engine.IO v4 / Socket.IO v5 client over websocket.
struct RawClient {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    sid: String,
}

impl RawClient {
    async fn connect(port: u16, auth: Value) -> Self {
        let url = format!("ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket");
        let (mut ws, _) = connect_async(url).await.unwrap();
        let open = next_text(&mut ws).await;
        assert!(open.starts_with('0'), "engine.io open packet, got {open}");
        ws.send(Message::text(format!("40{auth}"))).await.unwrap();
        let connected = next_text(&mut ws).await;
        assert!(
            connected.starts_with("40"),
            "socket.io connect, got {connected}"
        );
        let sid: Value = serde_json::from_str(&connected[2..]).unwrap();
        Self {
            ws,
            sid: sid["sid"].as_str().unwrap().to_owned(),
        }
    }

    /// The next Socket.IO event packet (`42...`), as sent.
    async fn event(&mut self) -> String {
        loop {
            let text = next_text(&mut self.ws).await;
            if text.starts_with("42") {
                return text;
            }
        }
    }

    async fn ack(&mut self, id: &str, data: &str) {
        self.ws
            .send(Message::text(format!("43{id}{data}")))
            .await
            .unwrap();
    }
}

/// The next text frame, answering pings.
async fn next_text(ws: &mut WebSocketStream<MaybeTlsStream<TcpStream>>) -> String {
    loop {
        let frame = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("a frame in time")
            .unwrap()
            .unwrap();
        if let Message::Text(text) = frame {
            if text.as_str() == "2" {
                ws.send(Message::text("3")).await.unwrap();
                continue;
            }
            return text.as_str().to_owned();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adapter_reaches_sockets_on_every_worker() {
    let dir = tempfile::tempdir().unwrap();
    let ipc = dir.path().join("primary.sock");
    let cluster = start_primary(dir.path(), &ipc).await;
    let (io0, port0) = start_node(dir.path(), &ipc, 0).await;
    let (io1, port1) = start_node(dir.path(), &ipc, 1).await;

    let mut a0 = RawClient::connect(port0, serde_json::json!({ "room": "a" })).await;
    let mut a1 = RawClient::connect(port1, serde_json::json!({ "room": "a" })).await;
    let mut b1 = RawClient::connect(port1, serde_json::json!({ "room": "b" })).await;

    // io.emit from worker 0 reaches every socket on both workers.
    io0.emit("hello", "everyone").await.unwrap();
    for client in [&mut a0, &mut a1, &mut b1] {
        assert_eq!(client.event().await, r#"42["hello","everyone"]"#);
    }

    // to(room) from worker 1 reaches room "a" on both workers, and nobody else.
    io1.to("a").emit("room", "a only").await.unwrap();
    io1.emit("marker", &1).await.unwrap();
    assert_eq!(a0.event().await, r#"42["room","a only"]"#);
    assert_eq!(a1.event().await, r#"42["room","a only"]"#);
    assert_eq!(
        b1.event().await,
        r#"42["marker",1]"#,
        "room b must not get room a's event"
    );
    assert_eq!(a0.event().await, r#"42["marker",1]"#);
    assert_eq!(a1.event().await, r#"42["marker",1]"#);

    // fetch_sockets and rooms see every worker's sockets.
    let mut ids: Vec<String> = io0
        .fetch_sockets()
        .await
        .unwrap()
        .iter()
        .map(|s| s.data().id.to_string())
        .collect();
    ids.sort();
    let mut expected = vec![a0.sid.clone(), a1.sid.clone(), b1.sid.clone()];
    expected.sort();
    assert_eq!(ids, expected);
    assert_eq!(io1.in_room_count("a").await, 2);
    let mut rooms: Vec<String> = io0
        .rooms()
        .await
        .unwrap()
        .iter()
        .map(|r| r.to_string())
        .collect();
    rooms.sort();
    assert_eq!(rooms, ["a", "b"]);

    // A remote join then leave, issued on worker 0, moves worker 1's socket.
    io0.to("b").join("a").await.unwrap();
    io0.to("a").emit("joined", "b too").await.unwrap();
    for client in [&mut a0, &mut a1, &mut b1] {
        assert_eq!(client.event().await, r#"42["joined","b too"]"#);
    }
    io0.to("a").leave("a").await.unwrap();
    io0.to("a").emit("nobody", &0).await.unwrap();
    io0.emit("marker", &2).await.unwrap();
    for client in [&mut a0, &mut a1, &mut b1] {
        assert_eq!(
            client.event().await,
            r#"42["marker",2]"#,
            "room a is empty after leave"
        );
    }

    // Broadcast with acks: every socket on both workers answers, and the stream ends.
    let acks = io0
        .timeout(WAIT)
        .emit_with_ack::<_, String>("ask", "ready?")
        .await
        .unwrap();
    let answer = async |client: &mut RawClient, reply: &str| {
        let event = client.event().await;
        let id: String = event[2..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        assert!(!id.is_empty(), "ack id in {event}");
        client.ack(&id, &format!(r#"["{reply}"]"#)).await;
    };
    answer(&mut a0, "a0").await;
    answer(&mut a1, "a1").await;
    answer(&mut b1, "b1").await;
    let mut replies: Vec<String> = acks
        .filter_map(async |(_, reply)| reply.ok())
        .collect()
        .await;
    replies.sort();
    assert_eq!(replies, ["a0", "a1", "b1"]);
    assert_eq!(cluster.cut_offs(), 0);
}

/// Sockets in a room, across workers.
trait RoomCount {
    async fn in_room_count(&self, room: &'static str) -> usize;
}

impl RoomCount for SocketIo<ChatAdapter> {
    async fn in_room_count(&self, room: &'static str) -> usize {
        self.to(room).fetch_sockets().await.unwrap().len()
    }
}
