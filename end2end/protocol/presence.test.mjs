// Who is online, typing and private messages across a primary's workers, with the real
// socket.io-client against the real server.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { io } from "socket.io-client";
import { alive, connectClient, graceElapsed, isConsecutiveFrom, offsets, signUp, startCluster, tallyDeliveries, waitFor } from "./server.mjs";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

describe("presence and typing across workers", () => {
  let cluster;
  before(async () => { cluster = await startCluster(2, ["--presence-grace-ms", "300"]); });
  after(async () => { await cluster.stop(); });

  /** A client that also records presence and typing events. */
  async function watcher(url, nickname) {
    const c = await connectClient(url, { nickname });
    c.presence = [];
    c.typing = [];
    c.socket.on("user joined", ({ nickname }) => c.presence.push(`+${nickname}`));
    c.socket.on("user left", ({ nickname }) => c.presence.push(`-${nickname}`));
    c.socket.on("user renamed", ({ from, to }) => c.presence.push(`${from}>${to}`));
    c.socket.on("typing", (t) => c.typing.push(t));
    await c.until(() => c.replayDone);
    return c;
  }
  const users = (c) => c.socket.timeout(5000).emitWithAck("users");

  test("a user joins once (first tab anywhere) and leaves once (last tab, after the grace period)", async () => {
    const w = await watcher(cluster.urls[1], "guest-watch1");
    const ana1 = await connectClient(cluster.urls[0], { nickname: "guest-ana1" });
    await waitFor(() => w.presence.includes("+guest-ana1"), "ana joined");
    const ana2 = await connectClient(cluster.urls[1], { nickname: "guest-ana1" });
    ana1.close();
    await graceElapsed(cluster.urls[0], w.presence);
    assert.deepEqual(w.presence.filter((e) => e.endsWith("guest-ana1")), ["+guest-ana1"]);
    for (const url of cluster.urls) {
      const asker = await connectClient(url, { nickname: "guest-asker" });
      const list = await users(asker);
      asker.close();
      assert.ok(list.users.includes("guest-ana1"), JSON.stringify(list));
    }
    ana2.close();
    await waitFor(() => w.presence.includes("-guest-ana1"), "ana left");
    await graceElapsed(cluster.urls[1], w.presence);
    assert.deepEqual(w.presence.filter((e) => e.endsWith("guest-ana1")), ["+guest-ana1", "-guest-ana1"]);
    w.close();
  });

  test("a reconnect within the grace period is neither a leave nor a join", async () => {
    const w = await watcher(cluster.urls[0], "guest-watch2");
    const bo = await connectClient(cluster.urls[1], { nickname: "guest-bo2" });
    await waitFor(() => w.presence.includes("+guest-bo2"), "bo joined");
    bo.close();
    const back = await connectClient(cluster.urls[0], { nickname: "guest-bo2" });
    await graceElapsed(cluster.urls[1], w.presence);
    assert.deepEqual(w.presence.filter((e) => e.endsWith("guest-bo2")), ["+guest-bo2"]);
    back.close();
    w.close();
  });

  test("a rename is told once as a rename on every worker, not as a join and a leave", async () => {
    const watchers = await Promise.all(cluster.urls.map((url, i) => watcher(url, `guest-watchr${i}`)));
    const cy = await connectClient(cluster.urls[1], { nickname: "guest-cyold" });
    for (const w of watchers) await waitFor(() => w.presence.includes("+guest-cyold"), "cy joined");
    assert.deepEqual(await cy.socket.timeout(5000).emitWithAck("nickname", "guest-cynew"), { nickname: "guest-cynew" });
    for (const w of watchers) await waitFor(() => w.presence.includes("guest-cyold>guest-cynew"), "cy renamed");
    for (const w of watchers) await graceElapsed(cluster.urls[0], w.presence);
    for (const w of watchers) assert.deepEqual(w.presence.filter((e) => e.includes("guest-cy")), ["+guest-cyold", "guest-cyold>guest-cynew"]);
    const list = await users(watchers[0]);
    assert.ok(list.users.includes("guest-cynew") && !list.users.includes("guest-cyold"), JSON.stringify(list));
    // With a second tab still named guest-cynew, renaming one of them is a join only.
    const tab2 = await connectClient(cluster.urls[0], { nickname: "guest-cynew" });
    assert.deepEqual(await cy.socket.timeout(5000).emitWithAck("nickname", "guest-cythird"), { nickname: "guest-cythird" });
    for (const w of watchers) await waitFor(() => w.presence.includes("+guest-cythird"), "cythird joined");
    for (const w of watchers) await graceElapsed(cluster.urls[0], w.presence);
    for (const w of watchers) assert.deepEqual(w.presence.filter((e) => e.includes("guest-cy")), ["+guest-cyold", "guest-cyold>guest-cynew", "+guest-cythird"]);
    cy.close(); tab2.close();
    for (const w of watchers) w.close();
  });

  test("the users list and count agree on every worker", async () => {
    const a = await connectClient(cluster.urls[0], { nickname: "guest-lista" });
    const b = await connectClient(cluster.urls[1], { nickname: "guest-listb" });
    const both = (list) => list.users.includes("guest-lista") && list.users.includes("guest-listb");
    for (let seen = []; !(seen.length === 2 && seen.every(both));) seen = await Promise.all([users(a), users(b)]);
    const [onA, onB] = await Promise.all([users(a), users(b)]);
    assert.deepEqual(onA, onB);
    assert.ok(onA.users.includes("guest-lista") && onA.users.includes("guest-listb"));
    assert.equal(onA.count, onA.users.length);
    a.close(); b.close();
  });

  test("typing reaches the others on every worker, not the typist; it is cleared on disconnect", async () => {
    const ty = await watcher(cluster.urls[0], "guest-typist3");
    const other = await watcher(cluster.urls[1], "reader-3");
    ty.socket.emit("typing", true);
    await waitFor(() => other.typing.some((t) => t.nickname === "guest-typist3" && t.typing), "typing shown");
    ty.socket.emit("typing", false);
    await waitFor(() => other.typing.some((t) => t.nickname === "guest-typist3" && !t.typing), "typing cleared");
    ty.socket.emit("typing", true);
    await waitFor(() => other.typing.filter((t) => t.nickname === "guest-typist3" && t.typing).length === 2, "typing again");
    ty.close();
    await waitFor(() => other.typing.filter((t) => t.nickname === "guest-typist3" && !t.typing).length === 2, "cleared on disconnect");
    assert.equal(ty.typing.filter((t) => t.nickname === "guest-typist3").length, 0);
    other.close();
  });
});

describe("a crowd is counted, not announced", () => {
  let cluster;
  before(async () => { cluster = await startCluster(2, ["--presence-grace-ms", "300", "--presence-announce-max", "3"]); });
  after(async () => { await cluster.stop(); });

  test("beyond --presence-announce-max online, arrivals are not told to everyone; the list is capped and the count is told", async () => {
    const w = await connectClient(cluster.urls[0], { nickname: "guest-crowdw" });
    const events = [];
    const counts = [];
    w.socket.on("user joined", ({ nickname }) => events.push(`+${nickname}`));
    w.socket.on("user left", ({ nickname }) => events.push(`-${nickname}`));
    w.socket.on("users count", ({ count }) => counts.push(count));
    await w.until(() => w.replayDone);
    // Two more people: three online, still announced.
    const first = [];
    for (const name of ["guest-crowda", "guest-crowdb"]) first.push(await connectClient(cluster.urls[1], { nickname: name }));
    await waitFor(() => events.includes("+guest-crowdb"), "b announced");
    // Three more: a crowd of six; none of them is announced.
    const more = [];
    for (const name of ["guest-crowdc", "guest-crowdd", "guest-crowde"]) more.push(await connectClient(cluster.urls[1], { nickname: name }));
    let list;
    for (const end = Date.now() + 10000; !(list?.count === 6) && Date.now() < end; await sleep(50)) list = await w.socket.timeout(5000).emitWithAck("users");
    assert.equal(list.users.length, 3, JSON.stringify(list));
    assert.deepEqual(list.users, [...list.users].sort());
    // The count is told within a few seconds (every 5 s while it changes).
    await waitFor(() => counts.includes(6), "the count told", 12000);
    // (The watcher's own arrival may reach it too, after its handlers are on.)
    assert.deepEqual(events.filter((e) => !e.endsWith("guest-crowdw")), ["+guest-crowda", "+guest-crowdb"]);
    for (const c of [...first, ...more]) c.close();
    w.close();
  });
});

describe("private messages across workers", () => {
  let cluster;
  before(async () => { cluster = await startCluster(2); });
  after(async () => { await cluster.stop(); });

  /** A client signed in as `username` (signed up on first use), once its replay is done. */
  const cookies = new Map();
  async function user(url, username, auth = {}) {
    if (!cookies.has(username)) cookies.set(username, await signUp(url, username));
    const c = await connectClient(url, auth, { cookie: cookies.get(username) });
    await c.until(() => c.replayDone);
    return c;
  }
  const sendPrivate = (c, to, text, key) => c.socket.timeout(5000).emitWithAck("private message", to, text, key);

  test("reach only sender and recipient, live and by replay, and never a third user", async () => {
    const ana = await user(cluster.urls[0], "pmana");
    const bob = await user(cluster.urls[1], "pmbob");
    const eve = await user(cluster.urls[1], "pmeve");
    const joined = [];
    bob.socket.on("channel joined", (info) => joined.push(info));
    const ack = await sendPrivate(ana, "pmbob", "only for bob", "pm-1");
    assert.ok(Number.isInteger(ack.serverOffset) && ack.channel > 1, JSON.stringify(ack));
    await waitFor(() => bob.private.length === 1, "bob's private message");
    await waitFor(() => ana.private.length === 1, "ana's copy");
    const got = bob.private[0];
    assert.deepEqual([got.text, got.author, got.channel, got.seq, got.offset], ["only for bob", "pmana", ack.channel, 1, ack.serverOffset]);
    // bob (on the other worker) was put in the conversation before its first message, and told.
    assert.deepEqual(joined.map((c) => [c.id, c.directWith, c.private]), [[ack.channel, "pmana", true]]);
    // A public message after it reaches eve: by then the private one would have, too.
    const marker = await ana.send("public marker", "pm-marker");
    await eve.until(() => eve.received.some((m) => m.offset === marker.serverOffset), 5000, "marker");
    assert.equal(eve.private.length, 0);
    assert.ok(!eve.received.some((m) => m.text === "only for bob"));
    // Replay: bob (any worker) gets it again from offset 0; eve never does.
    const bobAgain = await user(cluster.urls[0], "pmbob", { serverOffset: 0 });
    assert.deepEqual(bobAgain.private.map((m) => m.text), ["only for bob"]);
    assert.deepEqual(bobAgain.private[0], bob.private[0], "the live event and the replay carry the same fields");
    const bobLater = await user(cluster.urls[0], "pmbob", { serverOffset: ack.serverOffset });
    assert.equal(bobLater.private.length, 0);
    const eveAgain = await user(cluster.urls[0], "pmeve", { serverOffset: 0 });
    assert.equal(eveAgain.private.length, 0);
    assert.ok(!eveAgain.received.some((m) => m.text === "only for bob"));
    // A resend is stored once.
    const again = await sendPrivate(ana, "pmbob", "only for bob", "pm-1");
    assert.deepEqual(again, { serverOffset: ack.serverOffset, channel: ack.channel, duplicate: true });
    // The conversation keeps its own sequence; the next message in it is seq 2, to both.
    const second = await sendPrivate(bob, "PMANA", "and back", "pm-2");
    assert.equal(second.channel, ack.channel, "one conversation per pair, either way, whatever the case");
    await waitFor(() => ana.private.length === 2 && bob.private.length === 2, "the reply");
    assert.deepEqual(ana.private.map((m) => m.seq), [1, 2]);
    // Nobody else can join it, post in it or read its history.
    assert.match((await eve.socket.timeout(5000).emitWithAck("channel join", { channel: ack.channel })).error, /between two others/);
    assert.match((await eve.socket.timeout(5000).emitWithAck("channel message", ack.channel, "let me in", "pm-eve")).error, /not in that private conversation/);
    const history = await eve.socket.timeout(5000).emitWithAck("history", second.serverOffset + 1, 50, ack.channel);
    assert.ok(history.error, JSON.stringify(history));
    assert.match((await ana.socket.timeout(5000).emitWithAck("channel leave", { channel: ack.channel })).error, /cannot be left/);
    assert.match((await ana.socket.timeout(5000).emitWithAck("channel invite", { channel: ack.channel, username: "pmeve" })).error, /between two/);
    for (const c of [ana, bob, eve, bobAgain, bobLater, eveAgain]) c.close();
  });

  test("guests (as the tutorial's client) neither send nor receive private messages", async () => {
    const anon = await connectClient(cluster.urls[0]);
    await anon.until(() => anon.replayDone);
    const named = await user(cluster.urls[1], "pmnamed");
    assert.deepEqual(await sendPrivate(anon, "pmnamed", "from nobody", "pm-anon-1"), { error: "private messages are between signed-in accounts: sign in to send one" });
    assert.deepEqual(await sendPrivate(named, anon.identity.name, "to a guest", "pm-anon-2"), { error: `no account is named ${anon.identity.name}` });
    assert.deepEqual(await sendPrivate(named, "anonymous", "to everybody", "pm-anon-3"), { error: "no account is named anonymous" });
    // Nothing was stored for anyone: a public marker reaches both, and no private message.
    const marker = await named.send("after the refusals", "pm-anon-marker");
    await anon.until(() => anon.received.some((m) => m.offset === marker.serverOffset), 5000, "marker");
    const again = await user(cluster.urls[0], "pmnamed", { serverOffset: 0 });
    assert.equal(again.private.length + named.private.length + anon.private.length, 0);
    for (const c of [anon, named, again]) c.close();
  });

  test("to an account that does not exist, or with bad arguments, gets an error ack", async () => {
    const ana = await user(cluster.urls[0], "pmana2");
    assert.deepEqual(await sendPrivate(ana, "nobody-here", "hello?", "pm-x"), { error: "no account is named nobody-here" });
    assert.deepEqual(await ana.socket.timeout(5000).emitWithAck("private message", "pmana2", "missing key"), { error: "expected 3 arguments (to, text, clientOffset), got 2" });
    assert.deepEqual(await sendPrivate(ana, "x".repeat(40), "hi", "pm-y"), { error: "nickname too long: 40 characters, max 32" });
    ana.close();
  });
});
