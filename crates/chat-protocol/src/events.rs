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

/// Both ways. Client → server: `(to, text, clientOffset)` with an ack; server → client:
/// `(text, privateOffset, { from, to, createdAt })`, only to the sockets of both users.
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
