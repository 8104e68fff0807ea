// Channels, against the real server (2 workers) with the real socket.io-client: a member of
// one channel never receives another's messages, live or replayed, on any worker; private
// channels admit only the invited; every bad request is an error ack that changes nothing;
// the tutorial's client sees #general only; readers hopping between workers get every
// message of each of their channels once, in order, with consecutive seqs; unread and
// mention counts are the server's and agree across tabs.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { io } from "socket.io-client";
import { channelChurn } from "./channel-churn.mjs";
import { connectClient, signUp, startCluster } from "./server.mjs";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const run = Date.now().toString(36).slice(-5);
const GENERAL = 1;

/** Emits `event` with one argument and resolves with its ack. */
const call = (client, event, arg) => client.socket.timeout(10000).emitWithAck(event, arg);
/** Posts `text` to `channel`; resolves with the ack. */
const post = (client, channel, text, offset = `${text}-${Math.random()}`) =>
  client.socket.timeout(10000).emitWithAck("channel message", channel, text, offset);
/** The messages a client received in `channel`: `{ text, offset, seq }`. */
const inChannel = (client, channel) => client.received
  .filter((m) => (m.rest[0]?.channel ?? GENERAL) === channel)
  .map((m) => ({ text: m.text, offset: m.offset, seq: m.rest[0]?.seq }));

/** Signs up `name` and connects it to `url`, its replay done; also returns its cookie. */
async function account(url, name) {
  const cookie = await signUp(url, name);
  const client = await connectClient(url, {}, { cookie });
  await client.until(() => client.replayDone);
  return { client, cookie };
}

describe("channels on two workers", () => {
  let cluster;
  let ana, bob, cy;
  let alpha, beta;
  before(async () => {
    cluster = await startCluster(2);
    const [a, b] = cluster.urls;
    ana = await account(a, `ana${run}`);
    bob = await account(b, `bob${run}`);
    cy = await account(b, `cy${run}`);
    alpha = (await call(ana.client, "channel create", { name: `Alpha-${run}`, topic: "first" })).channel;
    beta = (await call(bob.client, "channel create", { name: `beta-${run}`, private: true })).channel;
  });
  after(async () => {
    for (const who of [ana, bob, cy]) who?.client.close();
    await cluster.stop();
  });

  test("a created channel has its folded name, its topic and its creator in it", async () => {
    assert.equal(alpha.name, `alpha-${run}`);
    assert.equal(alpha.topic, "first");
    assert.deepEqual([alpha.private, beta.private], [false, true]);
    assert.ok(alpha.id > GENERAL && beta.id > alpha.id);
    const list = await call(ana.client, "channels");
    assert.deepEqual(list.channels.map((c) => c.name), ["general", `alpha-${run}`]);
    const seen = await call(cy.client, "channels");
    assert.ok(seen.joinable.some((c) => c.id === alpha.id && c.members === 1), "a public channel is listed to others");
    assert.ok(!seen.joinable.some((c) => c.id === beta.id), "a private one is not");
    const members = await call(ana.client, "channel members", { channel: alpha.id });
    assert.deepEqual(members.members, [`ana${run}`]);
  });

  test("a member of one channel never receives another's messages, live or replayed, on either worker", async () => {
    const joined = await call(cy.client, "channel join", { channel: alpha.id });
    assert.equal(joined.channel.id, alpha.id);
    // cy's second tab, on the other worker, is in alpha too (the adapter's remote join).
    const cyElsewhere = await connectClient(cluster.urls[0], {}, { cookie: cy.cookie });
    const guest = await connectClient(cluster.urls[1], {});
    await Promise.all([cyElsewhere, guest].map((c) => c.until(() => c.replayDone)));
    const a1 = await post(ana.client, alpha.id, `alpha one ${run}`);
    const b1 = await post(bob.client, beta.id, `beta one ${run}`);
    const g1 = await ana.client.send(`general one ${run}`, `g1-${run}`);
    for (const ack of [a1, b1, g1]) assert.ok(ack.serverOffset > 0, JSON.stringify(ack));
    for (const c of [cy.client, cyElsewhere]) await c.until(() => c.received.some((m) => m.offset === g1.serverOffset));
    await guest.until(() => guest.received.some((m) => m.offset === g1.serverOffset));
    await bob.client.until(() => bob.client.received.some((m) => m.offset === g1.serverOffset));
    for (const c of [cy.client, cyElsewhere]) {
      assert.deepEqual(inChannel(c, alpha.id).map((m) => [m.text, m.seq]), [[`alpha one ${run}`, 1]]);
      assert.deepEqual(inChannel(c, beta.id), [], "cy is not in beta");
    }
    assert.deepEqual(inChannel(guest, alpha.id), [], "a guest is in #general only");
    assert.deepEqual(inChannel(guest, beta.id), []);
    assert.deepEqual(inChannel(bob.client, alpha.id), [], "bob is not in alpha");
    assert.deepEqual(inChannel(bob.client, beta.id).map((m) => m.seq), [1]);
    // Replayed from the start, on each worker: the same isolation.
    for (const url of cluster.urls) {
      const replayed = await connectClient(url, { serverOffset: 0 }, { cookie: cy.cookie });
      await replayed.until(() => replayed.replayDone);
      assert.deepEqual(inChannel(replayed, alpha.id).map((m) => m.text), [`alpha one ${run}`]);
      assert.deepEqual(inChannel(replayed, beta.id), []);
      const history = await replayed.socket.timeout(5000).emitWithAck("history", 1e12, 50, alpha.id);
      assert.deepEqual(history.messages.map((m) => [m.text, m.channel, m.seq]), [[`alpha one ${run}`, alpha.id, 1]]);
      const refused = await replayed.socket.timeout(5000).emitWithAck("history", 1e12, 50, beta.id);
      assert.match(refused.error, /not in channel/);
      replayed.close();
    }
    cyElsewhere.close();
    guest.close();
  });

  test("every bad request is an error ack that stores and sends nothing", async () => {
    const guest = await connectClient(cluster.urls[0], {});
    await guest.until(() => guest.replayDone);
    const cases = [
      [post(cy.client, beta.id, "not a member"), /not in #beta/],
      [post(cy.client, 99999, "nowhere"), /no channel 99999/],
      [post(guest, alpha.id, "as a guest"), /not in #alpha/],
      [cy.client.socket.timeout(5000).emitWithAck("channel message", "alpha", "x", "k"), /channel must be a channel id/],
      [call(cy.client, "channel join", { channel: beta.id }), /private: ask one of its members to invite you/],
      [call(cy.client, "channel join", { channel: 99999 }), /no channel 99999/],
      [call(cy.client, "channel create", { name: "no spaces" }), /may contain only/],
      [call(cy.client, "channel create", { name: `ALPHA-${run}` }), /is taken/],
      [call(cy.client, "channel create", { name: "ok", extra: 1 }), /unknown field/],
      [call(guest, "channel create", { name: `guests-${run}` }), /sign in/],
      [call(cy.client, "channel leave", { channel: GENERAL }), /cannot be left/],
      [call(cy.client, "channel leave", { channel: beta.id }), /not in #beta/],
      [call(cy.client, "channel invite", { channel: beta.id, username: `cy${run}` }), /not in #beta/],
      [call(bob.client, "channel invite", { channel: beta.id, username: "nobody-here" }), /no account is named/],
      [call(cy.client, "channel topic", { channel: beta.id, topic: "mine" }), /not in #beta/],
      [call(cy.client, "channel members", { channel: beta.id }), /not in #beta/],
      [call(cy.client, "channel read", { channel: beta.id, seq: 1 }), /not in #beta/],
    ];
    for (const [request, error] of cases) {
      const ack = await request;
      assert.match(ack.error ?? "", error, JSON.stringify(ack));
    }
    // Nothing was stored: beta still holds only bob's message.
    const replayed = await connectClient(cluster.urls[0], { serverOffset: 0 }, { cookie: bob.cookie });
    await replayed.until(() => replayed.replayDone);
    assert.deepEqual(inChannel(replayed, beta.id).map((m) => m.text), [`beta one ${run}`]);
    assert.ok(!replayed.received.some((m) => ["not a member", "nowhere", "as a guest"].includes(m.text)));
    replayed.close();
    guest.close();
  });

  test("an invite admits to a private channel at once, on every socket of the invitee", async () => {
    const cyElsewhere = await connectClient(cluster.urls[0], {}, { cookie: cy.cookie });
    await cyElsewhere.until(() => cyElsewhere.replayDone);
    const told = [cy.client, cyElsewhere].map((c) => new Promise((ok) => c.socket.once("channel joined", ok)));
    assert.deepEqual(await call(bob.client, "channel invite", { channel: beta.id, username: `CY${run}` }), { ok: true });
    for (const info of await Promise.all(told)) assert.equal(info.id, beta.id);
    const b2 = await post(bob.client, beta.id, `beta two ${run}`);
    for (const c of [cy.client, cyElsewhere]) {
      await c.until(() => c.received.some((m) => m.offset === b2.serverOffset), 5000, "the invitee's live message");
      assert.deepEqual(inChannel(c, beta.id).map((m) => m.seq), [2]);
    }
    const again = await call(bob.client, "channel invite", { channel: beta.id, username: `cy${run}` });
    assert.match(again.error, /already in/);
    // Leaving stops every socket of the account at once.
    const left = new Promise((ok) => cyElsewhere.socket.once("channel left", ok));
    assert.deepEqual(await call(cy.client, "channel leave", { channel: beta.id }), { ok: true });
    await left;
    await sleep(200);
    const b3 = await post(bob.client, beta.id, `beta three ${run}`);
    const g2 = await bob.client.send(`general two ${run}`, `g2-${run}`);
    for (const c of [cy.client, cyElsewhere]) {
      await c.until(() => c.received.some((m) => m.offset === g2.serverOffset));
      assert.ok(!c.received.some((m) => m.offset === b3.serverOffset), "a left channel is not received");
    }
    cyElsewhere.close();
  });

  test("unread and mention counts are the server's, and a read marker reaches every tab", async () => {
    const cyTab2 = await connectClient(cluster.urls[0], {}, { cookie: cy.cookie });
    await cyTab2.until(() => cyTab2.replayDone);
    const before = (await call(cy.client, "channels")).channels.find((c) => c.id === alpha.id);
    await post(ana.client, alpha.id, `plain ${run}`);
    await post(ana.client, alpha.id, `hey @cy${run}, look`);
    const last = await post(ana.client, alpha.id, `@CY${run} again, and @nobody`);
    await post(cy.client, alpha.id, `my own ${run}`);
    const now = (await call(cy.client, "channels")).channels.find((c) => c.id === alpha.id);
    assert.equal(now.unread - before.unread, 3, "three by others; one's own is never unread");
    assert.equal(now.mentions - before.mentions, 2);
    assert.equal(now.lastSeq, before.lastSeq + 4);
    const told = new Promise((ok) => cyTab2.socket.once("channel read", ok));
    const marked = await call(cy.client, "channel read", { channel: alpha.id, seq: now.lastSeq + 100 });
    assert.deepEqual(marked, { channel: alpha.id, seq: now.lastSeq }, "never past the latest message");
    assert.deepEqual(await told, marked);
    const fromTab2 = (await call(cyTab2, "channels")).channels.find((c) => c.id === alpha.id);
    assert.deepEqual([fromTab2.unread, fromTab2.mentions, fromTab2.lastRead], [0, 0, now.lastSeq]);
    const back = await call(cy.client, "channel read", { channel: alpha.id, seq: 1 });
    assert.equal(back.seq, now.lastSeq, "a marker never moves back");
    assert.ok(last.serverOffset > 0);
    cyTab2.close();
  });

  test("the tutorial's client, knowing nothing of channels, sees #general only", async () => {
    const tutorial = io(cluster.urls[1], { auth: { serverOffset: 0 }, transports: ["websocket"], forceNew: true, reconnection: false });
    const got = [];
    tutorial.on("chat message", (text, offset) => got.push({ text, offset }));
    await new Promise((ok, fail) => { tutorial.once("connect", ok); tutorial.once("connect_error", fail); });
    await post(ana.client, alpha.id, `secret alpha ${run}`);
    const ack = await tutorial.timeout(5000).emitWithAck("chat message", `tutorial ${run}`, `t-${run}`);
    assert.ok(ack.serverOffset > 0);
    await cy.client.until(() => cy.client.received.some((m) => m.offset === ack.serverOffset));
    await sleep(300);
    assert.ok(got.some((m) => m.text === `tutorial ${run}`), "its own message came back");
    assert.ok(got.every((m) => !m.text.includes("alpha") && !m.text.includes("beta")), JSON.stringify(got));
    assert.ok(got.every((m, k) => k === 0 || m.offset > got[k - 1].offset), "in order");
    const inGeneral = inChannel(cy.client, GENERAL).find((m) => m.offset === ack.serverOffset);
    assert.ok(inGeneral.seq > 0, "it is a #general message, with a seq there");
    tutorial.close();
  });
});

describe("per-channel churn on two workers", () => {
  test("readers in 3 channels hopping between workers get each channel's messages once, in order, without a gap", async () => {
    const cluster = await startCluster(2);
    try {
      await channelChurn(cluster.urls, "channel churn");
    } finally {
      await cluster.stop();
    }
  });
});
