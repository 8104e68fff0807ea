//! Startup: open the store, start the sequencer, build the routes and the Socket.IO layer,
//! bind the listener; then serve until told to stop, and stop in order.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::serve::ListenerExt;
use socketioxide::SocketIo;
use socketioxide::handler::ConnectHandler;
use tokio::net::TcpListener;
use tower::Layer;
use tower_http::services::ServeDir;

use crate::accounts::Accounts;
use crate::adapter::driver::ClusterDriver;
use crate::adapter::{ChatAdapter, ChatAdapterState, LocalSockets};
use crate::chat::from_primary::FromPrimary;
use crate::chat::limits::ConnectionLimits;
use crate::chat::replay::Replayer;
use crate::chat::ring::RING_CAPACITY;
use crate::chat::sequencer::SequencerTask;
use crate::chat::{ChatState, events};
use crate::config::Config;
use crate::http;
use crate::http::ops::Ops;
use crate::http::origin::AllowedOrigins;
use crate::ipc::link::LinkError;
use crate::metrics::Metrics;
use crate::store::{Store, StoreError};

mod health;
mod listener;
mod pipeline;
mod site;

use health::ServerHealth;
use listener::listen;
use pipeline::Pipeline;
pub use pipeline::Topology;
use site::leptos_options;

/// Initial websocket read buffer per connection, in bytes.
const WS_READ_BUFFER: usize = 1024;

/// How often ended sessions are deleted.
const SESSION_SWEEP: Duration = Duration::from_secs(3600);

/// How long shutdown waits for connections and queued writes before giving up.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Why the server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// The store could not be opened.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The primary could not be reached.
    #[error(transparent)]
    Link(#[from] LinkError),
    /// Redis could not be reached.
    #[error("cannot reach the Redis adapter: {0}")]
    Redis(String),
    /// The adapter could not start.
    #[error("the Socket.IO adapter failed to start: {0}")]
    Adapter(String),
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The Leptos settings in the environment (`LEPTOS_*`) are invalid.
    #[error("invalid Leptos configuration: {0}")]
    Leptos(#[from] leptos::config::errors::LeptosConfigError),
    /// The accept loop failed.
    #[error("server error: {0}")]
    Serve(#[from] std::io::Error),
}

/// A bound, ready-to-run server.
pub struct Application {
    listener: TcpListener,
    router: Router,
    io: SocketIo<ChatAdapter>,
    store: Store,
    /// The in-process sequencer (a single server), to drain at shutdown.
    sequencer: Option<SequencerTask>,
    /// The link to the primary (a worker), already running: serving stops when it ends.
    link: Option<tokio::task::JoinHandle<Result<(), LinkError>>>,
    /// The Redis adapter's connection, watched while serving (a worker stops when it is lost).
    redis: Option<socketioxide_redis::drivers::redis::RedisDriver>,
}

impl Application {
    /// Opens the store and binds the listener; nothing is served until [`Self::run_until`].
    pub async fn build(config: &Config, topology: Topology) -> Result<Self, StartupError> {
        // Leptos renders with reactive tasks on a global executor: tokio's. (Already set when
        // several servers share a process, as in tests.)
        let _ = any_spawner::Executor::init_tokio();
        let worker_index = match &topology {
            Topology::Worker { index, .. } => Some(*index),
            Topology::Solo => None,
        };
        let metrics = Metrics::new(
            if worker_index.is_some() {
                "worker"
            } else {
                "server"
            },
            worker_index,
        );
        let sockets = LocalSockets::default();
        let Pipeline {
            store,
            feed,
            fell_behind,
            writer,
            driver,
            sequencer,
            link,
            port,
            presence,
        } = match topology {
            Topology::Solo => Pipeline::solo(config, &sockets, &metrics).await?,
            Topology::Worker { index, ipc_path } => {
                Pipeline::worker(config, index, &ipc_path, &sockets, &metrics).await?
            }
        };
        let replayer = Replayer::new(
            store.clone(),
            sockets.clone(),
            feed.clone(),
            metrics.clone(),
        );
        tokio::spawn(replayer.clone().catch_up_fallen(fell_behind));
        // The ring starts with the latest stored messages, so that a crowd reconnecting to
        // a fresh worker (one restarted after a crash) replays its gap from memory, not with
        // one store read per socket. Before the link runs: nothing is published yet.
        match store
            .messages_before(
                None,
                crate::domain::ServerOffset(feed.last_published().0 + 1),
                RING_CAPACITY as u32,
            )
            .await
        {
            Ok(latest) => feed.warm(&latest).await,
            Err(error) => {
                tracing::warn!(%error, "could not read the latest messages; the ring starts empty")
            }
        }
        // The link runs from now on: what the primary sends while the rest starts (who is
        // online: one frame per person) must not wait for serving to begin, or it fills the
        // link's queue and the adapter's own answers behind it never arrive.
        let link = link.map(|events| {
            let sinks = FromPrimary {
                feed: feed.clone(),
                presence: presence.clone(),
            };
            tokio::spawn(async move { events.run(&sinks).await })
        });
        let accounts = Arc::new(Accounts::new(store.clone(), config.accounts()));
        // One process per host sweeps ended sessions: a single server, or worker 0.
        if worker_index.unwrap_or(0) == 0 {
            tokio::spawn(accounts.clone().sweep_sessions(SESSION_SWEEP));
        }
        let state = ChatState {
            accounts: accounts.clone(),
            guests: config.guests,
            store: store.clone(),
            writer,
            feed: feed.clone(),
            replayer,
            max_message_bytes: config.max_message_bytes,
            message_rate: (config.message_rate, config.message_burst),
            connections: Arc::new(ConnectionLimits::new(
                config.max_connections,
                config.max_connections_per_ip,
            )),
            metrics: metrics.clone(),
            presence: presence.clone(),
        };
        let redis = match &driver {
            ClusterDriver::Redis(redis) => Some(redis.clone()),
            _ => None,
        };
        let adapter = ChatAdapterState {
            remote: socketioxide_redis::RedisAdapterCtr::new_with_driver(
                driver,
                Default::default(),
            ),
            local: sockets,
        };
        let (socket_layer, io) = SocketIo::builder()
            .max_buffer_size(config.socket_buffer)
            // Chat frames are small; a 1 KiB websocket read buffer (default 4 KiB) per
            // connection grows on demand for larger ones.
            .ws_read_buffer_size(WS_READ_BUFFER)
            .max_payload(config.max_payload())
            .connect_timeout(Duration::from_millis(config.connect_timeout_ms))
            .ping_interval(Duration::from_millis(config.ping_interval_ms))
            .ping_timeout(Duration::from_millis(config.ping_timeout_ms))
            .with_state(state)
            .with_adapter::<ChatAdapter>(adapter)
            .build_layer();
        io.ns("/", events::on_connect.with(events::admit_and_register))
            .await
            .map_err(|e| StartupError::Adapter(e.to_string()))?;
        // Only now that the namespace exists may presence tell its sockets anything (what
        // the link brought before is recorded, and there was nobody to tell).
        presence.attach(io.clone());

        let addr = SocketAddr::new(config.host, port);
        let listener = listen(addr).map_err(|source| StartupError::Bind { addr, source })?;
        let site_addr = listener.local_addr()?;
        let (options, assets) = leptos_options(config, site_addr)?;

        // Static files and the Socket.IO endpoint share the fallback: socketioxide answers
        // everything under /socket.io/ (except the bundle routes, matched first), the site
        // directory the rest.
        // Brotli and gzip files made at build time (`cargo leptos build --release
        // --precompress`) are served as they are; anything else is gzipped on the way out
        // when the browser accepts it. Files named by their hash are cached for a year, the
        // rest revalidated (`http::site_assets`).
        let compressed = tower::ServiceBuilder::new()
            .map_response(|response: axum::http::Response<_>| response.map(axum::body::Body::new))
            .layer(tower_http::compression::CompressionLayer::new().gzip(true))
            .service(
                ServeDir::new(&config.site_root)
                    .precompressed_gzip()
                    .precompressed_br(),
            );
        let static_files =
            axum::middleware::from_fn_with_state(Arc::new(assets), http::site_assets::cache_policy)
                .layer(compressed);
        let socket_service = axum::middleware::from_fn(http::request_parts::own_request_parts)
            .layer(
                axum::middleware::from_fn_with_state(
                    AllowedOrigins::new(&config.allow_origin),
                    http::origin::check_origin,
                )
                .layer(socket_layer.layer(static_files)),
            );
        let ops = Ops {
            metrics,
            store: store.clone(),
            source: Arc::new(ServerHealth {
                worker_index,
                redis: config.adapter.is_some(),
            }),
        };
        let auth = http::auth::AuthRoutes {
            accounts: accounts.clone(),
            io: io.clone(),
            origins: AllowedOrigins::new(&config.allow_origin),
        };
        // The page and the client bundle are compressed on the way out too (both text).
        let for_browsers = Router::new()
            .merge(http::client_bundle::routes())
            .merge(http::page::routes(
                options,
                config.client_settings(),
                accounts,
            ))
            .layer(tower_http::compression::CompressionLayer::new().gzip(true));
        let router = Router::new()
            .merge(for_browsers)
            .merge(http::ops::routes(ops))
            .merge(http::auth::routes(auth))
            .fallback_service(socket_service)
            .layer(axum::middleware::map_response(
                http::security::add_common_headers,
            ));

        Ok(Self {
            listener,
            router,
            io,
            store,
            sequencer,
            link,
            redis,
        })
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// Serves until `shutdown` completes, then disconnects every socket (clients reconnect),
    /// lets queued writes commit, and closes the store.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), StartupError> {
        let Self {
            listener,
            router,
            io,
            store,
            sequencer,
            link,
            redis,
        } = self;
        // A worker also stops when its primary goes away (no orphans), or when it loses the
        // Redis adapter (its supervisor starts a fresh one).
        let shutdown = async move {
            let adapter_lost = async move {
                match redis {
                    Some(redis) => crate::adapter::driver::redis_lost(redis).await,
                    None => std::future::pending().await,
                }
            };
            let shutdown = async move {
                tokio::select! {
                    () = shutdown => {}
                    () = adapter_lost => tracing::error!("lost the Redis adapter; stopping so that a fresh worker reconnects"),
                }
            };
            match link {
                Some(events) => tokio::select! {
                    () = shutdown => {}
                    result = events => match result {
                        Ok(Ok(())) => tracing::warn!("the primary closed the link; stopping"),
                        Ok(Err(error)) => tracing::error!(%error, "the link to the primary failed; stopping"),
                        Err(error) => tracing::error!(%error, "the link's task failed; stopping"),
                    },
                },
                None => shutdown.await,
            }
        };
        tracing::info!(addr = %listener.local_addr()?, client = http::client_bundle::version(), "listening");
        let listener = listener.tap_io(|tcp| {
            // Chat frames are small: without this, Nagle's algorithm delays them ~40 ms.
            let _ = tcp.set_nodelay(true);
        });
        let (stopping_tx, stopping_rx) = tokio::sync::oneshot::channel::<()>();
        let io_for_shutdown = io.clone();
        let service = router.into_make_service_with_connect_info::<SocketAddr>();
        let serve = axum::serve(listener, service).with_graceful_shutdown(async move {
            shutdown.await;
            let _ = stopping_tx.send(());
            // Close every socket so long-lived connections end and clients reconnect.
            io_for_shutdown.close().await;
        });
        let serving = tokio::spawn(async move { serve.await });
        let _ = stopping_rx.await;
        match tokio::time::timeout(SHUTDOWN_GRACE, serving).await {
            Ok(Ok(result)) => result?,
            Ok(Err(join_error)) => tracing::error!(%join_error, "server task failed"),
            Err(_) => {
                tracing::warn!("connections still open after {SHUTDOWN_GRACE:?}; closing anyway")
            }
        }
        // Sockets are closed: commit what is queued, refuse the rest (unacked, so retried).
        drop(io);
        if let Some(sequencer) = sequencer
            && !sequencer.shutdown(SHUTDOWN_GRACE).await
        {
            tracing::warn!("writes still queued after {SHUTDOWN_GRACE:?}");
        }
        store.close().await;
        tracing::info!("stopped");
        Ok(())
    }
}
