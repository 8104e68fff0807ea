// Who writes and what a fresh page pages back through, against the real server with the
// real socket.io-client: names (accounts, guests, renames) and `history` pages.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { connectClient, isConsecutiveFrom, metric, offsets, signUp, stallReport, startCluster, startServer } from "./server.mjs";

describe("names on messages", () => {
  let server;
  before(async () => { server = await startServer(); });
  after(async () => { await server.stop(); });

  test("a message carries its author, time and whether it is a guest's after the tutorial's two arguments", async () => {
    const ana = await connectClient(server.url, {}, { cookie: await signUp(server.url, "ana") });
    await ana.until(() => ana.replayDone);
    const before = Date.now();
    const ack = await ana.send("hi, I am ana", "nick-1");
    const [m] = ana.live();
    assert.deepEqual([m.text, m.offset], ["hi, I am ana", ack.serverOffset]);
    assert.equal(m.rest.length, 1);
    assert.deepEqual([m.rest[0].author, m.rest[0].guest], ["ana", false]);
    assert.ok(Math.abs(m.rest[0].createdAt - before) < 5000, `createdAt ${m.rest[0].createdAt}`);
    // A replay carries the same.
    const later = await connectClient(server.url, { serverOffset: ack.serverOffset - 1 });
    await later.until(() => later.replayDone);
    assert.deepEqual(later.received[0].rest[0], m.rest[0]);
    ana.close(); later.close();
  });

  test("a client that sends no name (the tutorial's) writes as a guest it is told of", async () => {
    const c = await connectClient(server.url);
    await c.until(() => c.replayDone);
    assert.match(c.identity.name, /^guest-[0-9a-f]{4}$/);
    assert.deepEqual([c.identity.guest, c.identity.canPost], [true, true]);
    await c.send("who am I", "nick-anon");
    assert.deepEqual([c.live()[0].rest[0].author, c.live()[0].rest[0].guest], [c.identity.name, true]);
    c.close();
  });

  test("a guest may rename itself to another guest name only; an account not at all", async () => {
    const c = await connectClient(server.url, { nickname: "guest-bo" });
    await c.until(() => c.replayDone);
    assert.equal(c.identity.name, "guest-bo");
    assert.deepEqual(await c.socket.timeout(5000).emitWithAck("nickname", "guest-bob"), { nickname: "guest-bob" });
    await c.send("as bob", "nick-rename");
    assert.equal(c.live().at(-1).rest[0].author, "guest-bob");
    assert.match((await c.socket.timeout(5000).emitWithAck("nickname", "bob")).error, /guests are named guest-/);
    assert.deepEqual(await c.socket.timeout(5000).emitWithAck("nickname", "x".repeat(33)), { error: "nickname too long: 33 characters, max 32" });
    assert.deepEqual(await c.socket.timeout(5000).emitWithAck("nickname", 7), { error: "nickname must be a string, got number" });
    await c.send("still bob", "nick-kept");
    assert.equal(c.live().at(-1).rest[0].author, "guest-bob");
    c.close();
    const member = await connectClient(server.url, {}, { cookie: await signUp(server.url, "cyd") });
    await member.until(() => member.replayDone);
    assert.match((await member.socket.timeout(5000).emitWithAck("nickname", "guest-cy")).error, /your name is your account's username/);
    member.close();
  });

  test("a nickname in the connect auth that is not a guest name is ignored, never refused or taken", async () => {
    for (const nickname of ["x".repeat(40), "a\u0007", "ana"]) {
      const c = await connectClient(server.url, { nickname });
      await c.until(() => c.identity);
      assert.match(c.identity.name, /^guest-[0-9a-f]{4}$/, JSON.stringify(nickname));
      c.close();
    }
  });
});

describe("history paging", () => {
  let server;
  before(async () => { server = await startServer(); });
  after(async () => { await server.stop(); });

  test("a fresh page asking for the latest 50 gets them, then pages back through all of them", async () => {
    const writer = await connectClient(server.url);
    for (let i = 1; i <= 230; i++) await writer.send(`page ${i}`, `page-${i}`);
    const fresh = await connectClient(server.url, { historyLimit: 50 });
    await fresh.until(() => fresh.replayDone);
    assert.deepEqual(offsets(fresh), Array.from({ length: 50 }, (_, i) => 181 + i));
    let before = 181;
    const older = [];
    for (let more = true; more;) {
      const page = await fresh.socket.timeout(5000).emitWithAck("history", before, 60);
      assert.ok(page.messages.length <= 60);
      older.unshift(...page.messages);
      before = page.messages[0]?.serverOffset ?? before;
      more = page.more;
    }
    assert.deepEqual(older.map((m) => m.serverOffset), Array.from({ length: 180 }, (_, i) => i + 1));
    assert.deepEqual(Object.keys(older[0]).sort(), ["author", "channel", "createdAt", "seq", "serverOffset", "text"]);
    assert.deepEqual([older[0].channel, older[0].seq], [1, older[0].serverOffset], "#general, whose seqs are its offsets while it is the only channel");
    assert.equal(older[0].text, "page 1");
    // A reconnect with an offset still gets everything after it, the limit notwithstanding.
    const back = await connectClient(server.url, { serverOffset: 100, historyLimit: 50 });
    await back.until(() => back.replayDone);
    assert.equal(back.received.length, 130);
    for (const c of [writer, fresh, back]) c.close();
  });

  test("bad history arguments get an error ack", async () => {
    const c = await connectClient(server.url);
    for (const args of [[], [0, 10], [5, 0], [5, 201], ["5", 10], [5]]) {
      const reply = await c.socket.timeout(5000).emitWithAck("history", ...args);
      assert.match(reply.error, /history needs/, JSON.stringify(args));
    }
    c.close();
  });
});
