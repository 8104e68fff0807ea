// The JavaScript half of the typed socket.io binding (app/src/socket/mod.rs): thin wrappers
// over the official socket.io-client, loaded from the URL the chat server serves it at. It
// stays self-contained: wasm-bindgen copies only this file into pkg/snippets.
import { io } from "/socket.io/socket.io.esm.min.js";

// Opens a socket. `getAuth` is called before every (re)connection, so the auth payload
// always carries the latest serverOffset.
export function connectSocket(url, options, getAuth) {
  const opts = Object.assign({}, options, { auth: (cb) => cb(getAuth()) });
  return url ? io(url, opts) : io(opts);
}

// Calls `handler` with the event's arguments as one array.
export function onEvent(socket, event, handler) {
  socket.on(event, (...args) => handler(args));
}

// Same, for events of the underlying Manager (reconnect_attempt, ...).
export function onManagerEvent(socket, event, handler) {
  socket.io.on(event, (...args) => handler(args));
}

// Emits with an ack; resolves with the ack's first argument, rejects when the client gives
// up (ackTimeout elapsed on every try). With `retries` set the client queues the packet
// while offline and resends it until acked.
export function emitWithAck(socket, event, args) {
  return new Promise((resolve, reject) => {
    socket.emit(event, ...args, (err, response) => {
      if (err) reject(err instanceof Error ? err.message : String(err));
      else resolve(response === undefined ? null : response);
    });
  });
}

// Emits without an ack, outside the client's retry queue (which would wait for an ack):
// for transient signals such as `typing`, dropped while disconnected.
export function emitVolatile(socket, event, args) {
  socket.volatile.emit(event, ...args);
}

export function socketConnect(socket) { socket.connect(); }
export function socketDisconnect(socket) { socket.disconnect(); }
export function socketActive(socket) { return socket.active; }

// A random id for this tab: 16 hex digits from crypto.getRandomValues.
export function randomId() {
  const bytes = new Uint8Array(8);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
