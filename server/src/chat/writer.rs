//! [`Writer`]: the one way handlers store a message, wherever the sequencer runs.

use super::sequencer::{Sequencer, WriteError};
use crate::domain::NewMessage;
use crate::ipc::link::PrimaryLink;
use crate::store::WriteReceipt;

/// Where this process's writes are sequenced.
#[derive(Clone)]
pub enum Writer {
    /// This process owns the sequencer (a single server).
    Local(Sequencer),
    /// The primary owns it (a worker).
    Primary(PrimaryLink),
}

impl Writer {
    /// Stores `message` (or finds it stored); returns once it is committed and broadcast.
    pub async fn write(&self, message: NewMessage) -> Result<WriteReceipt, WriteError> {
        match self {
            Self::Local(sequencer) => sequencer.write(message).await,
            Self::Primary(link) => link.write(message).await,
        }
    }
}
