//! The chat pipeline of one server process, as its topology builds it: a single server owns
//! its store, sequencer and roster; a worker reaches the primary's through its link and only
//! reads the store.

use std::net::SocketAddr;
use std::sync::Arc;

use crate::adapter::LocalSockets;
use crate::adapter::driver::ClusterDriver;
use crate::chat::feed::{Feed, FellBehind};
use crate::chat::presence::{Presence, Roster, Uplink};
use crate::chat::sequencer::{Sequencer, SequencerTask};
use crate::chat::writer::Writer;
use crate::config::Config;
use crate::ipc::link::{LinkEvents, PrimaryLink};
use crate::metrics::Metrics;
use crate::store::Store;

use super::StartupError;

/// Where a server gets its writes sequenced and its peers from.
pub enum Topology {
    /// Alone: sequencer in process, no peers.
    Solo,
    /// Worker `index` of the primary at `ipc_path`.
    Worker {
        /// Its number: it listens on base port + index.
        index: u16,
        /// The primary's IPC socket.
        ipc_path: std::path::PathBuf,
    },
}

/// This process's half of the chat pipeline, as its topology builds it.
pub(super) struct Pipeline {
    /// Where replays and history read.
    pub(super) store: Store,
    /// The live feed of this process's sockets.
    pub(super) feed: Arc<Feed>,
    /// Sockets the feed reports behind, for the replayer.
    pub(super) fell_behind: FellBehind,
    /// Where writes go.
    pub(super) writer: Writer,
    /// The adapter's transport.
    pub(super) driver: ClusterDriver,
    /// The in-process sequencer (a single server), to drain at shutdown.
    pub(super) sequencer: Option<SequencerTask>,
    /// The link's receiving half (a worker): it feeds the feed and presence.
    pub(super) link: Option<LinkEvents>,
    /// The port to listen on.
    pub(super) port: u16,
    /// Who is online.
    pub(super) presence: Arc<Presence>,
}

impl Pipeline {
    /// A single server: store, sequencer and roster in this process, no peers.
    pub(super) async fn solo(
        config: &Config,
        sockets: &LocalSockets,
        metrics: &Arc<Metrics>,
    ) -> Result<Self, StartupError> {
        let store = Store::open(&config.store_location()).await?;
        let (feed, fell_behind) = Feed::new(
            store.last_offset().await?,
            sockets.clone(),
            metrics.clone(),
            config.delivery_window(),
        );
        let (sequencer, task) = Sequencer::spawn(
            store.clone(),
            feed.clone(),
            config.max_batch,
            metrics.clone(),
        );
        let presence = Presence::new(
            Uplink::Local(std::sync::Mutex::new(Roster::default())),
            config.presence_grace(),
            config.presence_announce_max as usize,
        );
        Ok(Self {
            store,
            feed,
            fell_behind,
            writer: Writer::Local(sequencer),
            driver: ClusterDriver::Solo,
            sequencer: Some(task),
            link: None,
            port: config.port,
            presence,
        })
    }

    /// Worker `index` of the primary at `ipc_path`: message writes, commits and presence go
    /// through the link; the store is read, and written only for accounts and sessions.
    pub(super) async fn worker(
        config: &Config,
        index: u16,
        ipc_path: &std::path::Path,
        sockets: &LocalSockets,
        metrics: &Arc<Metrics>,
    ) -> Result<Self, StartupError> {
        let (link, last_committed, events) = PrimaryLink::connect(ipc_path, index).await?;
        let store = Store::open_worker(&config.store_location()).await?;
        let (feed, fell_behind) = Feed::new(
            last_committed,
            sockets.clone(),
            metrics.clone(),
            config.delivery_window(),
        );
        let port = config
            .port
            .checked_add(index)
            .ok_or_else(|| StartupError::Bind {
                addr: SocketAddr::new(config.host, config.port),
                source: std::io::Error::other("base port + worker index overflows"),
            })?;
        let presence = Presence::new(
            Uplink::Primary(link.clone()),
            config.presence_grace(),
            config.presence_announce_max as usize,
        );
        let driver = match &config.adapter {
            Some(url) => ClusterDriver::Redis(
                crate::adapter::driver::connect_redis(url)
                    .await
                    .map_err(|e| StartupError::Redis(e.to_string()))?,
            ),
            None => ClusterDriver::Ipc(link.adapter_driver()),
        };
        Ok(Self {
            store,
            feed,
            fell_behind,
            writer: Writer::Primary(link),
            driver,
            sequencer: None,
            link: Some(events),
            port,
            presence,
        })
    }
}
