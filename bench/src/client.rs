//! A minimal Socket.IO v5 client over a raw Engine.IO v4 websocket: just what the harness
//! needs, with a receive path that does not parse JSON per delivery.

use std::sync::LazyLock;
use std::time::Duration;

use anyhow::{Context, bail};
use chat_protocol::auth::AuthRequest;
use chat_protocol::events::{CHANNEL_MESSAGE, CHAT_MESSAGE, CHAT_MESSAGES};

use crate::websocket::{self, WebSocket};

/// The Engine.IO v4 websocket endpoint.
const PATH: &str = "/socket.io/?EIO=4&transport=websocket";

/// One client connection.
pub type Ws = WebSocket;

/// Opens a socket on `port` with the given connect `auth` JSON and waits for the namespace
/// CONNECT reply.
pub async fn connect(host: &str, port: u16, auth: &str) -> anyhow::Result<Ws> {
    connect_as(host, port, auth, None).await
}

/// [`connect`], signed in with a session `cookie` (`name=value`) when one is given.
pub async fn connect_as(
    host: &str,
    port: u16,
    auth: &str,
    cookie: Option<&str>,
) -> anyhow::Result<Ws> {
    let headers = cookie.map_or_else(String::new, |c| format!("Cookie: {c}\r\n"));
    let mut ws = tokio::time::timeout(
        Duration::from_secs(30),
        WebSocket::connect_with(host, port, PATH, &headers),
    )
    .await
    .context("websocket connect timed out")??;
    let open = next_text(&mut ws).await?;
    if !open.starts_with('0') {
        bail!("expected the Engine.IO open packet, got {open}");
    }
    ws.send_text(&format!("40{auth}")).await?;
    loop {
        let reply = next_text(&mut ws).await?;
        if reply.starts_with("40") {
            return Ok(ws);
        }
        if reply.starts_with("44") {
            bail!("connect refused: {reply}");
        }
    }
}

/// The next buffered frame that is not an Engine.IO ping. Pings are answered here, the one
/// place that does: their pong is queued for the socket's next flush.
fn next_buffered(ws: &mut Ws) -> anyhow::Result<Option<websocket::Frame>> {
    while let Some(frame) = ws.try_next_frame()? {
        if ws.payload(&frame) != b"2" {
            return Ok(Some(frame));
        }
        ws.queue_text("3");
    }
    Ok(None)
}

/// The next text frame already read, if any (pings answered on the way). The text borrows
/// the socket's read buffer.
pub fn try_next_text(ws: &mut Ws) -> anyhow::Result<Option<&str>> {
    match next_buffered(ws)? {
        Some(frame) => Ok(Some(ws.text(&frame)?)),
        None => Ok(None),
    }
}

/// The next text frame, reading as needed (pings answered on the way, and queued frames
/// written before it waits). The text borrows the socket's read buffer.
pub async fn next_text(ws: &mut Ws) -> anyhow::Result<&str> {
    let frame = loop {
        if let Some(frame) = next_buffered(ws)? {
            break frame;
        }
        ws.flush().await?;
        if !ws.fill().await? {
            bail!("connection closed");
        }
    };
    Ok(ws.text(&frame)?)
}

/// Answers every Engine.IO ping already read (an idle client); other frames are dropped.
pub async fn answer_pings(ws: &mut Ws) -> anyhow::Result<()> {
    while try_next_text(ws)?.is_some() {}
    Ok(ws.flush().await?)
}

/// What one received text frame is, classified by prefix only.
pub enum Frame<'a> {
    /// `42["chat message","<text>",<offset>]`: the text (still JSON-escaped) and offset.
    Chat { text: &'a str, offset: i64 },
    /// `42["chat messages",[...]]`: a list of messages; [`batch_messages`] walks it.
    Batch { list: &'a str },
    /// `43<id>[...]`: an ack, with its id.
    Ack { id: u64 },
    /// Anything else (replay done, pings handled elsewhere, ...).
    Other,
}

/// `42["chat messages",[`: how a `chat messages` list frame starts.
static BATCH_PREFIX: LazyLock<String> = LazyLock::new(|| format!(r#"42["{CHAT_MESSAGES}",["#));

/// `42["chat message","`: how a `chat message` frame starts, up to its text.
static CHAT_PREFIX: LazyLock<String> = LazyLock::new(|| format!(r#"42["{CHAT_MESSAGE}",""#));

/// The connect `auth` of a harness client: replay after `server_offset`, live messages in
/// lists when `batched`.
pub fn auth(server_offset: i64, batched: bool) -> String {
    serde_json::to_string(&AuthRequest {
        server_offset: Some(server_offset),
        batched: Some(batched),
        ..AuthRequest::default()
    })
    .expect("an auth request serializes")
}

/// Classifies a frame without a JSON parser: chat messages from the harness carry plain
/// ASCII text, so the text ends at the first `",`.
pub fn classify(frame: &str) -> Frame<'_> {
    if let Some(list) = frame.strip_prefix(BATCH_PREFIX.as_str()) {
        return Frame::Batch { list };
    }
    if let Some(rest) = frame.strip_prefix(CHAT_PREFIX.as_str()) {
        if let Some(end) = rest.find("\",") {
            let offset = rest[end + 2..]
                .trim_end_matches(']')
                .split(',')
                .next()
                .and_then(|o| o.parse().ok());
            if let Some(offset) = offset {
                return Frame::Chat {
                    text: &rest[..end],
                    offset,
                };
            }
        }
        return Frame::Other;
    }
    if let Some(rest) = frame.strip_prefix("43") {
        let digits: &str = &rest[..rest.find('[').unwrap_or(rest.len())];
        if let Ok(id) = digits.parse() {
            return Frame::Ack { id };
        }
    }
    Frame::Other
}

/// The `serverOffset` of a write's ack frame (`43<id>[{"serverOffset":N,…}]`), if it has one.
pub fn ack_offset(frame: &str) -> Option<i64> {
    let rest = &frame[frame.find(r#""serverOffset":"#)? + r#""serverOffset":"#.len()..];
    let end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}

/// The `(text, offset)` of each message in a `chat messages` list (the frame after
/// `42["chat messages",[`), without a JSON parser: each element is `["<text>",<offset>,{…}]`
/// with harness text (plain ASCII) and a metadata object without brackets inside.
pub fn batch_messages(list: &str) -> impl Iterator<Item = (&str, i64)> {
    let mut rest = list;
    std::iter::from_fn(move || {
        let element = rest.strip_prefix(r#"[""#)?;
        let text_end = element.find("\",")?;
        let after_text = &element[text_end + 2..];
        let offset_end = after_text.find([',', ']'])?;
        let offset = after_text[..offset_end].parse().ok()?;
        let element_end = after_text.find(']')?;
        rest = after_text[element_end + 1..].trim_start_matches(',');
        Some((&element[..text_end], offset))
    })
}

/// The `chat message` packet for `text` with ack id `ack`.
pub fn chat_message(ack: u64, text: &str, client_offset: &str) -> String {
    format!(r#"42{ack}["{CHAT_MESSAGE}","{text}","{client_offset}"]"#)
}

/// Where a client posts: `#general` with the tutorial's `chat message`, or a channel with
/// `channel message`.
#[derive(Debug, Clone, Copy)]
pub enum PostTo {
    /// `chat message`.
    General,
    /// `channel message` to this channel id.
    Channel(i64),
}

impl PostTo {
    /// The packet that posts `text` with ack id `ack`.
    pub fn packet(self, ack: u64, text: &str, client_offset: &str) -> String {
        match self {
            Self::General => chat_message(ack, text, client_offset),
            Self::Channel(channel) => {
                format!(r#"42{ack}["{CHANNEL_MESSAGE}",{channel},"{text}","{client_offset}"]"#)
            }
        }
    }
}

/// Emits `event` with one JSON argument and waits for its ack (setup only: other frames
/// read meanwhile are dropped). Returns the ack's argument.
pub async fn request(
    ws: &mut Ws,
    ack: u64,
    event: &str,
    arg: &serde_json::Value,
) -> anyhow::Result<serde_json::Value> {
    ws.send_text(&format!("42{ack}{}", serde_json::json!([event, arg])))
        .await?;
    loop {
        let text = next_text(ws).await?;
        if let Some(rest) = text.strip_prefix(&format!("43{ack}")) {
            let mut args: Vec<serde_json::Value> = serde_json::from_str(rest)?;
            return Ok(args.pop().unwrap_or_default());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_chat_messages_and_acks() {
        match classify(r#"42["chat message","t=12 s=3",57]"#) {
            Frame::Chat { text, offset } => assert_eq!((text, offset), ("t=12 s=3", 57)),
            _ => panic!("a chat message"),
        }
        assert!(matches!(
            classify(r#"4312[{"serverOffset":5}]"#),
            Frame::Ack { id: 12 }
        ));
        assert!(matches!(
            classify(r#"42["replay done",{"count":0}]"#),
            Frame::Other
        ));
        assert_eq!(ack_offset(r#"4312[{"serverOffset":5}]"#), Some(5));
        assert_eq!(
            ack_offset(r#"4312[{"serverOffset":77,"duplicate":true}]"#),
            Some(77)
        );
        assert_eq!(ack_offset(r#"4312[{"error":"x","retryAfterMs":5}]"#), None);
    }

    #[test]
    fn walks_a_list_of_messages() {
        let frame = r#"42["chat messages",[["t=1 c=0 n=0",7,{"author":"anonymous","createdAt":1}],["t=2 c=1 n=0",8,{"author":"b","createdAt":2}]]]"#;
        let Frame::Batch { list } = classify(frame) else {
            panic!("a list");
        };
        assert_eq!(
            batch_messages(list).collect::<Vec<_>>(),
            [("t=1 c=0 n=0", 7), ("t=2 c=1 n=0", 8)]
        );
        let Frame::Batch { list } = classify(r#"42["chat messages",[["x",9]]]"#) else {
            panic!("a list");
        };
        assert_eq!(batch_messages(list).collect::<Vec<_>>(), [("x", 9)]);
    }
}
