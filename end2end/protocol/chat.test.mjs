// The tutorial's wire protocol, against the real server, with the real socket.io-client:
// emit/ack/broadcast, replay from auth.serverOffset, dedupe by clientOffset, error acks.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { connectClient, isConsecutiveFrom, metric, offsets, stallReport, startCluster, startServer } from "./server.mjs";

describe("chat message", () => {
  let server;
  before(async () => { server = await startServer(["--max-message-bytes", "100"]); });
  after(async () => { await server.stop(); });

  test("is stored, broadcast to everyone (sender included), then acked with its offset", async () => {
    const alice = await connectClient(server.url);
    const bob = await connectClient(server.url);
    await Promise.all([alice.until(() => alice.replayDone), bob.until(() => bob.replayDone)]);
    const ack = await alice.send("hello from alice", "alice-1");
    assert.equal(typeof ack.serverOffset, "number");
    // The broadcast precedes the ack on the sender's socket.
    assert.deepEqual(alice.live().map((m) => [m.text, m.offset]), [["hello from alice", ack.serverOffset]]);
    await bob.until(() => bob.received.some((m) => m.offset === ack.serverOffset), 5000, "broadcast");
    assert.equal(bob.received.at(-1).text, "hello from alice");
    alice.close(); bob.close();
  });

  test("a resent clientOffset is acked with the same offset, stored and broadcast once", async () => {
    const sender = await connectClient(server.url);
    const watcher = await connectClient(server.url);
    await watcher.until(() => watcher.replayDone);
    const first = await sender.send("only once", "dedupe-key-1");
    const second = await sender.send("only once", "dedupe-key-1");
    assert.equal(second.serverOffset, first.serverOffset);
    assert.equal(second.duplicate, true);
    // A marker after the retry: once the watcher has it, any duplicate broadcast would have arrived.
    const marker = await sender.send("marker", "dedupe-marker-1");
    // The retry used no offset: offsets stay consecutive.
    assert.equal(marker.serverOffset, first.serverOffset + 1);
    await watcher.until(() => watcher.received.some((m) => m.offset === marker.serverOffset));
    assert.equal(watcher.live().filter((m) => m.text === "only once").length, 1);
    const fresh = await connectClient(server.url, { serverOffset: 0 });
    await fresh.until(() => fresh.replayDone);
    assert.equal(fresh.received.filter((m) => m.text === "only once").length, 1);
    sender.close(); watcher.close(); fresh.close();
  });

  test("a client that asks for batches gets live messages as `chat messages` lists, each once and in order; a tutorial client beside it gets `chat message`s", async () => {
    const sender = await connectClient(server.url);
    const tutorial = await connectClient(server.url);
    const batched = await connectClient(server.url, { batched: true });
    await Promise.all([tutorial, batched].map((c) => c.until(() => c.replayDone)));
    const replayedSingles = batched.singles;
    const acks = await Promise.all(Array.from({ length: 40 }, (_, i) => sender.send(`batched ${i}`, `batched-${i}`)));
    const sent = acks.map((a) => a.serverOffset).sort((a, b) => a - b);
    assert.ok(isConsecutiveFrom(sent, sent[0]), JSON.stringify(sent));
    const last = sent.at(-1);
    await batched.until(() => batched.received.some((m) => m.offset === last), 5000, "the batched client's last message");
    await tutorial.until(() => tutorial.received.some((m) => m.offset === last), 5000, "the tutorial client's last message");
    for (const client of [batched, tutorial]) {
      const live = client.live().filter((m) => m.offset >= sent[0]);
      assert.deepEqual(live.map((m) => m.offset), sent);
      assert.deepEqual(live.map((m) => m.text), sent.map((_, i) => acks.findIndex((a) => a.serverOffset === sent[i])).map((i) => `batched ${i}`));
      assert.equal(typeof live[0].rest[0].createdAt, "number");
    }
    assert.equal(batched.singles, replayedSingles, "no live `chat message` for a batched client");
    assert.ok(batched.batches.some((n) => n > 1), `some list holds several messages: ${batched.batches}`);
    assert.equal(tutorial.batches.length, 0);
    // Reconnecting, it is replayed what it missed as `chat message`s, then goes live in lists again.
    batched.close();
    const missed = await sender.send("while away", "batched-away");
    const again = await connectClient(server.url, { batched: true, serverOffset: last });
    await again.until(() => again.replayDone);
    assert.deepEqual(again.received.map((m) => [m.text, m.offset]), [["while away", missed.serverOffset]]);
    assert.equal(again.singles, 1);
    const next = await sender.send("live again", "batched-live-again");
    await again.until(() => again.received.some((m) => m.offset === next.serverOffset), 5000, "live again");
    assert.deepEqual(again.batches, [1]);
    sender.close(); tutorial.close(); again.close();
  });

  const refusals = [
    ["a number as text", [42, "k-num"], /text must be a string, got number/],
    ["an object as text", [{ a: 1 }, "k-obj"], /text must be a string, got object/],
    ["empty text", ["", "k-empty"], /message is empty/],
    ["whitespace-only text", ["  \n\t ", "k-ws"], /message is empty/],
    ["text over the limit", ["x".repeat(101), "k-long"], /message too long: 101 bytes, max 100/],
    ["a missing clientOffset", ["no key"], /expected 2 arguments \(text, clientOffset\), got 1/],
    ["a null clientOffset", ["null key", null], /clientOffset must be a string, got null/],
    ["a numeric clientOffset", ["num key", 7], /clientOffset must be a string, got number/],
    ["an over-long clientOffset", ["long key", "k".repeat(129)], /clientOffset too long: 129 characters, max 128/],
    ["extra arguments", ["a", "k-extra", "surprise"], /expected 2 arguments \(text, clientOffset\), got 3/],
    ["no arguments", [], /expected 2 arguments \(text, clientOffset\), got 0/],
  ];
  for (const [what, args, error] of refusals) {
    test(`refuses ${what} with an error ack, no row and no broadcast`, async () => {
      const sender = await connectClient(server.url);
      const watcher = await connectClient(server.url);
      await Promise.all([sender.until(() => sender.replayDone), watcher.until(() => watcher.replayDone)]);
      const ack = await sender.send(...args);
      assert.match(ack.error, error);
      assert.equal(ack.serverOffset, undefined);
      const marker = await sender.send(`after ${what}`, `marker-${what}`);
      await watcher.until(() => watcher.received.some((m) => m.offset === marker.serverOffset));
      // Nothing but the marker was broadcast, and offsets stayed consecutive (no row used).
      const seen = watcher.live().map((m) => m.text);
      assert.deepEqual(seen, [`after ${what}`]);
      assert.equal(marker.serverOffset, watcher.replayDone.serverOffset + 1);
      sender.close(); watcher.close();
    });
  }

  test("a multi-byte text is limited by bytes and stored verbatim", async () => {
    const client = await connectClient(server.url);
    const ok = await client.send("€".repeat(33), "k-euro-ok"); // 99 bytes
    assert.equal(typeof ok.serverOffset, "number");
    const refused = await client.send("€".repeat(34), "k-euro-long"); // 102 bytes
    assert.match(refused.error, /message too long: 102 bytes, max 100/);
    client.close();
  });

  test("a polling payload over the Engine.IO limit is refused (413) and ends only that session", async () => {
    const { io } = await import("socket.io-client");
    const polling = io(server.url, { transports: ["polling"], reconnection: false, forceNew: true });
    await new Promise((ok) => polling.once("connect", ok));
    const closed = new Promise((ok) => polling.once("disconnect", (reason, details) => ok({ reason, details })));
    polling.emit("chat message", "x".repeat(200 * 1024), "k-huge-polling");
    const { reason } = await closed;
    assert.equal(reason, "transport error");
    // The same body posted by hand is answered 413 Payload Too Large.
    const sid = (await (await fetch(`${server.url}/socket.io/?EIO=4&transport=polling`)).text()).match(/"sid":"([^"]+)"/)[1];
    const tooBig = await fetch(`${server.url}/socket.io/?EIO=4&transport=polling&sid=${sid}`, {
      method: "POST",
      body: `42["chat message","${"x".repeat(200 * 1024)}","k"]`,
    });
    assert.equal(tooBig.status, 413);
    // Only that session ended: a new one is accepted (the next test also writes through it).
    const next = await connectClient(server.url);
    assert.ok(next.socket.connected);
    next.close();
  });

  test("a huge message over websocket gets an error ack and the socket stays usable", async () => {
    const client = await connectClient(server.url);
    const ack = await client.send("x".repeat(200 * 1024), "k-huge-ws");
    assert.match(ack.error, /message too long: 204800 bytes, max 100/);
    assert.ok(client.socket.connected);
    client.close();
  });

  test("an event sent the moment CONNECT is answered is handled: handlers exist by then", async () => {
    const { default: WebSocket } = await import("ws");
    // Many at once, so the server is busy when each CONNECT is answered.
    await Promise.all(Array.from({ length: 300 }, async (_, i) => {
      const ws = new WebSocket(`${server.url.replace("http", "ws")}/socket.io/?EIO=4&transport=websocket`);
      const frames = [];
      const ack = new Promise((ok, fail) => {
        const timer = setTimeout(() => fail(new Error(`message ${i} not acked; frames: ${frames.join(" | ")}`)), 5000);
        ws.on("message", (data) => {
          const frame = String(data);
          frames.push(frame);
          if (frame.startsWith("0{")) ws.send("40");
          // Emit in the very callback that sees the CONNECT reply, as a client emitting on "connect".
          if (frame.startsWith("40")) ws.send(`427["chat message","early ${i}","early-${i}"]`);
          if (frame.startsWith("437")) { clearTimeout(timer); ok(JSON.parse(frame.slice(3))); }
        });
      });
      const [reply] = await ack;
      ws.close();
      assert.equal(typeof reply.serverOffset, "number", `early message ${i} stored`);
    }));
  });

  test("an unknown event is ignored and the socket keeps working", async () => {
    const client = await connectClient(server.url);
    client.socket.emit("no such event", { x: 1 });
    const answered = await client.socket.timeout(500).emitWithAck("no such event either", 1).then(() => true, () => false);
    assert.equal(answered, false);
    const ack = await client.send("still here", "k-still-here");
    assert.equal(typeof ack.serverOffset, "number");
    assert.ok(client.socket.connected);
    client.close();
  });
});

describe("replay on connect", () => {
  let server;
  let sent = [];
  before(async () => {
    server = await startServer();
    const writer = await connectClient(server.url);
    for (let i = 1; i <= 20; i++) sent.push(await writer.send(`history ${i}`, `history-${i}`));
    writer.close();
  });
  after(async () => { await server.stop(); });

  test("sends every message after auth.serverOffset, in order, then `replay done`", async () => {
    const client = await connectClient(server.url, { serverOffset: sent[9].serverOffset });
    await client.until(() => client.replayDone);
    assert.deepEqual(client.received.map((m) => m.text), sent.slice(10).map((_, i) => `history ${i + 11}`));
    assert.ok(isConsecutiveFrom(offsets(client), sent[10].serverOffset));
    assert.deepEqual(client.replayDone, { serverOffset: sent[19].serverOffset, count: 10 });
    client.close();
  });

  for (const [what, auth] of [["no auth", undefined], ["a non-numeric offset", { serverOffset: "abc" }],
    ["a negative offset", { serverOffset: -5 }], ["an offset past the end", { serverOffset: 1e9 }]]) {
    test(`${what} replays the whole history`, async () => {
      const client = await connectClient(server.url, auth);
      await client.until(() => client.replayDone);
      assert.deepEqual(client.received.slice(0, 20).map((m) => m.text), sent.map((_, i) => `history ${i + 1}`));
      client.close();
    });
  }

  test("replay and live stream meet with no duplicate and no hole under concurrent writes", async () => {
    const writer = await connectClient(server.url);
    const base = sent.at(-1).serverOffset;
    const writes = [];
    const clients = [];
    // 300 writes in flight while 30 clients connect at different moments, from different offsets.
    let committed = base;
    for (let i = 0; i < 300; i++) {
      writes.push(writer.send(`live ${i}`, `live-${i}`).then((a) => { committed = Math.max(committed, a.serverOffset); return a; }));
      if (i % 10 === 0) {
        // Clients resume from offsets they could have seen: committed ones.
        const from = Math.floor(Math.random() * (committed + 1));
        clients.push(connectClient(server.url, { serverOffset: from }).then((c) => ({ c, from })));
        await new Promise((r) => setTimeout(r, 2));
      }
    }
    const acks = await Promise.all(writes);
    const last = Math.max(...acks.map((a) => a.serverOffset));
    for (const { c, from } of await Promise.all(clients)) {
      await c.until(() => c.received.at(-1)?.offset === last, 10000, `offset ${last}`);
      assert.ok(isConsecutiveFrom(offsets(c), from + 1), `client from ${from} got a gap or duplicate`);
      c.close();
    }
    writer.close();
  });
});

describe("back-pressure", () => {
  test("a large replay to a socket with a small queue arrives whole and in order", async () => {
    const server = await startServer(["--socket-buffer", "16", "--max-batch", "64"]);
    try {
      // The queue also carries the writer's own broadcasts and acks: keep few in flight.
      const writer = await connectClient(server.url);
      const acks = [];
      for (let i = 0; i < 3000; i += 8) {
        acks.push(...await Promise.all(Array.from({ length: 8 }, (_, j) => writer.send(`bulk ${i + j}`, `bulk-${i + j}`))));
      }
      writer.close();
      const reader = await connectClient(server.url, { serverOffset: 0 });
      await reader.until(() => reader.replayDone, 20000, "replay done").catch(async (error) => {
        // Seen once in CI (stuck at 414 of 3000): say where it stopped, for next time.
        throw new Error(`${error.message}\n${await stallReport(server, reader)}`);
      });
      assert.equal(reader.received.length, 3000);
      assert.ok(isConsecutiveFrom(offsets(reader), 1));
      assert.equal(reader.replayDone.count, 3000);
      assert.equal(Math.max(...acks.map((a) => a.serverOffset)), 3000);
      reader.close();
    } finally {
      await server.stop();
    }
  });
});

describe("heartbeat and replay", () => {
  test("fresh clients replaying more than their queue holds are not cut off by the first ping", async () => {
    // engineioxide's first ping goes into the same bounded queue as the replay, at once; if the
    // replay has filled it, the connection is closed (this cut off a quarter to a third of
    // these replays on a worker before the connect handler let the ping go first).
    const cluster = await startCluster(1, ["--socket-buffer", "16", "--max-batch", "64"]);
    try {
      const url = cluster.urls[0];
      const writer = await connectClient(url);
      for (let i = 0; i < 400; i += 8) await Promise.all(Array.from({ length: 8 }, (_, j) => writer.send(`hb ${i + j}`, `hb-${i + j}`)));
      writer.close();
      let cut = 0;
      for (let round = 0; round < 3; round++) {
        const readers = await Promise.all(Array.from({ length: 30 }, () => connectClient(url, { serverOffset: 0 })));
        await Promise.all(readers.map((r) => r.until(() => r.replayDone, 5000).then(
          () => assert.equal(r.received.length, 400),
          () => { cut++; },
        )));
        for (const r of readers) r.close();
      }
      assert.equal(cut, 0, `${cut} of 90 replays never finished`);
      assert.equal(await metric(url, "chat_disconnects_total", 'reason="HeartbeatTimeout"'), 0);
    } finally {
      await cluster.stop();
    }
  });
});
