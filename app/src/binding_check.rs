//! The socket binding's own check page (browser only), for what the chat does not exercise:
//! removing a handler, an ack that times out, the module URL option and calls made before
//! the module has loaded. `end2end/tests/socket-binding.spec.ts` serves a static page that
//! loads this WASM and calls [`socket_binding_check`], then reads the results from the DOM.
//!
//! Why not a route of the chat: the server routes only `/` to the app, and the check is not
//! part of the chat; an exported entry point costs the chat nothing until a page calls it,
//! and nothing links to it.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_socketio::{EmitError, Listener, Options, Socket, random_id};
use serde_json::Value;
use wasm_bindgen::prelude::wasm_bindgen;

/// Where the check's second socket loads socket.io-client from (the spec serves a copy).
const CUSTOM_MODULE_URL: &str = "/vendor/socket.io.esm.min.js";

/// A module URL that does not exist.
const MISSING_MODULE_URL: &str = "/missing/socket.io.esm.min.js";

/// Mounts the check page into `<body>`.
#[wasm_bindgen]
pub fn socket_binding_check() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(BindingCheck);
}

/// What an ack result reads as on the page: `acked <json>`, `timeout after N ms: …`,
/// `unavailable: …`, `error: …`.
fn describe(result: Result<Value, EmitError>, started: f64) -> String {
    let elapsed = js_sys::Date::now() - started;
    match result {
        Ok(ack) => format!("acked {ack}"),
        Err(EmitError::Timeout(message)) => format!("timeout after {elapsed:.0} ms: {message}"),
        Err(EmitError::Unavailable(message)) => format!("unavailable: {message}"),
        Err(error) => format!("error: {error}"),
    }
}

/// Counts `chat message` events whose text starts with `prefix` (this page's pings, not
/// the replay of earlier pages').
fn counter(prefix: String, count: RwSignal<u32>) -> impl FnMut(Vec<Value>) + 'static {
    move |args: Vec<Value>| {
        if args
            .first()
            .and_then(Value::as_str)
            .is_some_and(|t| t.starts_with(&prefix))
        {
            count.update(|n| *n += 1);
        }
    }
}

/// The check page: three sockets (default module URL; a custom one; a missing one) and
/// buttons that exercise the main socket.
#[component]
fn BindingCheck() -> impl IntoView {
    // Short acks so the timeout check takes one second: 2 tries of 500 ms.
    let socket = Socket::open(
        Options {
            ack_timeout: Some(500),
            retries: Some(1),
            transports: Some(vec!["websocket".into()]),
            ..Options::default()
        },
        || serde_json::json!({ "nickname": "binding-check" }),
    );
    let prefix = format!("ping {} ", random_id());
    let kept = RwSignal::new(0_u32);
    let removed = RwSignal::new(0_u32);
    socket
        .on::<Vec<Value>>("chat message", counter(prefix.clone(), kept))
        .keep();
    let removable: StoredValue<Option<Listener>, LocalStorage> = StoredValue::new_local(Some(
        socket.on::<Vec<Value>>("chat message", counter(prefix.clone(), removed)),
    ));
    let removed_state = RwSignal::new("registered");

    // Emitted before the module has loaded: queued, then sent once it has.
    let early_ack = RwSignal::new(String::new());
    let ping = {
        let socket = socket.clone();
        let sent = StoredValue::new(0_u32);
        move |into: RwSignal<String>| {
            sent.update_value(|n| *n += 1);
            let text = format!("{prefix}{}", sent.get_value());
            let socket = socket.clone();
            spawn_local(async move {
                let started = js_sys::Date::now();
                let ack = socket
                    .emit_with_ack::<_, Value>("chat message", &(text, random_id()))
                    .await;
                into.set(describe(ack, started));
            });
        }
    };
    ping(early_ack);

    let last_ack = RwSignal::new(String::new());
    let timeout = RwSignal::new(String::new());
    let wait_for_nothing = {
        let socket = socket.clone();
        move |_| {
            timeout.set("waiting".into());
            let socket = socket.clone();
            spawn_local(async move {
                let started = js_sys::Date::now();
                // The server acks no unknown event: every try times out.
                let ack = socket
                    .emit_with_ack::<_, Value>("no such event", &("x",))
                    .await;
                timeout.set(describe(ack, started));
            });
        }
    };

    let custom = Socket::open(
        Options {
            module_url: CUSTOM_MODULE_URL.into(),
            transports: Some(vec!["websocket".into()]),
            ..Options::default()
        },
        || (),
    );
    let missing = Socket::open(
        Options {
            module_url: MISSING_MODULE_URL.into(),
            ack_timeout: Some(500),
            ..Options::default()
        },
        || (),
    );
    let missing_ack = RwSignal::new(String::new());
    {
        let missing = missing.clone();
        spawn_local(async move {
            let started = js_sys::Date::now();
            let ack = missing.emit_with_ack::<_, Value>("online", &()).await;
            missing_ack.set(describe(ack, started));
        });
    }
    let connect_presses = RwSignal::new(0_u32);
    let connect_missing = {
        let missing = missing.clone();
        move |_| {
            missing.connect();
            connect_presses.update(|n| *n += 1);
        }
    };
    let state = socket.state();
    let custom_state = custom.state();
    let missing_state = missing.state();
    // The sockets live as long as the page.
    let _sockets = StoredValue::new_local((socket, custom, missing));

    view! {
        <h1>"leptos-socketio check"</h1>
        <dl>
            <dt>"state"</dt>
            <dd id="state" data-state=move || state.get().key()>{move || state.get().label()}</dd>
            <dt>"ack of the ping sent before the module loaded"</dt>
            <dd id="early-ack">{early_ack}</dd>
            <dt>"kept handler calls"</dt>
            <dd id="kept">{kept}</dd>
            <dt>"removable handler calls"</dt>
            <dd id="removed">{removed}</dd>
            <dt>"removable handler"</dt>
            <dd id="removed-state">{removed_state}</dd>
            <dt>"last ack"</dt>
            <dd id="last-ack">{last_ack}</dd>
            <dt>"ack that never comes"</dt>
            <dd id="timeout">{timeout}</dd>
            <dt>"socket loaded from " {CUSTOM_MODULE_URL}</dt>
            <dd id="custom-state" data-state=move || custom_state.get().key()>{move || custom_state.get().label()}</dd>
            <dt>"socket loaded from " {MISSING_MODULE_URL}</dt>
            <dd id="missing-state" data-state=move || missing_state.get().key()>
                {move || match missing_state.get() {
                    leptos_socketio::ConnectionState::Offline { reason } => reason,
                    other => other.label().to_owned(),
                }}
            </dd>
            <dt>"its connect() calls"</dt>
            <dd id="missing-connects">{connect_presses}</dd>
            <dt>"its ack"</dt>
            <dd id="missing-ack">{missing_ack}</dd>
        </dl>
        <button id="ping" on:click=move |_| ping(last_ack)>"Ping"</button>
        <button id="remove" on:click=move |_| {
            removable.set_value(None);
            removed_state.set("removed");
        }>"Remove the removable handler"</button>
        <button id="timeout-btn" on:click=wait_for_nothing>"Emit with an ack that never comes"</button>
        <button id="connect-missing" on:click=connect_missing>"Connect the socket without a module"</button>
    }
}
