// Abuse limits, each answered with a clear error while well-behaved clients in the same run
// are unaffected: message rate, connections per address and in total, the handshake
// timeout, the Origin allow-list; and the operations endpoints that count them.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { io } from "socket.io-client";
import WebSocket from "ws";
import { connectClient, metric, startServer } from "./server.mjs";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Connects; resolves with the socket, or rejects with the `connect_error`. */
function tryConnect(url, extra = {}) {
  const socket = io(url, { transports: ["websocket"], reconnection: false, forceNew: true, ...extra });
  return new Promise((ok, fail) => {
    socket.once("connect", () => ok(socket));
    socket.once("connect_error", (error) => { socket.close(); fail(error); });
  });
}

describe("message rate", () => {
  let server;
  before(async () => { server = await startServer(["--message-rate", "5", "--message-burst", "5"]); });
  after(async () => { await server.stop(); });

  test("a burst over the limit gets error acks that say when to retry; a neighbour is unaffected", async () => {
    const flooder = await connectClient(server.url);
    const neighbour = await connectClient(server.url);
    const acks = await Promise.all(Array.from({ length: 12 }, (_, i) => flooder.send(`flood ${i}`, `flood-${i}`)));
    const stored = acks.filter((a) => Number.isInteger(a.serverOffset));
    const limited = acks.filter((a) => a.error);
    assert.equal(stored.length, 5, JSON.stringify(acks));
    assert.equal(limited.length, 7);
    for (const a of limited) {
      assert.match(a.error, /rate limited/);
      assert.ok(a.retryAfterMs > 0 && a.retryAfterMs <= 200, `retryAfterMs ${a.retryAfterMs}`);
      assert.equal(a.serverOffset, undefined);
    }
    const calm = await neighbour.send("calm", "calm-1");
    assert.ok(Number.isInteger(calm.serverOffset));
    // After the advertised wait the same message goes through, once.
    const firstLimited = acks.findIndex((a) => a.error);
    await sleep(Math.max(...limited.map((a) => a.retryAfterMs)) + 20);
    const retried = await flooder.send(`flood ${firstLimited}`, `flood-${firstLimited}`);
    assert.ok(Number.isInteger(retried.serverOffset), JSON.stringify(retried));
    assert.equal(await metric(server.url, "chat_refused_total", 'reason="rate_limited"'), 7);
    flooder.close(); neighbour.close();
  });
});

describe("the same budget for other costly events", () => {
  test("history pages and nickname changes over the budget get the rate-limit error ack", async () => {
    const server = await startServer(["--message-rate", "1", "--message-burst", "3"]);
    try {
      const c = await connectClient(server.url);
      const replies = [];
      for (let i = 0; i < 3; i++) replies.push(await c.socket.timeout(5000).emitWithAck("history", 10, 5));
      replies.push(await c.socket.timeout(5000).emitWithAck("history", 10, 5));
      replies.push(await c.socket.timeout(5000).emitWithAck("nickname", "spammer"));
      assert.ok(replies.slice(0, 3).every((r) => Array.isArray(r.messages)), JSON.stringify(replies));
      for (const r of replies.slice(3)) {
        assert.match(r.error, /rate limited/);
        assert.ok(r.retryAfterMs > 0);
      }
      assert.equal(await metric(server.url, "chat_refused_total", 'reason="rate_limited"'), 2);
      c.close();
    } finally {
      await server.stop();
    }
  });
});

describe("connection limits", () => {
  test("the next socket from one address gets a connect_error; others connect; a freed slot is reusable", async () => {
    const server = await startServer(["--max-connections-per-ip", "3"]);
    try {
      const held = [];
      for (let i = 0; i < 3; i++) held.push(await tryConnect(server.url));
      await assert.rejects(tryConnect(server.url), /too many connections from your address \(limit 3\)/);
      // The held sockets still chat.
      const ack = await held[0].timeout(5000).emitWithAck("chat message", "still here", "held-0");
      assert.ok(Number.isInteger(ack.serverOffset));
      held.pop().disconnect();
      await sleep(200);
      held.push(await tryConnect(server.url));
      assert.equal(await metric(server.url, "chat_refused_total", 'reason="too_many_from_address"'), 1);
      for (const s of held) s.disconnect();
    } finally {
      await server.stop();
    }
  });

  test("past the total limit the server says it is full", async () => {
    const server = await startServer(["--max-connections", "2"]);
    try {
      const a = await tryConnect(server.url);
      const b = await tryConnect(server.url);
      await assert.rejects(tryConnect(server.url), /server full: 2 connections/);
      assert.equal(await metric(server.url, "chat_sockets_connected"), 2);
      a.disconnect(); b.disconnect();
    } finally {
      await server.stop();
    }
  });
});

describe("handshake timeout", () => {
  test("a websocket that never sends CONNECT is closed; a normal client is unaffected", async () => {
    const server = await startServer(["--connect-timeout-ms", "500"]);
    try {
      const ws = new WebSocket(`${server.url.replace("http", "ws")}/socket.io/?EIO=4&transport=websocket`);
      const opened = Date.now();
      const closed = new Promise((ok) => ws.once("close", () => ok(Date.now() - opened)));
      const normal = await connectClient(server.url);
      const lasted = await closed;
      assert.ok(lasted >= 400 && lasted < 5000, `closed after ${lasted} ms`);
      const ack = await normal.send("unaffected", "normal-1");
      assert.ok(Number.isInteger(ack.serverOffset));
      normal.close();
    } finally {
      await server.stop();
    }
  });
});

describe("origin allow-list", () => {
  let server;
  before(async () => { server = await startServer(["--allow-origin", "https://app.example"]); });
  after(async () => { await server.stop(); });

  const handshake = (origin) => fetch(`${server.url}/socket.io/?EIO=4&transport=polling`, origin ? { headers: { origin } } : {});

  test("the site's own origin, a listed origin and non-browser clients may connect", async () => {
    const own = new URL(server.url).origin;
    for (const origin of [own, "https://app.example", undefined]) {
      const response = await handshake(origin);
      assert.equal(response.status, 200, `origin ${origin}`);
      assert.match(await response.text(), /"sid"/);
    }
  });

  test("another origin gets 403 with the reason, over polling and websocket", async () => {
    const response = await handshake("https://evil.example");
    assert.equal(response.status, 403);
    assert.match(await response.text(), /origin https:\/\/evil\.example is not allowed/);
    const ws = new WebSocket(`${server.url.replace("http", "ws")}/socket.io/?EIO=4&transport=websocket`, { origin: "https://evil.example" });
    const status = await new Promise((ok) => {
      ws.once("unexpected-response", (_req, res) => ok(res.statusCode));
      ws.once("open", () => ok("open"));
    });
    assert.equal(status, 403);
    // The page itself and the client bundle are not Socket.IO and stay reachable.
    assert.equal((await fetch(`${server.url}/socket.io/socket.io.min.js`, { headers: { origin: "https://evil.example" } })).status, 200);
  });
});

describe("operations endpoints", () => {
  test("a single server reports health and Prometheus metrics", async () => {
    const server = await startServer();
    try {
      const health = await (await fetch(`${server.url}/healthz`)).json();
      assert.equal(health.status, "ok");
      assert.equal(health.role, "server");
      assert.ok(health.checks.some((c) => c.name === "store" && c.ok));
      const c = await connectClient(server.url);
      // Live from here on (a message sent during the replay reaches the socket through
      // the replay, and counts as replayed).
      await c.until(() => c.replayDone);
      await c.send("counted", "counted-1");
      assert.equal(await metric(server.url, "chat_messages_stored_total"), 1);
      assert.equal(await metric(server.url, "chat_deliveries_total"), 1);
      assert.equal(await metric(server.url, "chat_sockets_connected"), 1);
      assert.ok(await metric(server.url, "chat_store_commit_seconds_count") >= 1);
      c.close();
      await sleep(200);
      assert.equal(await metric(server.url, "chat_sockets_connected"), 0);
      assert.equal(await metric(server.url, "chat_disconnects_total", 'reason="ClientNSDisconnect"'), 1);
    } finally {
      await server.stop();
    }
  });
});
