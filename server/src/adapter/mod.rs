//! The Socket.IO adapter layer: [`ChatAdapter`], the adapter every server uses, its
//! transports ([`driver`]), and [`LocalSockets`], the way the feed writes one pre-encoded
//! packet to many sockets of this process. Nothing here knows the chat.
//!
//! The adapter is socketioxide-redis's remote adapter over our [`ClusterDriver`], wrapped
//! so that it can hand out its local half. `Socket::emit` encodes its arguments again for
//! every socket; a chat message goes to every socket, so the feed encodes it once into a
//! [`Packet`] and gives that to each socket through the local adapter, one socket at a time,
//! so that a full queue is still seen per socket (a broadcast would skip it without saying
//! which).

use std::sync::{Arc, OnceLock, Weak};

use socketioxide::adapter::Emitter;
use socketioxide::extract::SocketRef;
use socketioxide::{BroadcastError, SocketError};
use socketioxide_core::adapter::{
    BroadcastOptions, CoreAdapter, CoreLocalAdapter, DefinedAdapter, RemoteSocketData, Room,
    RoomParam,
};
use socketioxide_core::packet::Packet;
use socketioxide_redis::{CustomRedisAdapter, RedisAdapterCtr};

pub mod driver;

use driver::ClusterDriver;

/// socketioxide-redis's adapter over our driver: what [`ChatAdapter`] wraps.
type RemoteAdapter = CustomRedisAdapter<Emitter, ClusterDriver>;

/// What every namespace's adapter is built from.
pub struct ChatAdapterState {
    /// socketioxide-redis's constructor (the driver and its configuration).
    pub remote: RedisAdapterCtr<ClusterDriver>,
    /// Where the `/` namespace's adapter makes itself known to the feed.
    pub local: LocalSockets,
}

/// The Socket.IO adapter every server uses: socketioxide-redis's, whose local half the feed
/// can reach through [`LocalSockets`].
pub struct ChatAdapter {
    remote: Arc<RemoteAdapter>,
    local: LocalSockets,
}

impl DefinedAdapter for ChatAdapter {}

impl CoreAdapter<Emitter> for ChatAdapter {
    type Error = <RemoteAdapter as CoreAdapter<Emitter>>::Error;
    type State = ChatAdapterState;
    type AckStream = <RemoteAdapter as CoreAdapter<Emitter>>::AckStream;
    type InitRes = <RemoteAdapter as CoreAdapter<Emitter>>::InitRes;

    fn new(state: &Self::State, local: CoreLocalAdapter<Emitter>) -> Self {
        Self {
            remote: Arc::new(RemoteAdapter::new(&state.remote, local)),
            local: state.local.clone(),
        }
    }

    fn init(self: Arc<Self>, on_success: impl FnOnce() + Send + 'static) -> Self::InitRes {
        if &**self.remote.get_local().path() == "/" {
            self.local.register(&self);
        }
        self.remote.clone().init(on_success)
    }

    fn close(&self) -> impl Future<Output = Result<(), Self::Error>> + Send {
        self.remote.close()
    }

    fn server_count(&self) -> impl Future<Output = Result<u16, Self::Error>> + Send {
        self.remote.server_count()
    }

    fn broadcast(
        &self,
        packet: Packet,
        opts: BroadcastOptions,
    ) -> impl Future<Output = Result<(), BroadcastError>> + Send {
        self.remote.broadcast(packet, opts)
    }

    fn broadcast_with_ack(
        &self,
        packet: Packet,
        opts: BroadcastOptions,
        timeout: Option<std::time::Duration>,
    ) -> impl Future<Output = Result<Self::AckStream, Self::Error>> + Send {
        self.remote.broadcast_with_ack(packet, opts, timeout)
    }

    fn add_sockets(
        &self,
        opts: BroadcastOptions,
        rooms: impl RoomParam,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send {
        self.remote.add_sockets(opts, rooms)
    }

    fn del_sockets(
        &self,
        opts: BroadcastOptions,
        rooms: impl RoomParam,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send {
        self.remote.del_sockets(opts, rooms)
    }

    fn disconnect_socket(
        &self,
        opts: BroadcastOptions,
    ) -> impl Future<Output = Result<(), BroadcastError>> + Send {
        self.remote.disconnect_socket(opts)
    }

    fn rooms(
        &self,
        opts: BroadcastOptions,
    ) -> impl Future<Output = Result<Vec<Room>, Self::Error>> + Send {
        self.remote.rooms(opts)
    }

    fn fetch_sockets(
        &self,
        opts: BroadcastOptions,
    ) -> impl Future<Output = Result<Vec<RemoteSocketData>, Self::Error>> + Send {
        self.remote.fetch_sockets(opts)
    }

    fn get_local(&self) -> &CoreLocalAdapter<Emitter> {
        self.remote.get_local()
    }
}

/// The `/` namespace's sockets of this process, for writing pre-encoded packets to them.
/// Cheap to clone; empty until the namespace's adapter is initialised.
#[derive(Clone, Default)]
pub struct LocalSockets(Arc<OnceLock<Weak<ChatAdapter>>>);

impl LocalSockets {
    /// Remembers the `/` namespace's adapter (the first one initialised).
    fn register(&self, adapter: &Arc<ChatAdapter>) {
        let _ = self.0.set(Arc::downgrade(adapter));
    }

    /// A sender to this process's sockets, or `None` before the namespace exists or after
    /// the server has closed it.
    pub fn sender(&self) -> Option<PacketSender> {
        self.0.get().and_then(Weak::upgrade).map(PacketSender)
    }
}

/// Sends pre-encoded packets to single sockets of this process (see [`LocalSockets`]).
pub struct PacketSender(Arc<ChatAdapter>);

impl PacketSender {
    /// This process's sockets in `room`.
    pub fn sockets_in(&self, room: &str) -> std::collections::HashSet<socketioxide::socket::Sid> {
        let mut opts = BroadcastOptions::default();
        opts.rooms.push(Room::Owned(room.to_owned()));
        self.0.get_local().sockets(opts).into_iter().collect()
    }

    /// Queues `packet` to `socket` alone, as `socket.emit` would, without serialising its
    /// arguments again (socketioxide still frames the packet for each socket). Says when the
    /// socket's queue is full or the socket is gone.
    pub fn send(
        &self,
        socket: &SocketRef<ChatAdapter>,
        packet: &Packet,
    ) -> Result<(), SocketError> {
        // The local adapter skips a socket that has left the namespace without an error.
        if !socket.connected() {
            return Err(SocketError::Closed);
        }
        self.0
            .get_local()
            .broadcast(packet.clone(), BroadcastOptions::new(socket.id))
            .map_err(|mut errors| errors.pop().unwrap_or(SocketError::Closed))
    }
}
