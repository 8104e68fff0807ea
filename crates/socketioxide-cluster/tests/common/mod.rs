//! What the cluster tests share: a real [`Primary`] on a Unix socket in a temporary
//! directory, worker-like Socket.IO servers (axum on 127.0.0.1:0) each with its own
//! [`WorkerLink`] to it, and a raw Engine.IO v4 / Socket.IO v5 websocket client, so that
//! every test goes through the same parts a deployment does.

#![allow(dead_code)] // each test binary uses its own part of this

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use socketioxide::SocketIo;
use socketioxide::extract::{AckSender, Data, SocketRef, TryData};
use socketioxide::socket::RemoteSocket;
use socketioxide_cluster::{
    ClusterAdapter, Primary, PrimaryApp, PrimaryConfig, RedisAdapterConfig, WorkerLink,
    adapter_ctr_with_config,
};
use tokio::net::{TcpListener, TcpStream, UnixListener};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

/// How long a test waits for anything that should happen at once.
pub const WAIT: Duration = Duration::from_secs(5);

/// How long an adapter request waits for the other workers: short, so that a request
/// counting a worker that has just died ends quickly.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(1);

/// A primary serving workers on a socket in its own temporary directory.
pub struct TestPrimary {
    pub primary: Arc<Primary>,
    pub ipc: PathBuf,
    serve: JoinHandle<()>,
    _dir: tempfile::TempDir,
}

impl TestPrimary {
    pub fn start<A: PrimaryApp>(config: PrimaryConfig, app: Arc<A>) -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let ipc = dir.path().join("primary.sock");
        let listener = UnixListener::bind(&ipc).expect("bind the primary's socket");
        let primary = Primary::new(config);
        let serve = tokio::spawn(primary.clone().serve(listener, app));
        Self {
            primary,
            ipc,
            serve,
            _dir: dir,
        }
    }

    /// Waits until exactly `indexes` are connected.
    pub async fn wait_for_workers(&self, indexes: &[u16]) {
        let waited = tokio::time::timeout(WAIT, async {
            while self.primary.connected_workers() != indexes {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await;
        assert!(
            waited.is_ok(),
            "workers {indexes:?} expected, {:?} connected",
            self.primary.connected_workers()
        );
    }
}

impl TestPrimary {
    /// The primary dies: its relay stops and every worker connection closes.
    pub fn kill(&self) {
        self.serve.abort();
    }
}

impl Drop for TestPrimary {
    fn drop(&mut self) {
        self.serve.abort();
    }
}

/// One worker: a Socket.IO server whose adapter goes through its own link to the primary.
pub struct Node {
    pub io: SocketIo<ClusterAdapter>,
    pub port: u16,
    pub link: WorkerLink,
    reader: JoinHandle<()>,
    server: JoinHandle<()>,
}

impl Node {
    /// Starts worker `index` joined to the primary at `ipc`.
    ///
    /// Its sockets join the room named in their connect auth (`{ "room": "a" }`). On
    /// `shout` a socket broadcasts its text to every other socket, as a chat message; on
    /// `ask` it broadcasts `question` with acks to every other socket and acks the
    /// answers it collected, sorted.
    pub async fn start(ipc: &Path, index: u16) -> Self {
        let (link, reader) = WorkerLink::connect(ipc, index)
            .await
            .expect("connect to the primary");
        // Before the namespace: its adapter's subscriptions wait for the primary's answers.
        let reader = tokio::spawn(async move {
            let _ = reader.run(&()).await;
        });
        let config = RedisAdapterConfig::new().with_request_timeout(REQUEST_TIMEOUT);
        let (layer, io) = SocketIo::builder()
            .with_adapter::<ClusterAdapter>(adapter_ctr_with_config(&link, config))
            .build_layer();
        tokio::time::timeout(WAIT, io.ns("/", on_connect))
            .await
            .expect("the / namespace in time")
            .expect("the / namespace");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
        let port = listener.local_addr().expect("its address").port();
        let app = axum::Router::new().layer(layer);
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            io,
            port,
            link,
            reader,
            server,
        }
    }

    /// The worker dies: its link and its server stop (the clients must be dropped too).
    pub fn kill(self) {
        self.reader.abort();
        self.server.abort();
    }
}

async fn on_connect(socket: SocketRef<ClusterAdapter>, TryData(auth): TryData<Value>) {
    if let Some(room) = auth
        .ok()
        .as_ref()
        .and_then(|a| a.get("room"))
        .and_then(Value::as_str)
    {
        socket.join(room.to_owned());
    }
    socket.on(
        "shout",
        async |socket: SocketRef<ClusterAdapter>, Data(text): Data<String>| {
            socket
                .broadcast()
                .emit("shout", &text)
                .await
                .expect("broadcast the shout");
        },
    );
    socket.on("ask", on_ask);
    // socketioxide answers the connect before running this handler: tell the client when
    // its socket is in its room and has its handlers.
    socket.emit("ready", &()).expect("emit ready");
}

/// Broadcasts `question` with acks to every other socket, and acks the sorted answers.
async fn on_ask(socket: SocketRef<ClusterAdapter>, ack: AckSender<ClusterAdapter>) {
    let acks = socket
        .broadcast()
        .timeout(Duration::from_secs(2))
        .emit_with_ack::<_, String>("question", "ready?")
        .await
        .expect("broadcast the question");
    let mut answers: Vec<String> = acks
        .filter_map(|(_, answer)| std::future::ready(answer.ok()))
        .collect()
        .await;
    answers.sort();
    ack.send(&answers).expect("ack the answers");
}

/// Starts workers `0..n` and waits until the primary has them all.
pub async fn start_nodes(primary: &TestPrimary, n: u16) -> Vec<Node> {
    let mut nodes = Vec::new();
    for index in 0..n {
        nodes.push(Node::start(&primary.ipc, index).await);
    }
    primary.wait_for_workers(&(0..n).collect::<Vec<_>>()).await;
    nodes
}

/// A raw Engine.IO v4 / Socket.IO v5 client over websocket.
pub struct RawClient {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    pub sid: String,
}

impl RawClient {
    /// Connects to the `/` namespace, with `{ "room": room }` as its auth.
    pub async fn connect(port: u16, room: &str) -> Self {
        let url = format!("ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket");
        let (mut ws, _) = tokio::time::timeout(WAIT, connect_async(url))
            .await
            .expect("connected in time")
            .expect("a websocket");
        let open = next_text(&mut ws).await.expect("an open packet");
        assert!(open.starts_with('0'), "engine.io open packet, got {open}");
        let auth = serde_json::json!({ "room": room });
        ws.send(Message::text(format!("40{auth}")))
            .await
            .expect("send the connect packet");
        let connected = next_text(&mut ws).await.expect("a connect reply");
        assert!(
            connected.starts_with("40"),
            "socket.io connect, got {connected}"
        );
        let reply: Value = serde_json::from_str(&connected[2..]).expect("connect reply JSON");
        let sid = reply["sid"].as_str().expect("a sid").to_owned();
        let mut client = Self { ws, sid };
        assert_eq!(client.event().await, r#"42["ready",null]"#);
        client
    }

    /// The next Socket.IO event packet (`42...`) or ack (`43...`), as sent.
    pub async fn event(&mut self) -> String {
        loop {
            let text = next_text(&mut self.ws)
                .await
                .expect("an event, not a close");
            if text.starts_with("42") || text.starts_with("43") {
                return text;
            }
        }
    }

    /// The next Socket.IO packet of any kind, or `None` once the server closed the socket.
    pub async fn packet(&mut self) -> Option<String> {
        next_text(&mut self.ws).await
    }

    /// Sends `event` with string arguments; `ack` asks for an acknowledgement with that id.
    pub async fn emit(&mut self, event: &str, args: &[&str], ack: Option<u32>) {
        let id = ack.map(|id| id.to_string()).unwrap_or_default();
        let mut packet = vec![event];
        packet.extend_from_slice(args);
        let packet = serde_json::to_string(&packet).expect("JSON of strings");
        self.send(format!("42{id}{packet}")).await;
    }

    /// Answers the event with ack id `id` with one string.
    pub async fn ack(&mut self, id: &str, answer: &str) {
        self.send(format!("43{id}[\"{answer}\"]")).await;
    }

    /// Reads the next event, which must be `event` with an ack id, and acks it with
    /// `answer`.
    pub async fn answer(&mut self, event: &str, answer: &str) {
        let packet = self.event().await;
        let id: String = packet[2..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        assert!(!id.is_empty(), "an ack id in {packet}");
        assert!(
            packet[2 + id.len()..].starts_with(&format!("[\"{event}\"")),
            "{event} expected, got {packet}"
        );
        self.ack(&id, answer).await;
    }

    async fn send(&mut self, text: String) {
        self.ws
            .send(Message::text(text))
            .await
            .expect("send a packet");
    }
}

/// The next text frame, answering pings; `None` when the connection closes.
async fn next_text(ws: &mut WebSocketStream<MaybeTlsStream<TcpStream>>) -> Option<String> {
    loop {
        let frame = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("a frame in time");
        match frame {
            None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return None,
            Some(Ok(Message::Text(text))) => {
                if text.as_str() == "2" {
                    let _ = ws.send(Message::text("3")).await;
                    continue;
                }
                return Some(text.as_str().to_owned());
            }
            Some(Ok(_)) => {}
        }
    }
}

/// The sorted ids of the sockets a `fetch_sockets` returned, within [`WAIT`].
pub async fn ids<E: std::fmt::Debug>(
    fetch: impl Future<Output = Result<Vec<RemoteSocket<ClusterAdapter>>, E>>,
) -> Vec<String> {
    let sockets = tokio::time::timeout(WAIT, fetch)
        .await
        .expect("fetch_sockets in time")
        .expect("fetch_sockets");
    let mut ids: Vec<String> = sockets.iter().map(|s| s.data().id.to_string()).collect();
    ids.sort();
    ids
}

/// Sorted copies of `ids`.
pub fn sorted(ids: &[&str]) -> Vec<String> {
    let mut ids: Vec<String> = ids.iter().map(|id| (*id).to_owned()).collect();
    ids.sort();
    ids
}
