// Takes the README screenshots (desktop, and `-phone.png` beside it): three signed-in people chatting; Ben is back from a
// disconnect, has an unread private message from Cleo (listed under "Direct messages"), two
// unread messages (one mentioning him) in #rust, and sees Ana typing. Use a fresh database
// (the three accounts are signed up here).
// Usage: start the server (e.g. scripts/run.sh, or target/debug/chat-server --db /tmp/shot.db),
// then: node scripts/screenshot.mjs [url] [out.png]
import { chromium } from "@playwright/test";

const url = process.argv[2] ?? "http://127.0.0.1:3000/";
const out = process.argv[3] ?? "docs/screenshot.png";
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"],
});
const open = async (username) => {
  const context = await browser.newContext({ viewport: { width: 1100, height: 640 }, deviceScaleFactor: 1 });
  // Signs up through the form's endpoint; the context keeps the session cookie.
  const signUp = await context.request.post(new URL("/auth/sign-up", url).href, {
    form: { username, password: `${username} password` },
    headers: { origin: new URL(url).origin, accept: "application/json" },
  });
  if (!signUp.ok()) throw new Error(`sign-up of ${username}: ${signUp.status()} ${await signUp.text()}`);
  const page = await context.newPage();
  await page.goto(url);
  await page.waitForSelector("body[data-hydrated] .status[data-state=connected]");
  return page;
};
const say = async (page, text) => {
  await page.getByRole("textbox", { name: "Message" }).fill(text);
  await page.getByRole("textbox", { name: "Message" }).press("Enter");
  await page.waitForSelector(`#messages li.message:not(.own) >> text=${JSON.stringify(text)}`);
};
const ana = await open("ana");
const ben = await open("ben");
const cleo = await open("cleo");
await say(ana, "Hi Ben! The Rust port is live.");
await say(ben, "Nice. Is it really the tutorial's protocol?");
await say(ana, "Byte for byte: the tutorial's own index.html chats with this page.");
await ben.getByRole("button", { name: "Disconnect" }).click();
await say(ana, "Ben went offline, so these two wait in SQLite…");
await say(cleo, "…and come back, in order, when he reconnects.");
await ben.getByRole("button", { name: "Connect" }).click();
await ben.waitForSelector("#messages li.divider");
await cleo.locator(".online").getByRole("button", { name: "ben" }).click();
await say(cleo, "Psst, this one is only for you.");
await ben.waitForSelector(".channels ul.direct .channel[data-direct-with=cleo] .unread-count");
// Ana opens #rust, invites Ben and mentions him there: his channel list shows the badges.
await ana.locator(".channels summary", { hasText: "New channel" }).click();
await ana.getByLabel("Name").fill("rust");
await ana.getByRole("button", { name: "Create" }).click();
await ana.waitForSelector(".channel-title:has-text('#rust')");
await ana.locator(".channel-header summary", { hasText: "Invite" }).click();
await ana.getByLabel("Username").fill("ben");
await ana.locator(".channel-header form").getByRole("button", { name: "Invite" }).click();
await ben.waitForSelector(".channels .channel:has-text('rust')");
await say(ana, "The release notes are in here.");
await say(ana, "@ben can you check the benchmarks?");
await ben.waitForSelector(".channels .channel .mention");
await ana.locator(".channels .channel", { hasText: "general" }).click();
await ana.getByRole("textbox", { name: "Message" }).pressSequentially("Welcome b", { delay: 30 });
await ben.waitForSelector(".typing:has-text('ana is typing')");
await ben.getByRole("textbox", { name: "Message" }).fill("Got both, marked as recovered.");
await ben.screenshot({ path: out });
console.log(`wrote ${out}`);
// The same chat on a phone, in dark mode, as Cleo, with the online drawer open.
const phoneOut = out.replace(/\.png$/, "-phone.png");
const phone = await browser.newContext({ viewport: { width: 390, height: 700 }, colorScheme: "dark", isMobile: true, hasTouch: true, deviceScaleFactor: 1 });
await phone.addCookies(await cleo.context().cookies());
const cleoPhone = await phone.newPage();
await cleoPhone.goto(url);
await cleoPhone.waitForSelector("body[data-hydrated] .status[data-state=connected]");
await cleoPhone.getByRole("button", { name: /^Online \d+$/ }).tap();
await cleoPhone.locator("#online li.me").waitFor({ state: "visible" });
await cleoPhone.screenshot({ path: phoneOut });
console.log(`wrote ${phoneOut}`);
await browser.close();
