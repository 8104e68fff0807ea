//! The browser half: a [`Socket`] over socket.io-client (the JavaScript side is
//! `js/socket.js`), its [`Listener`]s and [`random_id`].
//!
//! Lifetimes are explicit because closures handed to JavaScript are not garbage-collected:
//! every closure this module creates belongs to a Rust value ([`Listener`] or [`Socket`])
//! and is freed when that value is dropped, unless the caller keeps it for the page's
//! lifetime on purpose ([`Listener::keep`]).

use std::rc::Rc;

use leptos::prelude::*;
use serde::Serialize;
use serde::de::DeserializeOwned;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

use crate::{ConnectionState, EmitError, Options};

#[wasm_bindgen(module = "/js/socket.js")]
extern "C" {
    #[wasm_bindgen(js_name = openSocket)]
    fn open_socket(
        module_url: &str,
        url: &str,
        options: &JsValue,
        get_auth: &JsValue,
        on_load_error: &JsValue,
    ) -> JsValue;
    #[wasm_bindgen(js_name = onEvent)]
    fn on_event(handle: &JsValue, manager: bool, event: &str, handler: &JsValue) -> JsValue;
    #[wasm_bindgen(js_name = offEvent)]
    fn off_event(handle: &JsValue, manager: bool, event: &str, listener: &JsValue);
    #[wasm_bindgen(js_name = emit)]
    fn emit_js(handle: &JsValue, volatile: bool, event: &str, args: &JsValue);
    #[wasm_bindgen(js_name = emitWithAck)]
    fn emit_with_ack_js(handle: &JsValue, event: &str, args: &JsValue) -> js_sys::Promise;
    #[wasm_bindgen(js_name = close)]
    fn close_js(handle: &JsValue);
    #[wasm_bindgen(js_name = connect)]
    fn connect_js(handle: &JsValue);
    #[wasm_bindgen(js_name = disconnect)]
    fn disconnect_js(handle: &JsValue);
    #[wasm_bindgen(js_name = loadFailure)]
    fn load_failure(handle: &JsValue) -> Option<String>;
    #[wasm_bindgen(js_name = isActive)]
    fn is_active_js(handle: &JsValue) -> bool;
    #[wasm_bindgen(js_name = randomId)]
    fn random_id_js() -> String;
}

/// A socket.io connection.
///
/// Cheap to clone (the clones share one connection). The connection stays open while any
/// clone exists; dropping the last one disconnects it for good and frees the closures it
/// owns (the auth supplier and its state tracking). Handlers registered with [`Socket::on`]
/// are owned by their [`Listener`]s, not by the socket.
#[derive(Clone)]
pub struct Socket {
    inner: Rc<Inner>,
}

struct Inner {
    handle: JsValue,
    state: RwSignal<ConnectionState>,
    _auth: Closure<dyn Fn() -> JsValue>,
    _load_error: Closure<dyn FnMut(String)>,
    _tracking: Vec<Listener>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        close_js(&self.handle);
    }
}

impl Socket {
    /// Loads socket.io-client from [`Options::module_url`] (once per URL) and connects to
    /// [`Options::url`] (empty: the page's origin). `auth` is called before every connection
    /// attempt and its value sent as the handshake's `auth`, so it can carry what changed
    /// since the last one (e.g. the last offset seen).
    ///
    /// Returns at once: every call made on the socket before the module has loaded is queued
    /// and run in order when it has. If it cannot be loaded, [`Socket::state`] becomes
    /// [`ConnectionState::Offline`] with the reason and pending acks fail with
    /// [`EmitError::Unavailable`].
    pub fn open<A: Serialize>(options: Options, auth: impl Fn() -> A + 'static) -> Self {
        let client_options = options
            .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
            .expect("Options holds only numbers and strings");
        let auth = Closure::<dyn Fn() -> JsValue>::new(move || {
            auth()
                .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
                .unwrap_or(JsValue::NULL)
        });
        let state = RwSignal::new(ConnectionState::Connecting);
        let load_error = Closure::<dyn FnMut(String)>::new(move |reason: String| {
            state.set(ConnectionState::Offline { reason });
        });
        let handle = open_socket(
            &options.module_url,
            &options.url,
            &client_options,
            auth.as_ref().unchecked_ref(),
            load_error.as_ref().unchecked_ref(),
        );
        let tracking = track_state(&handle, state);
        Self {
            inner: Rc::new(Inner {
                handle,
                state,
                _auth: auth,
                _load_error: load_error,
                _tracking: tracking,
            }),
        }
    }

    /// The connection state, following the client's `connect`, `disconnect`,
    /// `connect_error` and the manager's `reconnect_attempt` events.
    pub fn state(&self) -> ReadSignal<ConnectionState> {
        self.inner.state.read_only()
    }

    /// Calls `handler` with each `event`'s arguments deserialized as `T`: a tuple for a
    /// fixed list (`(String, i64)`), `Vec<serde_json::Value>` for any list. Events whose
    /// arguments do not fit `T` are logged to the console and skipped.
    ///
    /// The handler stays registered while the returned [`Listener`] lives: drop it (or call
    /// [`Listener::off`]) to remove it, or [`Listener::keep`] it for the page's lifetime.
    pub fn on<T: DeserializeOwned + 'static>(
        &self,
        event: &str,
        handler: impl FnMut(T) + 'static,
    ) -> Listener {
        Listener::new(&self.inner.handle, false, event, handler)
    }

    /// [`Socket::on`] for the events of the underlying Manager (`reconnect_attempt`,
    /// `reconnect`, `reconnect_failed`, …; see socket.io-client's Manager).
    pub fn on_manager<T: DeserializeOwned + 'static>(
        &self,
        event: &str,
        handler: impl FnMut(T) + 'static,
    ) -> Listener {
        Listener::new(&self.inner.handle, true, event, handler)
    }

    /// Emits `event` without an ack. `args` is the argument list: a tuple for several
    /// arguments, `()` for none, any other value as the only one (wrap a list meant as one
    /// argument in a 1-tuple: `(list,)`). Buffered while disconnected, as the client does.
    pub fn emit<A: Serialize + ?Sized>(&self, event: &str, args: &A) -> Result<(), EmitError> {
        emit_js(&self.inner.handle, false, event, &to_args(args)?);
        Ok(())
    }

    /// [`Socket::emit`] as a volatile packet: dropped, not buffered, while disconnected and
    /// outside the retry queue (for transient signals such as "typing").
    pub fn emit_volatile<A: Serialize + ?Sized>(
        &self,
        event: &str,
        args: &A,
    ) -> Result<(), EmitError> {
        emit_js(&self.inner.handle, true, event, &to_args(args)?);
        Ok(())
    }

    /// Emits `event` with `args` (as in [`Socket::emit`]) and resolves with the ack's first
    /// argument deserialized as `R` (a missing one reads as `null`, so `Option<R>` accepts
    /// an empty ack).
    ///
    /// With [`Options::retries`] the emit waits in the client's queue while disconnected and
    /// is resent after each lost ack; [`EmitError::Timeout`] once [`Options::ack_timeout`]
    /// has passed on every try. Without an ack timeout the future waits for the ack forever.
    pub async fn emit_with_ack<A: Serialize + ?Sized, R: DeserializeOwned>(
        &self,
        event: &str,
        args: &A,
    ) -> Result<R, EmitError> {
        let promise = emit_with_ack_js(&self.inner.handle, event, &to_args(args)?);
        let reply = wasm_bindgen_futures::JsFuture::from(promise)
            .await
            .map_err(rejection)?;
        serde_wasm_bindgen::from_value(reply).map_err(|e| EmitError::BadAck(e.to_string()))
    }

    /// Connects again after [`Socket::disconnect`] (or a refusal). Without the module
    /// (it could not be loaded) the socket stays offline.
    pub fn connect(&self) {
        if let Some(reason) = load_failure(&self.inner.handle) {
            self.inner.state.set(ConnectionState::Offline { reason });
            return;
        }
        self.inner.state.set(ConnectionState::Connecting);
        connect_js(&self.inner.handle);
    }

    /// Disconnects and stays disconnected until [`Socket::connect`].
    pub fn disconnect(&self) {
        disconnect_js(&self.inner.handle);
    }

    /// Drops the connection and opens a new one at once: the next handshake calls the auth
    /// supplier again (e.g. to replay from the last offset seen after a gap).
    pub fn reconnect(&self) {
        disconnect_js(&self.inner.handle);
        self.connect();
    }

    /// Whether the client is connected or will try to be (socket.io-client's
    /// `socket.active`).
    pub fn is_active(&self) -> bool {
        is_active_js(&self.inner.handle)
    }
}

/// Follows the client's events into `state`, with listeners the socket owns.
fn track_state(handle: &JsValue, state: RwSignal<ConnectionState>) -> Vec<Listener> {
    let active = handle.clone();
    let on_disconnect = Listener::new(handle, false, "disconnect", move |(reason,): (String,)| {
        state.set(ConnectionState::after_disconnect(
            reason,
            is_active_js(&active),
        ));
    });
    let active = handle.clone();
    let on_error = Listener::new(
        handle,
        false,
        "connect_error",
        move |_: serde_json::Value| {
            state.set(ConnectionState::after_connect_error(is_active_js(&active)));
        },
    );
    vec![
        Listener::new(handle, false, "connect", move |_: serde_json::Value| {
            state.set(ConnectionState::Connected)
        }),
        on_disconnect,
        on_error,
        Listener::new(
            handle,
            true,
            "reconnect_attempt",
            move |_: serde_json::Value| state.set(ConnectionState::Reconnecting),
        ),
    ]
}

/// The argument list for `args`: a list as it is, nothing for `()`, else one argument.
fn to_args<A: Serialize + ?Sized>(args: &A) -> Result<JsValue, EmitError> {
    let value = args
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| EmitError::BadArgs(e.to_string()))?;
    Ok(if js_sys::Array::is_array(&value) {
        value
    } else if value.is_null() || value.is_undefined() {
        js_sys::Array::new().into()
    } else {
        js_sys::Array::of1(&value).into()
    })
}

/// Reads the JavaScript side's `{ kind, message }` rejection.
fn rejection(error: JsValue) -> EmitError {
    let field = |name: &str| {
        js_sys::Reflect::get(&error, &JsValue::from_str(name))
            .ok()
            .and_then(|v| v.as_string())
            .unwrap_or_default()
    };
    let message = field("message");
    match field("kind").as_str() {
        "unavailable" => EmitError::Unavailable(message),
        _ => EmitError::Timeout(message),
    }
}

/// A registered handler; see [`Socket::on`].
///
/// The rule: the handler is registered while its `Listener` lives. Dropping it (or
/// [`Listener::off`]) removes it from the socket (`socket.off(event, fn)`), and it is not
/// called again, even by an event being dispatched at that moment; its closure is freed.
/// [`Listener::keep`] leaves it registered for the page's lifetime, its closure included.
#[must_use = "dropping a Listener removes its handler at once; call `.keep()` to keep it"]
pub struct Listener {
    handle: JsValue,
    manager: bool,
    event: String,
    listener: JsValue,
    closure: Option<Closure<dyn FnMut(JsValue)>>,
}

impl Listener {
    fn new<T: DeserializeOwned + 'static>(
        handle: &JsValue,
        manager: bool,
        event: &str,
        mut handler: impl FnMut(T) + 'static,
    ) -> Self {
        let name = event.to_owned();
        let closure = Closure::<dyn FnMut(JsValue)>::new(move |args: JsValue| {
            match serde_wasm_bindgen::from_value::<T>(args) {
                Ok(value) => handler(value),
                Err(error) => {
                    web_sys::console::warn_1(&format!("socket: bad `{name}` event: {error}").into())
                }
            }
        });
        let listener = on_event(handle, manager, event, closure.as_ref().unchecked_ref());
        Self {
            handle: handle.clone(),
            manager,
            event: event.to_owned(),
            listener,
            closure: Some(closure),
        }
    }

    /// The event this handler listens to.
    pub fn event(&self) -> &str {
        &self.event
    }

    /// Removes the handler now (the same as dropping the `Listener`).
    pub fn off(self) {}

    /// Keeps the handler registered for the page's lifetime: its closure is never freed.
    /// For handlers that live as long as the page anyway.
    pub fn keep(mut self) {
        if let Some(closure) = self.closure.take() {
            closure.forget();
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        if self.closure.is_some() {
            off_event(&self.handle, self.manager, &self.event, &self.listener);
        }
    }
}

/// A random identifier: 16 hex digits from `crypto.getRandomValues`.
pub fn random_id() -> String {
    random_id_js()
}
