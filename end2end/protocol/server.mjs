// Test support: start the real chat server binary on a free port with a fresh database,
// and connect real socket.io-client sockets to it.
import { execFileSync, spawn as spawnProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { after } from "node:test";
import { io } from "socket.io-client";

const root = resolve(fileURLToPath(import.meta.url), "../../..");
export const serverBin = process.env.CHAT_SERVER_BIN ?? join(root, "target/debug/chat-server");

/**
 * Every process a test file starts. Whatever is still running after the file's last test (a
 * test that failed before its own cleanup) is killed then, so no server outlives its tests or
 * keeps the file's process, and with it the whole run, waiting.
 */
const children = new Set();
const killChildren = () => {
  for (const child of children) child.kill("SIGKILL");
};
after(killChildren);
process.on("exit", killChildren);
// The runner stops a file that overruns --test-timeout with SIGTERM.
process.once("SIGTERM", () => {
  killChildren();
  process.exit(143);
});

/** `child_process.spawn`, with the child killed when this test file's process exits. */
export function spawn(command, args, options) {
  const child = spawnProcess(command, args, options);
  children.add(child);
  child.on("exit", () => children.delete(child));
  return child;
}

/** The first error lines of a server log and its tail: what a start failure is reported with. */
function startFailure(what, log) {
  const errors = log.split("\n").filter((line) => /ERROR|^Error|panicked/.test(line)).slice(0, 5).join("\n");
  return new Error(`${what}\nfirst errors:\n${errors || "(none)"}\nlog tail:\n${log.slice(-3000)}`);
}

/**
 * Test servers lift the per-socket message rate and the per-address connection limit
 * (every test client comes from 127.0.0.1 and many tests write fast); the tests of those
 * limits pass their own values.
 */
function withTestLimits(args) {
  const extra = [];
  if (!args.includes("--message-rate")) extra.push("--message-rate", "0");
  if (!args.includes("--max-connections-per-ip")) extra.push("--max-connections-per-ip", "0");
  // Every test signs in from 127.0.0.1; the brute-force test sets its own limit.
  if (!args.includes("--sign-in-attempts")) extra.push("--sign-in-attempts", "100000");
  return [...extra, ...args];
}

/** Starts a server; resolves once it listens. `args` are extra CLI flags. */
export async function startServer(args = [], { dir } = {}) {
  const dataDir = dir ?? mkdtempSync(join(tmpdir(), "chat-test-"));
  const child = spawn(serverBin, ["--port", "0", "--workers", "0", "--db", join(dataDir, "chat.db"), ...withTestLimits(args)], {
    env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? "info" },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let log = "";
  const exited = new Promise((done) => child.on("exit", (code, signal) => done({ code, signal })));
  const url = await new Promise((ok, fail) => {
    const timer = setTimeout(() => { child.kill("SIGKILL"); fail(startFailure("server did not start", log)); }, 15000);
    child.stderr.on("data", (chunk) => {
      log += chunk;
      const m = log.match(/listening addr=([\d.:]+)/);
      if (m) {
        clearTimeout(timer);
        ok(`http://${m[1]}`);
      }
    });
    exited.then(({ code }) => fail(startFailure(`server exited with ${code}`, log)));
  });
  return {
    url,
    dataDir,
    pid: child.pid,
    exited,
    log: () => log,
    async stop(signal = "SIGTERM") {
      child.kill(signal);
      const result = await exited;
      if (!dir) rmSync(dataDir, { recursive: true, force: true });
      return result;
    },
  };
}

/** A connected client that records every `chat message` it receives. */
export async function connectClient(url, auth = {}, { cookie, transports = ["websocket"] } = {}) {
  const extraHeaders = cookie ? { cookie } : undefined;
  const socket = io(url, { auth, transports, reconnection: false, forceNew: true, extraHeaders });
  let identity = null;
  socket.on("identity", (who) => { identity = who; });
  const received = [];
  // Listeners go on before the connection opens: the replay right after CONNECT can arrive
  // in the same read as the CONNECT itself, before an `await connectClient()` resumes.
  let replayDone = null;
  let liveFrom = 0;
  const waiters = [];
  const notify = () => {
    for (const w of [...waiters]) if (w.check()) { waiters.splice(waiters.indexOf(w), 1); w.done(); }
  };
  // A client that asked for batches (`auth.batched`) gets live messages as `chat messages`
  // lists; `batches` keeps each list's length, `singles` counts `chat message` events.
  const batches = [];
  let singles = 0;
  socket.on("chat message", (text, offset, ...rest) => { singles++; received.push({ text, offset, rest }); notify(); });
  socket.on("chat messages", (list) => {
    batches.push(list.length);
    for (const [text, offset, ...rest] of list) received.push({ text, offset, rest });
    notify();
  });
  socket.on("replay done", (info) => { replayDone = info; liveFrom = received.length; notify(); });
  await new Promise((ok, fail) => {
    socket.once("connect", ok);
    socket.once("connect_error", fail);
  });
  const client = {
    socket,
    received,
    /**
     * Messages received outside #general: `{ text, offset, author, createdAt, channel, seq }`.
     * Where a test uses no other channel, these are its private conversations (direct
     * channels of two, whose messages arrive as any channel's).
     */
    get private() {
      return received
        .filter((m) => m.rest[0] && m.rest[0].channel !== 1)
        .map((m) => ({ text: m.text, offset: m.offset, ...m.rest[0] }));
    },
    get replayDone() { return replayDone; },
    /** The server's `identity` event: `{ name, guest, canPost }`. */
    get identity() { return identity; },
    /** Lengths of the `chat messages` lists received. */
    batches,
    /** How many `chat message` events were received. */
    get singles() { return singles; },
    /** Messages received after `replay done`. */
    live() { return replayDone ? received.slice(liveFrom) : []; },
    /** Resolves when `check()` holds (re-evaluated on every event), or fails after `ms`. */
    until(check, ms = 10000, what = "condition") {
      if (check()) return Promise.resolve();
      return new Promise((done, fail) => {
        const timer = setTimeout(() => fail(new Error(`timed out waiting for ${what}; got ${received.length} messages`)), ms);
        waiters.push({ check, done: () => { clearTimeout(timer); done(); } });
      });
    },
    /** Emits `chat message` with the given raw arguments; resolves with the ack's argument. */
    send(...args) {
      return socket.timeout(10000).emitWithAck("chat message", ...args);
    },
    close() { socket.disconnect(); },
  };
  return client;
}

/** Offsets received by a client. */
export const offsets = (client) => client.received.map((m) => m.offset);

/** Asserts-friendly: whether `xs` is strictly increasing by exactly one from `first`. */
export function isConsecutiveFrom(xs, first) {
  return xs.every((x, i) => x === first + i);
}

/**
 * Finds `count` consecutive free TCP ports on 127.0.0.1, below the kernel's ephemeral range:
 * a port in that range can be taken, between this check and the server's bind, as the local
 * end of any outgoing connection (to PostgreSQL, Redis, another worker) and stay taken, so a
 * worker restarted onto it would fail to bind for as long as that connection lives.
 */
export async function freePorts(count) {
  const { createServer } = await import("node:net");
  const isFree = (port) => new Promise((ok) => {
    const s = createServer().once("error", () => ok(false)).listen(port, "127.0.0.1", () => s.close(() => ok(true)));
  });
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = TEST_PORTS_FROM + Math.floor(Math.random() * (TEST_PORTS_TO - TEST_PORTS_FROM - count));
    let all = true;
    for (let i = 0; i < count && all; i++) all = await isFree(base + i);
    if (all) return base;
  }
  throw new Error("no free port range");
}

/** Where test ports are picked: from 10000 up to the kernel's ephemeral range (read once). */
const TEST_PORTS_FROM = 10000;
const TEST_PORTS_TO = (() => {
  try {
    const ephemeralStart = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);
    return Math.max(TEST_PORTS_FROM + 1000, Math.min(ephemeralStart, 40000));
  } catch {
    return 32768; // not Linux: the usual start of the range
  }
})();

/** Starts a primary with `workers` workers; resolves once every worker listens. */
export async function startCluster(workers = 2, args = [], { dir } = {}) {
  const dataDir = dir ?? mkdtempSync(join(tmpdir(), "chat-cluster-"));
  // The workers' ports, then the primary's admin port (/healthz, /metrics).
  const base = await freePorts(workers + 1);
  const child = spawn(serverBin, ["--port", String(base), "--workers", String(workers), "--db", join(dataDir, "chat.db"), ...withTestLimits(args)], {
    env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? "info" },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let log = "";
  const listeners = [];
  child.stderr.on("data", (chunk) => {
    log += chunk;
    for (const l of [...listeners]) if (l.check()) { listeners.splice(listeners.indexOf(l), 1); l.done(); }
  });
  const exited = new Promise((done) => child.on("exit", (code, signal) => done({ code, signal })));
  const waitLog = (check, ms = 20000, what = "log line") => new Promise((ok, fail) => {
    if (check()) return ok();
    const timer = setTimeout(() => fail(new Error(`timed out waiting for ${what}:\n${log.slice(-3000)}`)), ms);
    listeners.push({ check, done: () => { clearTimeout(timer); ok(); } });
  });
  const countListening = (port) => (log.match(new RegExp(`listening addr=127\\.0\\.0\\.1:${port}\\b`, "g")) ?? []).length;
  try {
    for (let i = 0; i < workers; i++) await waitLog(() => countListening(base + i) > 0, 30000, `worker ${i}`);
  } catch (error) {
    child.kill("SIGKILL");
    throw startFailure(error.message.split("\n")[0], log);
  }
  const urls = Array.from({ length: workers }, (_, i) => `http://127.0.0.1:${base + i}`);
  return {
    urls,
    base,
    adminUrl: `http://127.0.0.1:${base + workers}`,
    pid: child.pid,
    exited,
    dataDir,
    log: () => log,
    waitLog,
    countListening,
    /** PIDs of the workers currently running, from the supervisor's log. */
    workerPids() {
      const pids = new Map();
      for (const m of log.matchAll(/worker started worker=(\d+) pid=(\d+)/g)) pids.set(Number(m[1]), Number(m[2]));
      return pids;
    },
    async stop(signal = "SIGTERM") {
      child.kill(signal);
      const result = await exited;
      if (!dir) rmSync(dataDir, { recursive: true, force: true });
      return result;
    },
  };
}

/** Whether a process exists. */
export function alive(pid) {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

/**
 * Reads one metric from `${url}/metrics` (Prometheus text format): the sum of the samples
 * named `name` whose label set contains `labels`; 0 when there is none.
 */
export async function metric(url, name, labels = "") {
  const text = await (await fetch(`${url}/metrics`)).text();
  let sum = 0;
  for (const line of text.split("\n")) {
    const m = line.match(/^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)/);
    if (m && m[1] === name && (m[2] ?? "").includes(labels)) sum += Number(m[3]);
  }
  return sum;
}

/** Creates a fresh database on the PostgreSQL server of `adminUrl`; returns its URL. */
export function freshPostgresDatabase(adminUrl) {
  const name = `chat_e2e_${process.pid}_${Date.now()}_${Math.floor(Math.random() * 1e6)}`;
  execFileSync("psql", [adminUrl, "-q", "-c", `CREATE DATABASE ${name}`]);
  return `${adminUrl.replace(/\/[^/]*$/, "")}/${name}`;
}

/** Polls `check` every 20 ms until it holds; fails after `ms` saying what it waited for. */
export async function waitFor(check, what, ms = 10000) {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Waits until a presence grace period has passed for every socket closed so far: a
 * sentinel user connects to `url` and disconnects, and its `user left` (announced one grace
 * period after its close, after any earlier one) reaches the list `events` ("-name" entries).
 */
export async function graceElapsed(url, events) {
  const name = `guest-s${Math.random().toString(36).slice(2, 9)}`;
  const sentinel = await connectClient(url, { nickname: name });
  sentinel.close();
  await waitFor(() => events.includes(`-${name}`), `${name} left`);
}

/**
 * Checks what each reader received against the offsets `first..=last`: how many were
 * missing, received twice, or received after a higher one, summed over readers.
 * `receivedOffsets` holds one array of offsets per reader, in arrival order.
 */
export function tallyDeliveries(receivedOffsets, first, last) {
  let missing = 0;
  let duplicates = 0;
  let outOfOrder = 0;
  for (const offsets of receivedOffsets) {
    const seen = new Set();
    offsets.forEach((o, k) => {
      if (seen.has(o)) duplicates++;
      if (k > 0 && o <= offsets[k - 1]) outOfOrder++;
      seen.add(o);
    });
    for (let o = first; o <= last; o++) if (!seen.has(o)) missing++;
  }
  return { missing, duplicates, outOfOrder };
}

/**
 * What a stalled delivery looks like from outside, for a test's failure message: whether
 * the client is connected, the TCP queues of its connections to the server (bytes the server
 * has sent but the client has not read, and the reverse), the server's warnings, and its
 * chat_* metrics.
 */
export async function stallReport(server, client) {
  const port = new URL(server.url).port;
  let tcp = "";
  try {
    tcp = execFileSync("ss", ["-tn", "state", "established", `( sport = :${port} or dport = :${port} )`]).toString();
  } catch (error) { tcp = `ss failed: ${error.message}`; }
  let metrics = "";
  try {
    metrics = (await (await fetch(`${server.url}/metrics`)).text()).split("\n").filter((l) => l.startsWith("chat_")).join("\n");
  } catch (error) { metrics = `metrics failed: ${error.message}`; }
  const warnings = server.log().split("\n").filter((l) => /WARN|ERROR/.test(l)).slice(-20).join("\n");
  return [
    `client connected: ${client.socket.connected}, ${client.received.length} messages`,
    `TCP (Recv-Q, Send-Q per side):\n${tcp}`,
    `server warnings:\n${warnings || "(none)"}`,
    `server metrics:\n${metrics}`,
  ].join("\n");
}

/**
 * Posts an account form (`sign-up`, `sign-in`, `sign-out`, `password`) as a script would
 * (asking for JSON), from the server's own origin unless `origin` says otherwise. Resolves
 * with `{ status, body, cookie, retryAfter }`; `cookie` is the `name=value` the server set.
 */
export async function postForm(url, form, fields, { cookie, origin = url, accept = "application/json" } = {}) {
  const headers = { "content-type": "application/x-www-form-urlencoded", accept };
  if (origin) headers.origin = origin;
  if (cookie) headers.cookie = cookie;
  const response = await fetch(`${url}/auth/${form}`, {
    method: "POST", headers, body: new URLSearchParams(fields).toString(), redirect: "manual",
  });
  const setCookie = response.headers.get("set-cookie");
  const text = await response.text();
  let body = text;
  try { body = JSON.parse(text); } catch { /* not JSON */ }
  return {
    status: response.status,
    body,
    location: response.headers.get("location"),
    setCookie,
    cookie: setCookie ? setCookie.split(";")[0] : null,
    retryAfter: response.headers.get("retry-after"),
  };
}

/** Signs up `username` and returns its session cookie (`name=value`). */
export async function signUp(url, username, password = "correct horse battery") {
  const answer = await postForm(url, "sign-up", { username, password });
  if (answer.status !== 200) throw new Error(`sign-up of ${username}: ${answer.status} ${JSON.stringify(answer.body)}`);
  return answer.cookie;
}

/** Signs in and returns the new session cookie. */
export async function signIn(url, username, password = "correct horse battery") {
  const answer = await postForm(url, "sign-in", { username, password });
  if (answer.status !== 200) throw new Error(`sign-in of ${username}: ${answer.status} ${JSON.stringify(answer.body)}`);
  return answer.cookie;
}

/** Resolves when `socket` disconnects (with the reason), or fails after `ms`. */
export function disconnected(socket, ms = 5000) {
  if (!socket.connected) return Promise.resolve("already");
  return new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error("still connected")), ms);
    socket.once("disconnect", (reason) => { clearTimeout(timer); ok(reason); });
  });
}
