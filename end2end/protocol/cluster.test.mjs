// Scale-out: one primary, workers on base+i, joined by the IPC cluster adapter; delivery
// guarantees while clients hop between workers, and process supervision.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { io } from "socket.io-client";
import { alive, connectClient, graceElapsed, isConsecutiveFrom, offsets, startCluster, tallyDeliveries, waitFor } from "./server.mjs";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

describe("two workers", () => {
  let cluster;
  before(async () => { cluster = await startCluster(2); });
  after(async () => { await cluster.stop(); });

  test("a message sent on worker 0 reaches clients of worker 1, and the reverse", async () => {
    const a = await connectClient(cluster.urls[0]);
    const b = await connectClient(cluster.urls[1]);
    await Promise.all([a.until(() => a.replayDone), b.until(() => b.replayDone)]);
    const fromA = await a.send("from worker 0", "x-0");
    await b.until(() => b.live().some((m) => m.offset === fromA.serverOffset), 5000, "A's message on B");
    const fromB = await b.send("from worker 1", "x-1");
    await a.until(() => a.live().some((m) => m.offset === fromB.serverOffset), 5000, "B's message on A");
    for (const c of [a, b]) {
      assert.deepEqual(c.live().map((m) => [m.text, m.offset]), [["from worker 0", fromA.serverOffset], ["from worker 1", fromB.serverOffset]]);
    }
    a.close(); b.close();
  });

  test("the online count agrees on every worker", async () => {
    const clients = [];
    for (let i = 0; i < 5; i++) clients.push(await connectClient(cluster.urls[i % 2]));
    const counts = await Promise.all(clients.map((c) => c.socket.timeout(5000).emitWithAck("online")));
    assert.deepEqual(counts.map((c) => c.count), [5, 5, 5, 5, 5]);
    clients.pop().close();
    // The disconnect reaches its worker asynchronously: ask until it shows, then all agree.
    let after = [];
    for (let tries = 0; tries < 50; tries++) {
      after = await Promise.all(clients.map((c) => c.socket.timeout(5000).emitWithAck("online")));
      if (after.every((c) => c.count === 4)) break;
      await sleep(100);
    }
    assert.deepEqual(after.map((c) => c.count), [4, 4, 4, 4]);
    for (const c of clients) c.close();
  });

  test("a retried message is stored and broadcast once, whichever worker the retry lands on", async () => {
    const a = await connectClient(cluster.urls[0]);
    const b = await connectClient(cluster.urls[1]);
    await b.until(() => b.replayDone);
    const first = await a.send("retried across workers", "retry-key");
    const again = await b.send("retried across workers", "retry-key");
    assert.equal(again.serverOffset, first.serverOffset);
    assert.equal(again.duplicate, true);
    const marker = await a.send("marker", "retry-marker");
    assert.equal(marker.serverOffset, first.serverOffset + 1);
    await b.until(() => b.live().some((m) => m.offset === marker.serverOffset));
    assert.equal(b.live().filter((m) => m.text === "retried across workers").length, 1);
    a.close(); b.close();
  });
});

describe("delivery window", () => {
  // A long window, so that what it holds back is plain to see.
  const windowMs = 1000;
  let cluster;
  before(async () => { cluster = await startCluster(2, ["--delivery-window-ms", String(windowMs)]); });
  after(async () => { await cluster.stop(); });

  test("messages inside a window wait for its end and arrive together, in order; a sender still sees its own message before its ack", async () => {
    const alice = await connectClient(cluster.urls[0]);
    const bob = await connectClient(cluster.urls[1]);
    const carol = await connectClient(cluster.urls[0]);
    await Promise.all([alice, bob, carol].map((c) => c.until(() => c.replayDone)));
    // The first message after a quiet spell goes out at once, and opens a window.
    const first = await alice.send("opens the window", "window-0");
    await bob.until(() => bob.live().some((m) => m.offset === first.serverOffset), 5000, "the first message");
    const acks = [];
    for (let i = 1; i <= 3; i++) {
      const ack = await alice.send(`inside the window ${i}`, `window-${i}`);
      // Before its ack, the sender already has its message (delivered ahead of the window)...
      assert.ok(alice.live().some((m) => m.offset === ack.serverOffset), `alice has message ${i} before its ack`);
      acks.push(ack);
    }
    // ...while readers on either worker are still waiting for the window to end.
    const last = acks.at(-1).serverOffset;
    assert.ok(!bob.live().some((m) => m.offset === last), "bob has not got the last message before the window ends");
    assert.ok(!carol.live().some((m) => m.offset === last), "carol has not got the last message before the window ends");
    await Promise.all([bob, carol].map((c) => c.until(() => c.live().some((m) => m.offset === last), 5000, "the window's messages")));
    for (const client of [alice, bob, carol]) {
      assert.deepEqual(client.live().map((m) => m.text), ["opens the window", "inside the window 1", "inside the window 2", "inside the window 3"]);
      assert.ok(isConsecutiveFrom(offsets(client).slice(-4), first.serverOffset));
    }
    for (const c of [alice, bob, carol]) c.close();
  });
});

describe("churn", () => {
  test("clients hopping between workers while 4 senders write get every message once, in order", async () => {
    const cluster = await startCluster(2);
    try {
      const duration = 10_000;
      // Senders: 4 sockets, two per worker, each writing every ~20 ms.
      const senders = await Promise.all([0, 1, 2, 3].map((i) => connectClient(cluster.urls[i % 2])));
      const acked = new Map(); // text -> offset
      let sent = 0;
      let stopping = false;
      const sending = senders.map(async (s, i) => {
        for (let n = 0; !stopping; n++) {
          const text = `s${i}-${n}`;
          sent++;
          const ack = await s.send(text, `churn-${i}-${n}`);
          acked.set(text, ack.serverOffset);
          await sleep(15 + Math.random() * 10);
        }
      });
      // Readers: 20 clients; each drops and reconnects (to a random worker, with its last
      // offset, like the tutorial client) every 0.5-1 s.
      const readers = Array.from({ length: 20 }, (_, i) => ({ i, received: [], reconnects: 0, socket: null }));
      const hop = async (r) => {
        while (!stopping) {
          const url = cluster.urls[Math.floor(Math.random() * cluster.urls.length)];
          const last = r.received.at(-1)?.offset ?? 0;
          const socket = io(url, { auth: { serverOffset: last }, transports: ["websocket"], reconnection: false, forceNew: true });
          r.socket = socket;
          socket.on("chat message", (text, offset) => r.received.push({ text, offset }));
          await new Promise((ok) => { socket.once("connect", ok); socket.once("connect_error", ok); });
          await sleep(500 + Math.random() * 500);
          socket.disconnect();
          r.reconnects++;
        }
      };
      const hopping = readers.map(hop);
      await sleep(duration);
      stopping = true;
      await Promise.all(sending);
      await Promise.all(hopping);
      // A final connection per reader catches up on the rest.
      const last = Math.max(...acked.values());
      await Promise.all(readers.map(async (r) => {
        const c = await connectClient(cluster.urls[r.i % 2], { serverOffset: r.received.at(-1)?.offset ?? 0 });
        await c.until(() => c.replayDone);
        r.received.push(...c.received);
        c.close();
      }));
      const { missing, duplicates, outOfOrder } = tallyDeliveries(readers.map((r) => r.received.map((m) => m.offset)), 1, last);
      // Exactly one stored row per sent message: a fresh replay has each text once.
      const audit = await connectClient(cluster.urls[0], { serverOffset: 0 });
      await audit.until(() => audit.replayDone, 20000);
      const stored = new Map();
      for (const m of audit.received) stored.set(m.text, (stored.get(m.text) ?? 0) + 1);
      audit.close();
      const reconnects = readers.reduce((n, r) => n + r.reconnects, 0);
      console.log(`churn: ${sent} sent, ${acked.size} acked, ${reconnects} reconnects, ${missing} missing, ${duplicates} duplicates, ${outOfOrder} out of order, ${audit.received.length} stored`);
      assert.equal(missing, 0);
      assert.equal(duplicates, 0);
      assert.equal(outOfOrder, 0);
      assert.ok(reconnects >= 20 * 8, `only ${reconnects} reconnects`);
      assert.equal(acked.size, sent);
      for (const text of acked.keys()) assert.equal(stored.get(text), 1, `${text} stored ${stored.get(text)} times`);
      assert.equal(audit.received.length, acked.size);
      assert.ok(isConsecutiveFrom(offsets(audit), 1));
      for (const s of senders) s.close();
    } finally {
      await cluster.stop();
    }
  });
});

describe("supervision", () => {
  test("a worker killed with SIGKILL under load comes back on its port; no acked message is lost", async () => {
    const cluster = await startCluster(2);
    try {
      const victim = cluster.workerPids().get(1);
      assert.ok(victim, "worker 1 has a pid");
      // A writer on worker 0 keeps writing; a reader on worker 1 reconnects by itself.
      const writer = await connectClient(cluster.urls[0]);
      const acked = [];
      let stopping = false;
      const writing = (async () => {
        for (let n = 0; !stopping; n++) {
          acked.push((await writer.send(`load ${n}`, `load-${n}`)).serverOffset);
          await sleep(5);
        }
      })();
      const received = [];
      let last = 0;
      const reader = io(cluster.urls[1], {
        auth: (cb) => cb({ serverOffset: last }),
        transports: ["websocket"],
        reconnectionDelay: 100,
        reconnectionDelayMax: 500,
      });
      reader.on("chat message", (text, offset) => { received.push(offset); last = offset; });
      await new Promise((ok) => reader.once("connect", ok));
      await sleep(1000);
      const killedAt = Date.now();
      process.kill(victim, "SIGKILL");
      await cluster.waitLog(() => cluster.countListening(cluster.base + 1) >= 2, 20000, "worker 1 restarted");
      const restartMs = Date.now() - killedAt;
      await new Promise((ok) => (reader.connected ? ok() : reader.once("connect", ok)));
      await sleep(1000);
      stopping = true;
      await writing;
      const final = Math.max(...acked);
      const deadline = Date.now() + 10000;
      while (last < final && Date.now() < deadline) await sleep(50);
      console.log(`worker restart: port served again after ${restartMs} ms; ${acked.length} acked during the test`);
      assert.ok(cluster.workerPids().get(1) !== victim, "a new worker process");
      assert.ok(isConsecutiveFrom(received, received[0]), "the reader got every message once, in order");
      for (const offset of acked) assert.ok(received.includes(offset) || offset < received[0], `acked ${offset} lost`);
      reader.close();
      writer.close();
    } finally {
      await cluster.stop();
    }
  });

  test("a stalled worker is cut off without slowing the others, then restarts and catches up", async () => {
    // A small per-worker queue in the primary, so a stalled worker overflows it quickly.
    const cluster = await startCluster(2, ["--worker-queue", "32"]);
    try {
      const stalled = cluster.workerPids().get(1);
      const writer = await connectClient(cluster.urls[0]);
      await writer.until(() => writer.replayDone);
      process.kill(stalled, "SIGSTOP");
      // Worker 0's client keeps writing, and keeps getting acks and broadcasts.
      const big = "y".repeat(4000);
      const acked = [];
      for (let n = 0; n < 300; n++) acked.push((await writer.send(`${big} ${n}`, `stall-${n}`)).serverOffset);
      await writer.until(() => writer.live().length === 300, 10000, "worker 0 broadcasts");
      await cluster.waitLog(() => /cutting it off/.test(cluster.log()), 10000, "cut-off log");
      process.kill(stalled, "SIGCONT");
      // The cut-off worker finds its link closed, exits, and is restarted on its port.
      await cluster.waitLog(() => cluster.countListening(cluster.base + 1) >= 2, 20000, "worker 1 restarted");
      const reader = await connectClient(cluster.urls[1]);
      await reader.until(() => reader.replayDone, 10000);
      const texts = reader.received.filter((m) => m.text.startsWith(big)).map((m) => m.offset);
      assert.deepEqual(texts, acked);
      assert.match(cluster.log(), /worker queue full: cutting it off .*total=1/);
      writer.close();
      reader.close();
    } finally {
      await cluster.stop();
    }
  });

  test("SIGTERM stops the workers and the primary exits 0; SIGKILL of the primary leaves no orphan", async () => {
    let cluster = await startCluster(2);
    let pids = [...cluster.workerPids().values()];
    assert.equal(pids.length, 2);
    assert.deepEqual(await cluster.stop("SIGTERM"), { code: 0, signal: null });
    for (const pid of pids) assert.equal(alive(pid), false, `worker ${pid} still running`);
    assert.match(cluster.log(), /primary stopped/);
    assert.doesNotMatch(cluster.log(), /still queued|closing anyway|did not stop in time/);

    cluster = await startCluster(2);
    pids = [...cluster.workerPids().values()];
    await cluster.stop("SIGKILL");
    const deadline = Date.now() + 10000;
    while (pids.some(alive) && Date.now() < deadline) await sleep(100);
    for (const pid of pids) assert.equal(alive(pid), false, `orphan worker ${pid}`);
  });
});
