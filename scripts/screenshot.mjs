// Takes the README screenshot: two people chatting, one of them back from a disconnect.
// Usage: start the server (e.g. scripts/run.sh, or target/debug/chat-server --db /tmp/shot.db),
// then: node scripts/screenshot.mjs [url] [out.png]
import { chromium } from "@playwright/test";

const url = process.argv[2] ?? "http://127.0.0.1:3000/";
const out = process.argv[3] ?? "docs/screenshot.png";
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"],
});
const open = async () => {
  const context = await browser.newContext({ viewport: { width: 720, height: 560 }, deviceScaleFactor: 1 });
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
const ana = await open();
const ben = await open();
await say(ana, "Hi Ben! The Rust port is live.");
await say(ben, "Nice. Is it really the tutorial's protocol?");
await say(ana, "Byte for byte: the tutorial's own index.html chats with this page.");
await ben.getByRole("button", { name: "Disconnect" }).click();
await say(ana, "Ben went offline, so these two wait in SQLite…");
await say(ana, "…and come back, in order, when he reconnects.");
await ben.getByRole("button", { name: "Connect" }).click();
await ben.waitForSelector("#messages li.divider");
await ben.getByRole("textbox", { name: "Message" }).fill("Got both, marked as recovered.");
await ben.screenshot({ path: out });
await browser.close();
console.log(`wrote ${out}`);
