// Two hosts: two primaries with two workers each, on different port ranges, sharing one
// PostgreSQL database and one Redis adapter (--database, --adapter). Messages cross hosts
// live, the online count agrees everywhere, and clients hopping between all four workers
// get every message once, in order. Needs CHAT_TEST_POSTGRES_URL and CHAT_TEST_REDIS_URL
// (scripts/test.sh starts both).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { io } from "socket.io-client";
import { connectClient, freshPostgresDatabase, isConsecutiveFrom, offsets, startCluster } from "./server.mjs";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pg = process.env.CHAT_TEST_POSTGRES_URL;
const redis = process.env.CHAT_TEST_REDIS_URL;
const skip = pg && redis ? false : "needs CHAT_TEST_POSTGRES_URL and CHAT_TEST_REDIS_URL (scripts/test.sh sets them)";

describe("two hosts on PostgreSQL and Redis", { skip }, () => {
  let hostA;
  let hostB;
  let urls;
  before(async () => {
    const args = ["--database", freshPostgresDatabase(pg), "--adapter", redis];
    hostA = await startCluster(2, args);
    hostB = await startCluster(2, args);
    urls = [...hostA.urls, ...hostB.urls];
  });
  after(async () => { await Promise.all([hostA?.stop(), hostB?.stop()]); });

  test("a client on host A receives a message sent on host B, and the reverse", async () => {
    const a = await connectClient(hostA.urls[1]);
    const b = await connectClient(hostB.urls[0]);
    await Promise.all([a.until(() => a.replayDone), b.until(() => b.replayDone)]);
    const fromB = await b.send("from host B", "mh-1");
    await a.until(() => a.live().some((m) => m.offset === fromB.serverOffset), 5000, "B's message on A");
    const fromA = await a.send("from host A", "mh-2");
    assert.equal(fromA.serverOffset, fromB.serverOffset + 1);
    await b.until(() => b.live().some((m) => m.offset === fromA.serverOffset), 5000, "A's message on B");
    for (const c of [a, b]) assert.deepEqual(c.live().map((m) => m.text), ["from host B", "from host A"]);
    // A resend to the other host is stored once.
    assert.deepEqual(await a.send("from host B", "mh-1"), { serverOffset: fromB.serverOffset, duplicate: true });
    a.close(); b.close();
  });

  test("the online count agrees on all four workers", async () => {
    const clients = await Promise.all(urls.map((url) => connectClient(url)));
    let counts = [];
    for (let tries = 0; tries < 50; tries++) {
      counts = await Promise.all(clients.map((c) => c.socket.timeout(5000).emitWithAck("online")));
      if (new Set(counts.map((c) => c.count)).size === 1) break;
      await sleep(100);
    }
    assert.equal(new Set(counts.map((c) => c.count)).size, 1, JSON.stringify(counts));
    assert.ok(counts[0].count >= 4);
    for (const c of clients) c.close();
  });

  test("churn across both hosts: every message once, in order, for every reader", async () => {
    // Where this test's messages start (earlier tests wrote some).
    const probe = await connectClient(urls[0]);
    const base = (await probe.socket.timeout(5000).emitWithAck("history", 1e12, 1)).messages.at(-1)?.serverOffset ?? 0;
    probe.close();
    const senders = await Promise.all(urls.map((url) => connectClient(url)));
    let stop = false;
    const acked = new Map();
    const sending = senders.map(async (s, i) => {
      for (let n = 0; !stop; n++) {
        const ack = await s.send(`mh ${i}-${n}`, `mh-churn-${i}-${n}`);
        acked.set(`mh ${i}-${n}`, ack.serverOffset);
        await sleep(20 + Math.random() * 10);
      }
    });
    const readers = Array.from({ length: 12 }, (_, i) => ({ i, received: [], reconnects: 0 }));
    const hop = async (r) => {
      while (!stop) {
        const url = urls[Math.floor(Math.random() * urls.length)];
        const last = r.received.at(-1)?.offset ?? base;
        const socket = io(url, { auth: { serverOffset: last }, transports: ["websocket"], reconnection: false, forceNew: true });
        socket.on("chat message", (text, offset) => r.received.push({ text, offset }));
        await new Promise((ok) => { socket.once("connect", ok); socket.once("connect_error", ok); });
        await sleep(400 + Math.random() * 400);
        socket.disconnect();
        r.reconnects++;
      }
    };
    const hopping = readers.map(hop);
    await sleep(8000);
    stop = true;
    await Promise.all(sending);
    await Promise.all(hopping);
    const last = Math.max(...acked.values());
    await Promise.all(readers.map(async (r) => {
      const c = await connectClient(urls[r.i % urls.length], { serverOffset: r.received.at(-1)?.offset ?? base });
      await c.until(() => c.replayDone);
      r.received.push(...c.received);
      c.close();
    }));
    let missing = 0;
    let duplicates = 0;
    let outOfOrder = 0;
    for (const r of readers) {
      const seen = new Set();
      r.received.forEach((m, k) => {
        if (seen.has(m.offset)) duplicates++;
        if (k > 0 && m.offset <= r.received[k - 1].offset) outOfOrder++;
        seen.add(m.offset);
      });
      for (let o = base + 1; o <= last; o++) if (!seen.has(o)) missing++;
    }
    const reconnects = readers.reduce((n, r) => n + r.reconnects, 0);
    console.log(`multi-host churn: ${acked.size} messages from 4 workers on 2 hosts, ${reconnects} reconnects, ${missing} missing, ${duplicates} duplicates, ${outOfOrder} out of order`);
    assert.equal(missing, 0);
    assert.equal(duplicates, 0);
    assert.equal(outOfOrder, 0);
    const audit = await connectClient(urls[3], { serverOffset: base });
    await audit.until(() => audit.replayDone, 20000);
    assert.equal(audit.received.length, acked.size);
    assert.ok(isConsecutiveFrom(offsets(audit), base + 1));
    audit.close();
    for (const s of senders) s.close();
  });
});
