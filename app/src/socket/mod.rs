//! A typed Rust binding over the official socket.io-client (browser only).
//!
//! [`Socket::connect`] opens a connection with [`Options`] (auth supplier, ack timeout,
//! retries); [`Socket::on`] registers a handler whose arguments are deserialized into a Rust
//! type; [`Socket::emit_with_ack`] is a `Future` of the ack; [`Socket::state`] is the
//! connection state as a Leptos signal. The JavaScript side is `app/js/socket.js`. Nothing
//! here knows about the chat, so it can become a crate of its own.

use leptos::prelude::*;
use serde::Serialize;
use serde::de::DeserializeOwned;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

#[wasm_bindgen(module = "/js/socket.js")]
extern "C" {
    #[wasm_bindgen(js_name = connectSocket)]
    fn connect_socket(url: &str, options: &JsValue, get_auth: &JsValue) -> JsValue;
    #[wasm_bindgen(js_name = onEvent)]
    fn on_event(socket: &JsValue, event: &str, handler: &JsValue);
    #[wasm_bindgen(js_name = onManagerEvent)]
    fn on_manager_event(socket: &JsValue, event: &str, handler: &JsValue);
    #[wasm_bindgen(js_name = emitWithAck)]
    fn emit_with_ack_js(socket: &JsValue, event: &str, args: &JsValue) -> js_sys::Promise;
    #[wasm_bindgen(js_name = emitVolatile)]
    fn emit_volatile_js(socket: &JsValue, event: &str, args: &JsValue);
    #[wasm_bindgen(js_name = socketConnect)]
    fn socket_connect(socket: &JsValue);
    #[wasm_bindgen(js_name = socketDisconnect)]
    fn socket_disconnect(socket: &JsValue);
    #[wasm_bindgen(js_name = socketActive)]
    fn socket_active(socket: &JsValue) -> bool;
    #[wasm_bindgen(js_name = randomId)]
    fn random_id_js() -> String;
}

pub use crate::socket_state::ConnectionState;

/// Connection options, as socket.io-client's `ManagerOptions & SocketOptions`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Options {
    /// How long to wait for each ack before a retry, in milliseconds.
    pub ack_timeout: u32,
    /// How many times an unacked emit is resent before its future fails.
    pub retries: u32,
}

/// Why an emit with ack failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmitError {
    /// No ack came after every retry (the client's message).
    NoAck(String),
    /// The ack could not be read as the expected type.
    BadAck(String),
    /// The arguments could not be serialized.
    BadArgs(String),
}

/// An open socket.io connection. Handlers live as long as the page.
#[derive(Clone)]
pub struct Socket {
    inner: JsValue,
    state: RwSignal<ConnectionState>,
}

impl Socket {
    /// Connects to the server that served the page (`url` empty) or to `url`. `auth` is
    /// called before every connection attempt for the `auth` payload.
    pub fn connect<A: Serialize>(
        url: &str,
        options: &Options,
        auth: impl Fn() -> A + 'static,
    ) -> Self {
        let options = serde_wasm_bindgen::to_value(options).expect("options serialize");
        let get_auth = Closure::<dyn Fn() -> JsValue>::new(move || {
            auth()
                .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
                .unwrap_or(JsValue::NULL)
        });
        let inner = connect_socket(url, &options, get_auth.as_ref().unchecked_ref());
        get_auth.forget();
        let socket = Self {
            inner,
            state: RwSignal::new(ConnectionState::Connecting),
        };
        socket.track_state();
        socket
    }

    /// The connection state, updated by the client's events.
    pub fn state(&self) -> ReadSignal<ConnectionState> {
        self.state.read_only()
    }

    /// Calls `handler` with each `event`'s arguments, deserialized as `T` (use a tuple for
    /// several arguments). Events whose arguments do not fit `T` are logged and skipped.
    pub fn on<T: DeserializeOwned + 'static>(
        &self,
        event: &str,
        mut handler: impl FnMut(T) + 'static,
    ) {
        let name = event.to_owned();
        let callback = Closure::<dyn FnMut(JsValue)>::new(move |args: JsValue| {
            match serde_wasm_bindgen::from_value::<T>(args) {
                Ok(value) => handler(value),
                Err(error) => {
                    web_sys::console::warn_1(&format!("socket: bad `{name}` event: {error}").into())
                }
            }
        });
        on_event(&self.inner, event, callback.as_ref().unchecked_ref());
        callback.forget();
    }

    /// Emits `event` with `args` (a tuple is sent as several arguments) and resolves with the
    /// ack's first argument. While disconnected the emit waits in the client's queue.
    pub async fn emit_with_ack<A: Serialize, R: DeserializeOwned>(
        &self,
        event: &str,
        args: &A,
    ) -> Result<R, EmitError> {
        let args = args
            .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
            .map_err(|e| EmitError::BadArgs(e.to_string()))?;
        let args = if js_sys::Array::is_array(&args) {
            args
        } else {
            js_sys::Array::of1(&args).into()
        };
        let reply =
            wasm_bindgen_futures::JsFuture::from(emit_with_ack_js(&self.inner, event, &args))
                .await
                .map_err(|e| EmitError::NoAck(e.as_string().unwrap_or_else(|| "no ack".into())))?;
        serde_wasm_bindgen::from_value(reply).map_err(|e| EmitError::BadAck(e.to_string()))
    }

    /// Emits `event` with `args` once, without an ack: dropped while disconnected (for
    /// transient signals such as typing).
    pub fn emit_volatile<A: Serialize>(&self, event: &str, args: &A) {
        let Ok(args) = args.serialize(&serde_wasm_bindgen::Serializer::json_compatible()) else {
            return;
        };
        let args = if js_sys::Array::is_array(&args) {
            args
        } else {
            js_sys::Array::of1(&args).into()
        };
        emit_volatile_js(&self.inner, event, &args);
    }

    /// Reconnects after [`Self::disconnect`].
    pub fn connect_again(&self) {
        self.state.set(ConnectionState::Connecting);
        socket_connect(&self.inner);
    }

    /// Disconnects and stays disconnected until [`Self::connect_again`].
    pub fn disconnect(&self) {
        socket_disconnect(&self.inner);
    }

    /// Drops the connection and opens a new one at once (e.g. to replay after a gap).
    pub fn reconnect(&self) {
        socket_disconnect(&self.inner);
        self.connect_again();
    }

    /// Follows the client's connect/disconnect/reconnect events into [`Self::state`].
    fn track_state(&self) {
        let state = self.state;
        let inner = self.inner.clone();
        self.on::<serde_json::Value>("connect", move |_| state.set(ConnectionState::Connected));
        let active = inner.clone();
        self.on::<(String,)>("disconnect", move |(reason,)| {
            state.set(if socket_active(&active) {
                ConnectionState::Reconnecting
            } else {
                ConnectionState::Offline { reason }
            })
        });
        let active = inner.clone();
        self.on::<serde_json::Value>("connect_error", move |_| {
            state.set(if socket_active(&active) {
                ConnectionState::Reconnecting
            } else {
                ConnectionState::Offline {
                    reason: "connection refused".into(),
                }
            })
        });
        let callback =
            Closure::<dyn FnMut(JsValue)>::new(move |_| state.set(ConnectionState::Reconnecting));
        on_manager_event(
            &inner,
            "reconnect_attempt",
            callback.as_ref().unchecked_ref(),
        );
        callback.forget();
    }
}

/// A random identifier (16 hex digits from `crypto.getRandomValues`).
pub fn random_id() -> String {
    random_id_js()
}
