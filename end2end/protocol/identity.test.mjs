// Identity, from the attacker's side first: the takeover a new user found (a guest typing
// "vic" got vic's name and private messages) must fail at every step, against the real
// server (2 workers) with the real socket.io-client. Accounts come from the session cookie
// of the handshake only; forged, expired and signed-out cookies are guests; sign-out and
// password changes disconnect on every worker; guessing is limited; and the tutorial's
// reused `undefined-N` offsets no longer swallow a message.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  connectClient, disconnected, postForm, signIn, signUp, startCluster, startServer, waitFor,
} from "./server.mjs";

const run = Date.now().toString(36).slice(-5);
const privately = (client, to, text, offset) =>
  client.socket.timeout(10000).emitWithAck("private message", to, text, offset);

describe("identity: the takeover scenario, on two workers", () => {
  let cluster;
  before(async () => { cluster = await startCluster(2); });
  after(async () => { await cluster.stop(); });

  test("a guest claiming an account's name gets neither the name nor its private messages", async () => {
    const [a, b] = cluster.urls;
    const vicCookie = await signUp(a, `vic${run}`);
    const carlCookie = await signUp(b, `carl${run}`);
    const vic = await connectClient(a, {}, { cookie: vicCookie });
    const carl = await connectClient(b, {}, { cookie: carlCookie });
    await vic.until(() => vic.replayDone);
    await carl.until(() => carl.replayDone);
    assert.deepEqual(vic.identity, { name: `vic${run}`, guest: false, canPost: true });
    // 1. vic and carl exchange two private messages.
    assert.ok((await privately(vic, `carl${run}`, "hi carl", "v-1")).serverOffset > 0);
    assert.ok((await privately(carl, `VIC${run}`, "hi vic", "c-1")).serverOffset > 0, "names fold case");
    await vic.until(() => vic.private.length === 2);

    // 2. mallory, a guest on the other worker, asks for vic's name in her auth.
    const mallory = await connectClient(b, { nickname: `vic${run}`, serverOffset: 0 });
    await mallory.until(() => mallory.replayDone);
    assert.equal(mallory.identity.guest, true);
    assert.match(mallory.identity.name, /^guest-[0-9a-f]{4}$/);
    assert.deepEqual(mallory.private, [], "no private history replayed to the impostor");
    const renamed = await mallory.socket.timeout(5000).emitWithAck("nickname", `vic${run}`);
    assert.match(renamed.error, /guests are named guest-/);

    // 3. carl's next private message reaches vic live, and not mallory.
    await privately(carl, `vic${run}`, "third", "c-2");
    await vic.until(() => vic.private.length === 3);
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(mallory.private, []);

    // 4. mallory reconnects: still nothing private.
    mallory.close();
    const again = await connectClient(a, { nickname: `vic${run}` });
    await again.until(() => again.replayDone);
    assert.deepEqual(again.private, []);

    // 5. mallory posts publicly: it is a guest's message, never vic's; privately: refused.
    const ack = await again.send("I am vic", `m-${run}`);
    await vic.until(() => vic.received.some((m) => m.offset === ack.serverOffset));
    const seen = vic.received.find((m) => m.offset === ack.serverOffset);
    assert.equal(seen.rest[0].guest, true);
    assert.notEqual(seen.rest[0].author.toLowerCase(), `vic${run}`);
    const refused = await privately(again, `carl${run}`, "it's me, vic", "m-2");
    assert.match(refused.error, /between signed-in accounts/);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(carl.private.length, 3, "carl got nothing from the impostor");

    // 6. vic's own public message is verified.
    const own = await vic.send("the real vic", `v-pub-${run}`);
    await carl.until(() => carl.received.some((m) => m.offset === own.serverOffset));
    const real = carl.received.find((m) => m.offset === own.serverOffset);
    assert.deepEqual([real.rest[0].author, real.rest[0].guest], [`vic${run}`, false]);
    for (const c of [vic, carl, again]) c.close();
  });

  test("a forged or signed-out cookie is a guest, never the account", async () => {
    const [a, b] = cluster.urls;
    const cookie = await signUp(a, `ann${run}`);
    const forged = await connectClient(b, {}, { cookie: "chat_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" });
    const garbage = await connectClient(b, {}, { cookie: "chat_session=<script>" });
    for (const c of [forged, garbage]) {
      await c.until(() => c.identity);
      assert.equal(c.identity.guest, true);
      c.close();
    }
    const out = await postForm(a, "sign-out", {}, { cookie });
    assert.equal(out.status, 200);
    assert.match(out.setCookie, /Max-Age=0/);
    const after = await connectClient(b, {}, { cookie });
    await after.until(() => after.identity);
    assert.equal(after.identity.guest, true, "a signed-out cookie signs no one in");
    after.close();
  });

  test("long-polling handshakes are authenticated by the cookie too", async () => {
    const cookie = await signUp(cluster.urls[0], `poll${run}`);
    const c = await connectClient(cluster.urls[1], {}, { cookie, transports: ["polling"] });
    await c.until(() => c.identity);
    assert.deepEqual([c.identity.name, c.identity.guest], [`poll${run}`, false]);
    c.close();
  });

  test("sign-out disconnects that session's sockets on both workers, and no other session's", async () => {
    const [a, b] = cluster.urls;
    const first = await signUp(a, `sam${run}`);
    const second = await signIn(b, `sam${run}`);
    const onA = await connectClient(a, {}, { cookie: first });
    const onB = await connectClient(b, {}, { cookie: first });
    const otherSession = await connectClient(b, {}, { cookie: second });
    for (const c of [onA, onB, otherSession]) await c.until(() => c.replayDone);
    const started = Date.now();
    const gone = Promise.all([disconnected(onA.socket, 1500), disconnected(onB.socket, 1500)]);
    assert.equal((await postForm(b, "sign-out", {}, { cookie: first })).status, 200);
    const reasons = await gone;
    assert.deepEqual(reasons, ["io server disconnect", "io server disconnect"]);
    assert.ok(Date.now() - started < 1500);
    assert.equal(otherSession.socket.connected, true);
    otherSession.close();
  });

  test("a password change ends every other session and its sockets; the old password stops working", async () => {
    const [a, b] = cluster.urls;
    const mine = await signUp(a, `pat${run}`, "old password 1");
    const stolen = await signIn(b, `pat${run}`, "old password 1");
    const thief = await connectClient(b, {}, { cookie: stolen });
    await thief.until(() => thief.replayDone);
    const wrong = await postForm(a, "password", { current: "not it at all", new: "new password 2" }, { cookie: mine });
    assert.equal(wrong.status, 401);
    const gone = disconnected(thief.socket, 1500);
    const changed = await postForm(a, "password", { current: "old password 1", new: "new password 2" }, { cookie: mine });
    assert.equal(changed.status, 200);
    assert.ok(changed.cookie && changed.cookie !== mine, "a fresh session for this browser");
    await gone;
    const thiefAgain = await connectClient(b, {}, { cookie: stolen });
    await thiefAgain.until(() => thiefAgain.identity);
    assert.equal(thiefAgain.identity.guest, true);
    thiefAgain.close();
    const stillMe = await connectClient(a, {}, { cookie: changed.cookie });
    await stillMe.until(() => stillMe.identity);
    assert.equal(stillMe.identity.name, `pat${run}`);
    stillMe.close();
    assert.equal((await postForm(a, "sign-in", { username: `pat${run}`, password: "old password 1" })).status, 401);
    assert.equal((await postForm(a, "sign-in", { username: `pat${run}`, password: "new password 2" })).status, 200);
  });

  test("two tutorial clients reusing undefined-0 with different texts both get stored", async () => {
    const [a, b] = cluster.urls;
    const one = await connectClient(a);
    const two = await connectClient(b);
    await one.until(() => one.replayDone);
    await two.until(() => two.replayDone);
    const first = await one.send(`offline note ${run}`, "undefined-0");
    const second = await two.send(`another note ${run}`, "undefined-0");
    assert.ok(first.serverOffset > 0 && !first.duplicate);
    assert.ok(second.serverOffset > 0 && !second.duplicate, "not swallowed as a duplicate");
    assert.notEqual(first.serverOffset, second.serverOffset);
    const retry = await one.send(`offline note ${run}`, "undefined-0");
    assert.deepEqual(retry, { serverOffset: first.serverOffset, duplicate: true }, "a true retry is still one message");
    one.close(); two.close();
  });

  test("two accounts using the same clientOffset never collide", async () => {
    const [a, b] = cluster.urls;
    const x = await connectClient(a, {}, { cookie: await signUp(a, `xan${run}`) });
    const y = await connectClient(b, {}, { cookie: await signUp(b, `yul${run}`) });
    await x.until(() => x.replayDone);
    await y.until(() => y.replayDone);
    const same = `tab-1-${run}`;
    const fromX = await x.send("same text", same);
    const fromY = await y.send("same text", same);
    assert.ok(!fromY.duplicate);
    assert.notEqual(fromX.serverOffset, fromY.serverOffset);
    x.close(); y.close();
  });

  test("private messages need an account on both sides, and an existing recipient", async () => {
    const a = cluster.urls[0];
    const guest = await connectClient(a);
    await guest.until(() => guest.replayDone);
    const account = await connectClient(a, {}, { cookie: await signUp(a, `kim${run}`) });
    await account.until(() => account.replayDone);
    assert.match((await privately(account, guest.identity.name, "hi", "k-1")).error, /no account is named/);
    assert.match((await privately(account, `nobody${run}`, "hi", "k-2")).error, /no account is named/);
    guest.close(); account.close();
  });
});

describe("identity: forms, limits and guest policies", () => {
  test("sign-up rules, taken names in any case, and the form's origin", async () => {
    const server = await startServer();
    try {
      assert.equal((await postForm(server.url, "sign-up", { username: `Uma${run}`, password: "long enough" })).status, 200);
      const taken = await postForm(server.url, "sign-up", { username: `uMA${run}`, password: "long enough" });
      assert.deepEqual([taken.status, taken.body.error], [409, "that username is taken"]);
      const short = await postForm(server.url, "sign-up", { username: "ab", password: "long enough" });
      assert.equal(short.status, 400);
      assert.match(short.body.error, /at least 3/);
      const guestName = await postForm(server.url, "sign-up", { username: "guest-3f2a", password: "long enough" });
      assert.match(guestName.body.error, /reserved for guests/);
      assert.match((await postForm(server.url, "sign-up", { username: `w${run}`, password: "short" })).body.error, /password too short/);
      // A browser's form post is sent back to the page, with the error's code.
      const page = await postForm(server.url, "sign-up", { username: `uma${run}`, password: "long enough" }, { accept: "text/html" });
      assert.deepEqual([page.status, page.location], [303, "/?auth=sign-up&error=taken"]);
      // Another site cannot post the forms; neither can a request with no Origin.
      for (const origin of ["http://evil.example", null]) {
        const forged = await postForm(server.url, "sign-in", { username: `uma${run}`, password: "long enough" }, { origin });
        assert.equal(forged.status, 403, `origin ${origin}`);
        assert.equal(forged.cookie, null);
      }
      // A new session id at every sign-in, HttpOnly and SameSite=Lax.
      const one = await postForm(server.url, "sign-in", { username: `uma${run}`, password: "long enough" });
      const two = await postForm(server.url, "sign-in", { username: `UMA${run}`, password: "long enough" });
      assert.notEqual(one.cookie, two.cookie);
      assert.match(one.setCookie, /HttpOnly/);
      assert.match(one.setCookie, /SameSite=Lax/);
      assert.doesNotMatch(server.log(), /long enough/, "no password in the log");
      assert.doesNotMatch(server.log(), new RegExp(one.cookie.split("=")[1]), "no session id in the log");
    } finally {
      await server.stop();
    }
  });

  test("brute force reaches the limit: 429 with Retry-After, even for the right password", async () => {
    const server = await startServer(["--sign-in-attempts", "5"]);
    try {
      const name = `bea${run}`;
      // Sign-up counts as an attempt from this address too.
      assert.equal((await postForm(server.url, "sign-up", { username: name, password: "the real one" })).status, 200);
      const answers = [];
      for (let i = 0; i < 4; i++) {
        answers.push((await postForm(server.url, "sign-in", { username: name, password: `guess ${i} guess` })).status);
      }
      assert.deepEqual(answers, [401, 401, 401, 401]);
      const limited = await postForm(server.url, "sign-in", { username: name, password: "the real one" });
      assert.equal(limited.status, 429);
      assert.ok(Number(limited.retryAfter) > 0 && Number(limited.retryAfter) <= 60, `Retry-After ${limited.retryAfter}`);
      assert.match(limited.body.error, /too many attempts; try again in \d+ s/);
      const page = await postForm(server.url, "sign-in", { username: name, password: "the real one" }, { accept: "text/html" });
      assert.equal(page.status, 303);
      assert.match(page.location, /^\/\?auth=sign-in&error=too-many&retry=\d+$/);
    } finally {
      await server.stop();
    }
  });

  test("an expired session is a guest", async () => {
    const server = await startServer(["--session-max-age-s", "1"]);
    try {
      const cookie = await signUp(server.url, `eve${run}`);
      await new Promise((r) => setTimeout(r, 1200));
      const c = await connectClient(server.url, {}, { cookie });
      await c.until(() => c.identity);
      assert.equal(c.identity.guest, true);
      c.close();
    } finally {
      await server.stop();
    }
  });

  test("--guests read-only lets guests read but not post; --guests deny refuses them with a reason", async () => {
    const readOnly = await startServer(["--guests", "read-only"]);
    try {
      const guest = await connectClient(readOnly.url);
      await guest.until(() => guest.replayDone);
      assert.equal(guest.identity.canPost, false);
      assert.match((await guest.send("hello", "g-1")).error, /guests may read but not post/);
      const member = await connectClient(readOnly.url, {}, { cookie: await signUp(readOnly.url, `rio${run}`) });
      await member.until(() => member.replayDone);
      const ack = await member.send("members may", "r-1");
      await guest.until(() => guest.received.some((m) => m.offset === ack.serverOffset));
      guest.close(); member.close();
    } finally {
      await readOnly.stop();
    }
    const deny = await startServer(["--guests", "deny"]);
    try {
      await assert.rejects(connectClient(deny.url), /signed-in users only/);
      const member = await connectClient(deny.url, {}, { cookie: await signUp(deny.url, `dee${run}`) });
      assert.equal(member.socket.connected, true);
      member.close();
    } finally {
      await deny.stop();
    }
  });
});
