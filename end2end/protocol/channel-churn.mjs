// The churn test per channel, for any set of worker URLs (two workers of one host, or four
// workers on two hosts): 9 accounts read 1, 2 or all 3 of three channels (and #general),
// each dropping and reconnecting to a random worker every 0.5-1 s with the last offset it
// saw; one sender per channel and one in #general write all along. Then each reader must
// hold every message of each of its channels once, in order, with consecutive seqs, and
// nothing of a channel it is not in.
import assert from "node:assert/strict";
import { io } from "socket.io-client";
import { connectClient, signUp } from "./server.mjs";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const GENERAL = 1;
const call = (client, event, arg) => client.socket.timeout(10000).emitWithAck(event, arg);
const post = (client, channel, text, offset) =>
  client.socket.timeout(10000).emitWithAck("channel message", channel, text, offset);

/** Signs up `name` and connects it to `url`, its replay done; also returns its cookie. */
async function account(url, name) {
  const cookie = await signUp(url, name);
  const client = await connectClient(url, {}, { cookie });
  await client.until(() => client.replayDone);
  return { client, cookie };
}

/** Runs the churn across `urls` for 10 s; logs one line headed `label` and asserts. */
export async function channelChurn(urls, label) {
  const run = Date.now().toString(36).slice(-5);
  const clients = [];
  try {
    const owner = await account(urls[0], `own${run}`);
    clients.push(owner.client);
    const channels = [];
    for (const name of ["red", "green", "blue"]) {
      channels.push((await call(owner.client, "channel create", { name: `${name}-${run}` })).channel.id);
    }
    // 9 readers: each in one, two or all three channels (and #general).
    const readers = [];
    for (let i = 0; i < 9; i++) {
      const name = `rd${i}${run}`;
      const { client, cookie } = await account(urls[i % urls.length], name);
      const mine = [[0], [1], [2], [0, 1], [1, 2], [0, 2], [0, 1, 2], [0, 1, 2], [2]][i].map((k) => channels[k]);
      for (const channel of mine) assert.ok((await call(client, "channel join", { channel })).channel);
      client.close();
      readers.push({ cookie, mine, received: [], reconnects: 0 });
    }
    // Senders: one per channel, on alternating workers, plus #general.
    const senders = [];
    for (const [k, channel] of channels.entries()) {
      const { client } = await account(urls[(k + 1) % urls.length], `snd${k}${run}`);
      assert.ok((await call(client, "channel join", { channel })).channel);
      senders.push({ client, channel });
      clients.push(client);
    }
    senders.push({ client: owner.client, channel: GENERAL });
    let stopping = false;
    const acked = new Map(); // channel -> its latest seq, from the store once sending stops
    let sent = 0;
    const sending = senders.map(async ({ client, channel }, k) => {
      for (let n = 0; !stopping; n++) {
        const ack = await post(client, channel, `c${channel}-${n}`, `churn-${k}-${n}`);
        assert.ok(ack.serverOffset > 0, JSON.stringify(ack));
        sent++;
        await sleep(15 + Math.random() * 10);
      }
    });
    const hop = async (r) => {
      while (!stopping) {
        const url = urls[Math.floor(Math.random() * urls.length)];
        const last = r.received.at(-1)?.offset ?? 0;
        const socket = io(url, {
          auth: { serverOffset: last }, transports: ["websocket"], reconnection: false, forceNew: true,
          extraHeaders: { cookie: r.cookie },
        });
        socket.on("chat message", (text, offset, meta) => r.received.push({ text, offset, channel: meta.channel, seq: meta.seq }));
        await new Promise((ok) => { socket.once("connect", ok); socket.once("connect_error", ok); });
        await sleep(500 + Math.random() * 500);
        socket.disconnect();
        r.reconnects++;
      }
    };
    const hopping = readers.map(hop);
    await sleep(10_000);
    stopping = true;
    await Promise.all(sending);
    await Promise.all(hopping);
    // What each channel holds, from the store: its latest seq.
    const lastSeq = new Map();
    for (const info of (await call(owner.client, "channels")).channels) lastSeq.set(info.id, info.lastSeq);
    for (const channel of channels) acked.set(channel, lastSeq.get(channel));
    // A final connection per reader catches up on the rest.
    await Promise.all(readers.map(async (r, i) => {
      const c = await connectClient(urls[i % urls.length], { serverOffset: r.received.at(-1)?.offset ?? 0 }, { cookie: r.cookie });
      await c.until(() => c.replayDone, 20000);
      r.received.push(...c.received.map((m) => ({ text: m.text, offset: m.offset, channel: m.rest[0].channel, seq: m.rest[0].seq })));
      c.close();
    }));
    let missing = 0, duplicates = 0, outOfOrder = 0, foreign = 0;
    const perChannel = new Map(channels.map((c) => [c, { missing: 0, duplicates: 0, outOfOrder: 0 }]));
    for (const r of readers) {
      for (const m of r.received) if (m.channel !== GENERAL && !r.mine.includes(m.channel)) foreign++;
      for (const channel of r.mine) {
        const seqs = r.received.filter((m) => m.channel === channel).map((m) => m.seq);
        const tally = perChannel.get(channel);
        const seen = new Set();
        seqs.forEach((s, k) => {
          if (seen.has(s)) { duplicates++; tally.duplicates++; }
          if (k > 0 && s <= seqs[k - 1]) { outOfOrder++; tally.outOfOrder++; }
          seen.add(s);
        });
        for (let s = 1; s <= acked.get(channel); s++) if (!seen.has(s)) { missing++; tally.missing++; }
      }
    }
    const reconnects = readers.reduce((n, r) => n + r.reconnects, 0);
    const figures = channels.map((c) => `#${c}: ${acked.get(c)} messages, ${perChannel.get(c).missing} missing, ${perChannel.get(c).duplicates} duplicates, ${perChannel.get(c).outOfOrder} out of order`);
    console.log(`${label}: ${sent} sent, ${reconnects} reconnects; ${figures.join("; ")}; ${foreign} from channels not joined`);
    assert.equal(foreign, 0);
    assert.equal(missing, 0);
    assert.equal(duplicates, 0);
    assert.equal(outOfOrder, 0);
    assert.ok(reconnects >= 9 * 8, `only ${reconnects} reconnects`);
    for (const channel of channels) assert.ok(acked.get(channel) > 50, `#${channel} got only ${acked.get(channel)}`);
  } finally {
    for (const c of clients) c.close();
  }
}
