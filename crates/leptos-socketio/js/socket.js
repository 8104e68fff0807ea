// The JavaScript half of leptos-socketio (src/browser.rs): thin wrappers over the official
// socket.io-client ES module. The module is loaded with a dynamic import() from the URL the
// Rust side passes, so this snippet stays self-contained (wasm-bindgen copies only this file
// into pkg/snippets; a static import of another local file would 404).
//
// A socket is a handle `{ socket, queue, failed }`: until the module has loaded, every call
// is queued and then run in order, so handlers registered at once still see the first
// `connect`.

const modules = new Map();

function loadModule(url) {
  let promise = modules.get(url);
  if (!promise) {
    promise = import(url).then((module) => {
      if (typeof module.io !== "function") throw new Error(`${url} does not export io`);
      return module;
    });
    modules.set(url, promise);
  }
  return promise;
}

// Runs `call(socket)` now, or once the module has loaded; `fail(message)` if it cannot load.
function run(handle, call, fail) {
  if (handle.socket) call(handle.socket);
  else if (handle.failed) { if (fail) fail(handle.failed); }
  else handle.queue.push({ call, fail });
}

// Loads the module and opens a socket. `getAuth` is called before every connection attempt;
// `onLoadError(message)` if the module cannot be loaded.
export function openSocket(moduleUrl, url, options, getAuth, onLoadError) {
  const handle = { socket: null, queue: [], failed: null };
  loadModule(moduleUrl).then(
    ({ io }) => {
      if (handle.closed) return;
      const opts = Object.assign({}, options, { auth: (cb) => cb(getAuth()) });
      const socket = url ? io(url, opts) : io(opts);
      // Calls queued while draining run after the earlier ones, in order.
      while (handle.queue.length) handle.queue.shift().call(socket);
      handle.socket = socket;
    },
    (error) => {
      if (handle.closed) return;
      handle.failed = `could not load socket.io-client from ${moduleUrl}: ${error && error.message ? error.message : error}`;
      const queue = handle.queue;
      handle.queue = [];
      for (const { fail } of queue) if (fail) fail(handle.failed);
      onLoadError(handle.failed);
    },
  );
  return handle;
}

// Registers `handler` (called with the event's arguments as one array) and returns the
// listener to pass to `offEvent`. A removed listener is never called again, even by an
// emit already in progress (socket.io-client calls a copy of its listener list).
export function onEvent(handle, manager, event, handler) {
  const listener = (...args) => {
    if (listener.live) handler(args);
  };
  listener.live = true;
  run(handle, (socket) => (manager ? socket.io : socket).on(event, listener));
  return listener;
}

export function offEvent(handle, manager, event, listener) {
  listener.live = false;
  run(handle, (socket) => (manager ? socket.io : socket).off(event, listener));
}

export function emit(handle, volatile, event, args) {
  run(handle, (socket) => (volatile ? socket.volatile : socket).emit(event, ...args));
}

// Resolves with the ack's first argument (null for none). Rejects with
// `{ kind: "timeout" | "unavailable", message }`: "timeout" when socket.io-client gave up
// (ackTimeout elapsed on every try), "unavailable" when the module never loaded.
export function emitWithAck(handle, event, args) {
  return new Promise((resolve, reject) => {
    run(
      handle,
      (socket) =>
        socket.emitWithAck(event, ...args).then(
          (response) => resolve(response === undefined ? null : response),
          (error) => reject({ kind: "timeout", message: error instanceof Error ? error.message : String(error) }),
        ),
      (message) => reject({ kind: "unavailable", message }),
    );
  });
}

// The Rust socket was dropped: disconnect for good; nothing queued runs any more.
export function close(handle) {
  handle.closed = true;
  handle.queue = [];
  if (handle.socket) handle.socket.disconnect();
}

export function connect(handle) { run(handle, (socket) => socket.connect()); }
export function disconnect(handle) { run(handle, (socket) => socket.disconnect()); }
// Why the module could not be loaded (null while loading or once loaded).
export function loadFailure(handle) { return handle.failed; }
// Before the module has loaded the socket is about to connect: active.
export function isActive(handle) { return handle.socket ? handle.socket.active : !handle.failed; }

// 16 hex digits from crypto.getRandomValues.
export function randomId() {
  const bytes = new Uint8Array(8);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
