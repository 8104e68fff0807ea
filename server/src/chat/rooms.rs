//! Which channels a socket is in, as the Socket.IO adapter's rooms say.
//!
//! A socket is in a channel when it is in the channel's room ([`ChannelId::room`]); every
//! socket is in `#general`, room or not. Rooms are the one record of live membership: a
//! join or a leave anywhere (another worker, another host) reaches this process through the
//! adapter's remote join and leave, and the feed, the replay and the handlers all read the
//! same rooms. What is durable (who is a member) is in the store; a socket's rooms are set
//! from it when it connects.

use std::collections::{HashMap, HashSet};

use socketioxide::extract::SocketRef;
use socketioxide::socket::Sid;

use crate::adapter::{ChatAdapter, PacketSender};
use crate::domain::ChannelId;
use crate::store::ChannelFilter;

/// Whether `socket` is in `channel`.
pub fn is_in(socket: &SocketRef<ChatAdapter>, channel: ChannelId) -> bool {
    channel == ChannelId::GENERAL
        || socket
            .rooms()
            .iter()
            .any(|room| ChannelId::of_room(room) == Some(channel))
}

/// The channels `socket` is in, `#general` first: what its replay reads.
pub fn channels_of(socket: &SocketRef<ChatAdapter>) -> ChannelFilter {
    let mut channels = vec![ChannelId::GENERAL];
    let mut others: Vec<ChannelId> = socket
        .rooms()
        .iter()
        .filter_map(|room| ChannelId::of_room(room))
        .filter(|channel| *channel != ChannelId::GENERAL)
        .collect();
    others.sort_unstable();
    channels.extend(others);
    ChannelFilter::Only(channels)
}

/// This process's sockets per channel, read from the adapter once per channel and kept for
/// one flush of the feed: a flush asks about many sockets and few channels.
pub struct ChannelRooms<'a> {
    sender: &'a PacketSender,
    members: HashMap<ChannelId, HashSet<Sid>>,
}

impl<'a> ChannelRooms<'a> {
    /// An empty cache over `sender`'s sockets.
    pub fn new(sender: &'a PacketSender) -> Self {
        Self {
            sender,
            members: HashMap::new(),
        }
    }

    /// Whether the socket `sid` receives `channel`'s messages.
    pub fn sees(&mut self, sid: Sid, channel: ChannelId) -> bool {
        if channel == ChannelId::GENERAL {
            return true;
        }
        let sender = self.sender;
        self.members
            .entry(channel)
            .or_insert_with(|| sender.sockets_in(&channel.room()))
            .contains(&sid)
    }
}
