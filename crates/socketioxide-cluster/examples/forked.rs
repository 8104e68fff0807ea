//! A chat server that forks one worker per core, joined by the cluster adapter.
//!
//! Run without `CLUSTER_WORKER`, it is the primary: it binds a Unix socket, relays between
//! workers with [`Primary::serve`], and starts itself again once per core with
//! `CLUSTER_WORKER=<index>`. Each worker serves Socket.IO on base port + index (3000, or
//! the `BASE_PORT` variable) with a [`ClusterAdapter`] over its [`WorkerLink`]: a `chat` event sent to any
//! worker reaches the sockets of every worker.
//!
//! ```text
//! cargo run -p socketioxide-cluster --example forked
//! ```

use std::path::PathBuf;
use std::sync::Arc;

use socketioxide::SocketIo;
use socketioxide::extract::{Data, SocketRef};
use socketioxide_cluster::{
    ClusterAdapter, Primary, PrimaryApp, PrimaryConfig, WorkerHandle, WorkerLink, adapter_ctr,
};
use tokio::net::{TcpListener, UnixListener};

/// The first worker's port, unless `BASE_PORT` says otherwise.
fn base_port() -> u16 {
    std::env::var("BASE_PORT")
        .ok()
        .and_then(|port| port.parse().ok())
        .unwrap_or(3000)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let socket = std::env::var_os("CLUSTER_SOCKET").map(PathBuf::from);
    match (std::env::var("CLUSTER_WORKER"), socket) {
        (Ok(index), Some(socket)) => worker(index.parse()?, socket).await,
        _ => primary().await,
    }
}

/// What the primary does with its workers besides relaying: here, log them.
struct Log;

impl PrimaryApp for Log {
    fn worker_joined(&self, worker: &WorkerHandle) {
        println!("worker {} joined", worker.index());
    }

    fn worker_left(&self, worker: &WorkerHandle) {
        println!("worker {} left", worker.index());
    }
}

async fn primary() -> Result<(), Box<dyn std::error::Error>> {
    let socket = std::env::temp_dir().join(format!("forked-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&socket);
    let listener = UnixListener::bind(&socket)?;
    let relay = Primary::new(PrimaryConfig::default());
    tokio::spawn(relay.serve(listener, Arc::new(Log)));

    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut children = Vec::new();
    for index in 0..workers {
        let child = tokio::process::Command::new(std::env::current_exe()?)
            .env("CLUSTER_WORKER", index.to_string())
            .env("CLUSTER_SOCKET", &socket)
            .kill_on_drop(true)
            .spawn()?;
        children.push(child);
    }
    println!(
        "primary: {workers} workers from port {}; Ctrl-C stops them",
        base_port()
    );
    tokio::signal::ctrl_c().await?;
    drop(children); // kills them
    std::fs::remove_file(&socket)?;
    Ok(())
}

async fn worker(index: u16, socket: PathBuf) -> Result<(), Box<dyn std::error::Error>> {
    let (link, reader) = WorkerLink::connect(&socket, index).await?;
    // The reader must run before namespaces are created: it delivers the primary's answers.
    let reader = tokio::spawn(async move { reader.run(&()).await });

    let (layer, io) = SocketIo::builder()
        .with_adapter::<ClusterAdapter>(adapter_ctr(&link))
        .build_layer();
    io.ns("/", async |socket: SocketRef<ClusterAdapter>| {
        socket.on(
            "chat",
            async |socket: SocketRef<ClusterAdapter>, Data(text): Data<String>| {
                // To every other socket, on every worker.
                if let Err(error) = socket.broadcast().emit("chat", &text).await {
                    eprintln!("broadcast failed: {error}");
                }
            },
        );
    })
    .await?;

    let port = base_port() + index;
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    let app = axum::Router::new().layer(layer);
    println!("worker {index} on http://127.0.0.1:{port}");
    tokio::select! {
        served = axum::serve(listener, app) => served?,
        // The primary died or cut this worker off: it is no longer part of the cluster.
        _ = reader => eprintln!("worker {index}: link to the primary ended; exiting"),
    }
    Ok(())
}
