//! What a write's ack means for the message: stored, refused for now (resend after the
//! wait it names), or failed, and whether a failure could be retried. Pure; the outbox
//! (`super::outbox`) acts on it.

use chat_protocol::acks::WriteAck;
use leptos_socketio::EmitError;

/// Resends after refusals that say when to retry (the server pacing a burst, or a storage
/// fault) before the message shows as failed. High: such a refusal is not a failure.
pub const REFUSAL_RETRIES: u32 = 100;

/// Why a message failed, and whether sending it again could help.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// What the user reads.
    pub reason: String,
    /// `false` when the server refused the message itself (too long, not allowed): the
    /// same message would be refused again.
    pub retryable: bool,
}

/// What to do after a write's ack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AfterAck {
    /// Stored (or acked with nothing, as by the tutorial's server).
    Stored,
    /// Refused for now: send the same message again after this many milliseconds.
    ResendAfter(u32),
    /// Failed, with the reason shown.
    Failed(Failure),
}

/// Reads a write's ack, `refusals` being how many resend-later refusals came before.
pub fn after_ack(ack: Result<Option<WriteAck>, EmitError>, refusals: u32) -> AfterAck {
    match ack {
        Ok(Some(WriteAck {
            error: Some(_),
            retry_after_ms: Some(wait),
            ..
        })) if refusals < REFUSAL_RETRIES => {
            AfterAck::ResendAfter(u32::try_from(wait).unwrap_or(u32::MAX))
        }
        Ok(Some(WriteAck {
            error: Some(error),
            retry_after_ms,
            ..
        })) => AfterAck::Failed(Failure {
            reason: error,
            // Refused until now with a wait, then given up: sending later may still work.
            retryable: retry_after_ms.is_some(),
        }),
        Ok(_) => AfterAck::Stored,
        Err(EmitError::Timeout(_) | EmitError::Unavailable(_)) => AfterAck::Failed(Failure {
            reason: "not delivered".to_owned(),
            retryable: true,
        }),
        Err(EmitError::BadAck(_) | EmitError::BadArgs(_)) => AfterAck::Failed(Failure {
            reason: "unexpected reply from the server".to_owned(),
            retryable: true,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chat_protocol::values::ServerOffset;

    #[test]
    fn acks_decide_stored_resend_or_failed() {
        let stored = WriteAck {
            server_offset: Some(ServerOffset(3)),
            ..WriteAck::default()
        };
        assert_eq!(after_ack(Ok(Some(stored)), 0), AfterAck::Stored);
        assert_eq!(
            after_ack(Ok(None), 0),
            AfterAck::Stored,
            "the tutorial's empty ack"
        );
        let later = WriteAck {
            error: Some("rate limited".into()),
            retry_after_ms: Some(250),
            ..WriteAck::default()
        };
        assert_eq!(
            after_ack(Ok(Some(later.clone())), 0),
            AfterAck::ResendAfter(250)
        );
        let failed = |reason: &str, retryable| {
            AfterAck::Failed(Failure {
                reason: reason.into(),
                retryable,
            })
        };
        assert_eq!(
            after_ack(Ok(Some(later)), REFUSAL_RETRIES),
            failed("rate limited", true),
            "gives up after REFUSAL_RETRIES resends, but a later Retry may work"
        );
        let refused = WriteAck {
            error: Some("message is empty".into()),
            ..WriteAck::default()
        };
        assert_eq!(
            after_ack(Ok(Some(refused)), 0),
            failed("message is empty", false),
            "refused for what it is: no Retry"
        );
        assert_eq!(
            after_ack(Err(EmitError::Timeout("operation has timed out".into())), 0),
            failed("not delivered", true)
        );
        assert_eq!(
            after_ack(Err(EmitError::BadAck("x".into())), 0),
            failed("unexpected reply from the server", true)
        );
    }
}
