//! The chat's web app: Leptos components rendered on the server and hydrated in the browser.
//!
//! - [`shell`] is the HTML document the server renders; [`App`] the page inside it;
//! - [`chat`] holds the page state (messages, outbox, connection) and, in the browser, the
//!   socket session that fills it, through the `leptos-socketio` binding over the official
//!   socket.io-client and the wire types of `chat-protocol`;
//! - [`components`] are the message list, the composer and the connection controls;
//! - [`hydrate`] is the WASM entry point; `binding_check` (feature `binding-check`, added
//!   by the test build only) is the socket binding's own check page, for the browser tests.

#[cfg(feature = "binding-check")]
pub mod binding_check;
pub mod chat;
pub mod components;
pub mod viewer;

use leptos::prelude::*;
use leptos_meta::{HashedStylesheet, MetaTags, Title, provide_meta_context};

use chat::Chat;
use components::{
    AccountPanel, ChannelHeader, ChannelNav, Composer, ConnectionIndicator, ConnectionToggle,
    MessageList, OnlineList, OnlineToggle, TypingIndicator,
};
pub use viewer::{AuthNotice, Viewer};

/// How the page's socket.io client behaves, chosen by the server and handed to the page in
/// `<meta>` tags (the browser reads them in [`chat`] before connecting).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientSettings {
    /// How long the client waits for each ack before resending, in milliseconds.
    pub ack_timeout_ms: u32,
    /// How many times an unacked message is resent before it shows as failed.
    pub retries: u32,
    /// The longest message the server takes, in UTF-8 bytes (the composer's counter).
    pub max_message_bytes: u32,
    /// The version of the socket.io-client the server serves (empty: unknown). The page
    /// loads the client with it in the URL, which the server lets browsers keep for a year.
    pub client_version: &'static str,
}

impl ClientSettings {
    /// Where the page loads socket.io-client from: with the version in the URL when known.
    pub fn client_module_url(&self) -> String {
        let url = leptos_socketio::DEFAULT_MODULE_URL;
        if self.client_version.is_empty() {
            url.to_owned()
        } else {
            format!("{url}?v={}", self.client_version)
        }
    }
}

impl Default for ClientSettings {
    /// The tutorial's values: 10 s and 3 retries.
    fn default() -> Self {
        Self {
            ack_timeout_ms: 10_000,
            retries: 3,
            max_message_bytes: 4096,
            client_version: "",
        }
    }
}

/// The `<meta>` names carrying [`ClientSettings`].
pub mod meta {
    /// Ack timeout in milliseconds.
    pub const ACK_TIMEOUT: &str = "chat-ack-timeout-ms";
    /// Retries.
    pub const RETRIES: &str = "chat-retries";
    /// The message limit in bytes.
    pub const MAX_MESSAGE_BYTES: &str = "chat-max-message-bytes";
    /// The URL of socket.io-client's ES module.
    pub const CLIENT_MODULE: &str = "chat-client-module";
}

/// The HTML document: head with the hydration scripts, body with the [`App`]. The server
/// renders it with the [`Viewer`] (and any [`AuthNotice`]) of the request provided as
/// context.
pub fn shell(options: LeptosOptions, settings: ClientSettings) -> impl IntoView {
    let viewer = use_context::<Viewer>().unwrap_or_default();
    provide_context(settings);
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <meta name=meta::ACK_TIMEOUT content=settings.ack_timeout_ms.to_string()/>
                <meta name=meta::RETRIES content=settings.retries.to_string()/>
                <meta name=meta::MAX_MESSAGE_BYTES content=settings.max_message_bytes.to_string()/>
                <meta name=meta::CLIENT_MODULE content=settings.client_module_url()/>
                <meta name=viewer::VIEWER_META content=viewer.username.unwrap_or_default()/>
                <AutoReload options=options.clone()/>
                // Named after the build's hashes when it made them (see Cargo.toml).
                <HashedStylesheet id="leptos" options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The chat page.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // The server provides both; the browser reads the same values back from the page.
    #[cfg(feature = "hydrate")]
    {
        provide_context(Viewer::from_page());
        provide_context(AuthNotice::from_query(&chat::dom::query_string()));
    }
    if use_context::<Viewer>().is_none() {
        provide_context(Viewer::default());
    }
    let chat = Chat::new();
    provide_context(chat);
    // Effects run only in the browser, after hydration: that is where the socket opens.
    Effect::new(move |_| chat.start());
    view! {
        <Title text=move || {
            let elsewhere = chat.channels.with(|c| chat::channels::total_unread(c, chat.current.get()));
            match u64::from(chat.unread.get()) + elsewhere {
                0 => "Chat".to_owned(),
                n => format!("({n}) Chat"),
            }
        }/>
        <header class="topbar">
            <h1>"Chat"</h1>
            <AccountPanel/>
            <OnlineToggle/>
            <ConnectionIndicator/>
            <ConnectionToggle/>
        </header>
        <ChannelNav/>
        <main>
            <ChannelHeader/>
            <MessageList/>
        </main>
        <OnlineList/>
        // A landmark of its own, so every part of the page is in one (axe-core `region`).
        <footer class="compose">
            <TypingIndicator/>
            <Composer/>
        </footer>
    }
}

/// The WASM entry point: hydrate the server-rendered page, then mark `<body>` so tests (and
/// scripts) know the page is interactive.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(App);
    if let Some(body) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.body())
    {
        let _ = body.set_attribute("data-hydrated", "true");
    }
}
