// Measures how soon a fresh page gets its first messages, whatever the history size: seeds
// the server up to N messages (256 in flight), then connects 5 fresh clients the way the
// page does (auth.historyLimit 50) and reports connect time, first message and `replay done`
// after the connect. Usage: node scripts/fresh-page.mjs URL [N=100000]
// (start the server with CHAT_MESSAGE_RATE=0 so the seeding is not rate limited).
import { io } from "socket.io-client";

const url = process.argv[2] ?? "http://127.0.0.1:3000";
const total = Number(process.argv[3] ?? 100_000);

const seeder = io(url, { transports: ["websocket"], forceNew: true, auth: { historyLimit: 1 } });
let stored = 0;
seeder.on("chat message", (_text, offset) => { stored = offset; });
await new Promise((ok) => seeder.on("replay done", ok));
const before = stored;
let next = stored;
const started = Date.now();
const lane = async () => {
  while (next < total) {
    const n = next++;
    const ack = await seeder.timeout(30_000).emitWithAck("chat message", `history message ${n}, of a typical length for a chat`, `fresh-seed-${n}`);
    if (!Number.isInteger(ack.serverOffset)) throw new Error(JSON.stringify(ack));
  }
};
await Promise.all(Array.from({ length: 256 }, lane));
console.log(`history: ${total} messages (seeded ${Math.max(0, total - before)} in ${Date.now() - started} ms)`);
seeder.close();

const runs = [];
for (let r = 0; r < 5; r++) {
  const t0 = performance.now();
  const socket = io(url, { transports: ["websocket"], forceNew: true, auth: { historyLimit: 50 } });
  let connected = 0;
  let first = 0;
  let count = 0;
  await new Promise((done) => {
    socket.on("connect", () => { connected = performance.now(); });
    socket.on("chat message", () => { if (!first) first = performance.now(); count++; });
    socket.on("replay done", done);
  });
  runs.push({
    connect_ms: +(connected - t0).toFixed(1),
    first_message_after_connect_ms: +(first - connected).toFixed(1),
    replay_done_after_connect_ms: +(performance.now() - connected).toFixed(1),
    messages: count,
  });
  socket.close();
}
console.table(runs);
