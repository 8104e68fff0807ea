//! The page's components, one per file.

pub mod account;
pub mod arrange;
pub mod channels;
pub mod clock;
pub mod composer;
pub mod connection;
pub mod message_list;
pub mod presence;
pub mod scroll;

pub use account::AccountPanel;
pub use channels::{ChannelHeader, ChannelNav};
pub use composer::Composer;
pub use connection::{ConnectionIndicator, ConnectionToggle};
pub use message_list::MessageList;
pub use presence::{OnlineList, OnlineToggle, TypingIndicator};
