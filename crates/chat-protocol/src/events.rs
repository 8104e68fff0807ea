//! Event names, both directions. The first is the Socket.IO tutorial's.

/// Both ways. Client → server: `(text, clientOffset)` with an ack ([`crate::acks::WriteAck`]).
/// Server → client: `(text, serverOffset, { author, createdAt })` ([`crate::message`]).
pub const CHAT_MESSAGE: &str = "chat message";

/// Server → client, only to a client that connected with `auth.batched: true`: live
/// messages as one list per write, `[[text, serverOffset, { author, createdAt }], …]` in
/// offset order, each element the arguments of its `chat message`. Replays stay
/// `chat message`s.
pub const CHAT_MESSAGES: &str = "chat messages";

/// Server → client, once the replay after connect is complete and live messages follow:
/// [`crate::acks::ReplayDone`].
pub const REPLAY_DONE: &str = "replay done";

/// Client → server with an ack: how many sockets are connected across all workers
/// ([`crate::acks::OnlineCount`]).
pub const ONLINE: &str = "online";

/// Client → server with an ack: sign my next messages with this name
/// ([`crate::requests::NicknameRequest`]; ack [`crate::acks::NicknameSet`]).
pub const NICKNAME: &str = "nickname";

/// Client → server with an ack: who is online ([`crate::acks::UsersOnline`]).
pub const USERS: &str = "users";

/// Server → client: how many are online, every few seconds while they are too many to be
/// announced one by one ([`crate::acks::UsersCount`]).
pub const USERS_COUNT: &str = "users count";

/// Server → client: a user's first socket anywhere connected ([`crate::acks::UserEvent`]).
pub const USER_JOINED: &str = "user joined";

/// Server → client: a user's last socket closed and none came back within the grace
/// period ([`crate::acks::UserEvent`]).
pub const USER_LEFT: &str = "user left";

/// Server → client: a user's only socket took a name nobody had, told as one change
/// instead of a join and a leave ([`crate::acks::UserRenamed`]).
pub const USER_RENAMED: &str = "user renamed";

/// Client → server with an ack: `(to, text, clientOffset)`, shorthand for a `channel
/// message` into the direct channel of the sender and the account `to` (found, or made
/// with both as its members, on their first message; ack [`crate::acks::DirectStored`]).
/// It reaches them as a `chat message` in that channel, like any other.
pub const PRIVATE_MESSAGE: &str = "private message";

/// Client → server with an ack: a page of older messages
/// ([`crate::requests::HistoryRequest`]; ack [`crate::acks::HistoryPage`]).
pub const HISTORY: &str = "history";

/// Both ways. Client → server: `true` or `false` (volatile, no ack); server → client:
/// [`crate::acks::TypingEvent`] to every other socket.
pub const TYPING: &str = "typing";

/// Server → client, once per connection, before the replay: who the server took this
/// socket to be ([`crate::acks::Identity`]).
pub const IDENTITY: &str = "identity";

/// Client → server with an ack: `(channel, text, clientOffset)`, a message to a channel one
/// is in (ack [`crate::acks::WriteAck`]). It reaches clients as a `chat message` whose
/// metadata names its channel and its `seq` there.
pub const CHANNEL_MESSAGE: &str = "channel message";

/// Client → server with an ack: the direct channel of this account and another
/// ([`crate::channels::OpenDirect`]; ack `{ channel }`), made when they have none yet: what
/// a page opens when its user picks someone to write to privately.
pub const CHANNEL_DIRECT: &str = "channel direct";

/// Client → server with an ack: the channels one is in and the public ones one could join
/// ([`crate::channels::ChannelList`]).
pub const CHANNELS: &str = "channels";

/// Client → server with an ack: a new channel ([`crate::channels::CreateChannel`]; ack
/// `{ channel }`, a [`crate::channels::ChannelInfo`]).
pub const CHANNEL_CREATE: &str = "channel create";

/// Client → server with an ack: join a public channel ([`crate::channels::ChannelRef`]; ack
/// `{ channel }`).
pub const CHANNEL_JOIN: &str = "channel join";

/// Client → server with an ack: leave a channel ([`crate::channels::ChannelRef`]).
pub const CHANNEL_LEAVE: &str = "channel leave";

/// Client → server with an ack: add an account to a channel one is in
/// ([`crate::channels::InviteToChannel`]).
pub const CHANNEL_INVITE: &str = "channel invite";

/// Client → server with an ack: set a channel's topic ([`crate::channels::SetTopic`]).
pub const CHANNEL_TOPIC: &str = "channel topic";

/// Client → server with an ack: who is in a channel ([`crate::channels::ChannelRef`]; ack
/// [`crate::channels::ChannelMembers`]).
pub const CHANNEL_MEMBERS: &str = "channel members";

/// Both ways ([`crate::channels::ReadUpTo`]): a page marks a channel read up to a `seq`
/// (with an ack); the server tells every socket of the account.
pub const CHANNEL_READ: &str = "channel read";

/// Server → client, to every socket of an account: it is now in a channel (it created or
/// joined it, or was invited): a [`crate::channels::ChannelInfo`].
pub const CHANNEL_JOINED: &str = "channel joined";

/// Server → client, to every socket of an account: it left a channel
/// ([`crate::channels::ChannelRef`]).
pub const CHANNEL_LEFT: &str = "channel left";

/// Server → client, to a channel's members: its topic changed
/// ([`crate::channels::ChannelUpdated`]).
pub const CHANNEL_UPDATED: &str = "channel updated";
