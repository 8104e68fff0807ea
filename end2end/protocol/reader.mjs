// A tutorial-style chat reader in a process of its own, so a test can freeze it (SIGSTOP)
// like a client that stops reading. Usage: node reader.mjs URL [single|batched] (batched:
// live messages as `chat messages` lists, `auth.batched`). It connects (reconnecting
// with its last offset, as the tutorial's client does), prints "ready" after its first
// replay, then reads a target offset on stdin; once it holds that offset it prints one
// JSON line {count, duplicates, gaps, outOfOrder, last, disconnects} and exits.
import { createInterface } from "node:readline";
import { io } from "socket.io-client";

const [url, delivery = "single"] = process.argv.slice(2);
const seen = new Set();
let count = 0;
let duplicates = 0;
let outOfOrder = 0;
let last = 0;
let disconnects = 0;
let batches = 0;
let target = null;
let ready = false;

const socket = io(url, {
  transports: ["websocket"],
  reconnectionDelay: 100,
  reconnectionDelayMax: 1000,
  auth: (cb) => cb({ serverOffset: last, batched: delivery === "batched" }),
});

function finishIfDone() {
  if (target === null || last < target) return;
  let gaps = 0;
  for (let o = 1; o <= target; o++) if (!seen.has(o)) gaps++;
  console.log(JSON.stringify({ count, duplicates, gaps, outOfOrder, last, disconnects, batches }));
  socket.close();
  process.exit(0);
}

function take(offset) {
  count++;
  if (seen.has(offset)) duplicates++;
  if (offset <= last) outOfOrder++;
  seen.add(offset);
  last = Math.max(last, offset);
}

socket.on("chat message", (_text, offset) => { take(offset); finishIfDone(); });
socket.on("chat messages", (list) => {
  batches++;
  for (const [, offset] of list) take(offset);
  finishIfDone();
});
socket.on("replay done", () => {
  if (!ready) { ready = true; console.log("ready"); }
});
socket.on("disconnect", () => { disconnects++; });
createInterface({ input: process.stdin }).on("line", (line) => {
  target = Number(line);
  finishIfDone();
});
