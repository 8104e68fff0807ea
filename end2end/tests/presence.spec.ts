// Presence across workers: join and leave notices once per user (not per tab or reload),
// an online list whose count agrees on every worker, "… is typing", and the unread count
// in the title of a hidden tab.
import { expect, test, type Browser, type BrowserContext, type Page } from "@playwright/test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { io } from "socket.io-client";
import { closeOpenedContexts, guestTag, openChat, send, startOwnServer } from "./support";

test.afterEach(closeOpenedContexts);

/** A browser context whose pages propose the guest name `nickname` (as kept from an earlier visit). */
async function asUser(browser: Browser, nickname: string, baseURL?: string): Promise<BrowserContext> {
  const context = await browser.newContext(baseURL ? { baseURL } : {});
  await context.addInitScript((name) => localStorage.setItem("chat.nickname", name), nickname);
  return context;
}

const otherWorker = (baseURL: string) => baseURL.replace(/:(\d+)$/, (_, port) => `:${Number(port) + 1}`);

/**
 * Waits until a grace period has passed for everything closed so far: a sentinel user
 * opens and closes a tab, and its "left" notice (announced one grace period after its
 * close) reaches `observer` after any earlier user's would have.
 */
async function graceElapsed(browser: Browser, observer: Page) {
  const sentinel = guestTag();
  const page = await openChat(await asUser(browser, sentinel));
  await page.close();
  await expect(observer.locator("#messages li.notice").filter({ hasText: `${sentinel} left` })).toHaveCount(1);
}

test("a user is announced once when their first tab opens and once when their last closes", async ({ browser, baseURL }) => {
  const observer = await openChat(await browser.newContext());
  const ana = guestTag();
  const notices = observer.locator("#messages li.notice");
  const anaContext = await asUser(browser, ana);
  const first = await openChat(anaContext);
  await expect(notices.filter({ hasText: `${ana} joined` })).toHaveCount(1);
  // A second tab on the other worker, and a reload: no new notice.
  const second = await openChat(anaContext, `${otherWorker(baseURL!)}/`);
  await first.reload();
  await expect(first.locator("body[data-hydrated]")).toHaveCount(1);
  await first.close();
  await graceElapsed(browser, observer);
  await expect(notices.filter({ hasText: ana })).toHaveText([`${ana} joined`]);
  await second.close();
  await expect(notices.filter({ hasText: `${ana} left` })).toHaveCount(1);
  await graceElapsed(browser, observer);
  await expect(notices.filter({ hasText: ana })).toHaveText([`${ana} joined`, `${ana} left`]);
  await expect(observer.locator(".online li").filter({ hasText: ana })).toHaveCount(0);
});

test("the online list and its count agree on both workers", async ({ browser, baseURL }) => {
  const a = guestTag();
  const b = guestTag();
  const pageA = await openChat(await asUser(browser, a));
  const pageB = await openChat(await asUser(browser, b, otherWorker(baseURL!)));
  for (const page of [pageA, pageB]) {
    await expect(page.locator(".online li").filter({ hasText: a })).toHaveCount(1);
    await expect(page.locator(".online li").filter({ hasText: b })).toHaveCount(1);
  }
  await expect.poll(async () => {
    const [listA, listB] = await Promise.all([pageA, pageB].map((p) => p.locator(".online li").allTextContents()));
    const [countA, countB] = await Promise.all([pageA, pageB].map((p) => p.locator(".online .count").textContent()));
    return JSON.stringify([listA, countA]) === JSON.stringify([listB, countB]) && Number(countA) === listA.length;
  }).toBe(true);
  await expect(pageA.locator(".online li.me")).toContainText(a);
});

test("typing is shown to the others and cleared when the message is sent", async ({ browser, baseURL }) => {
  const typist = guestTag();
  const writer = await openChat(await asUser(browser, typist));
  const reader = await openChat(await browser.newContext({ baseURL: otherWorker(baseURL!) }));
  await writer.getByRole("textbox", { name: "Message" }).pressSequentially("hello the", { delay: 20 });
  await expect(reader.locator(".typing")).toHaveText(`${typist} is typing…`);
  await expect(writer.locator(".typing")).not.toContainText(typist);
  await writer.getByRole("textbox", { name: "Message" }).press("Enter");
  await expect(reader.locator(".typing")).not.toContainText(typist);
});

test("a hidden tab counts unread messages in its title", async ({ browser }) => {
  const sender = await openChat(await browser.newContext());
  const reader = await openChat(await browser.newContext());
  const setHidden = (hidden: boolean) => reader.evaluate((hidden) => {
    Object.defineProperty(document, "hidden", { value: hidden, configurable: true });
    document.dispatchEvent(new Event("visibilitychange"));
  }, hidden);
  await expect(reader).toHaveTitle("Chat");
  await setHidden(true);
  const t = guestTag();
  await send(sender, `${t} 1`);
  await send(sender, `${t} 2`);
  await expect(reader).toHaveTitle("(2) Chat");
  await setHidden(false);
  await expect(reader).toHaveTitle("Chat");
});

test("a guest taking another name is one notice, and the online list follows", async ({ browser, baseURL }) => {
  const observer = await openChat(await browser.newContext());
  const notices = observer.locator("#messages li.notice");
  const [from, to] = [guestTag(), guestTag()];
  // A client of the protocol (the page itself never renames).
  const client = io(otherWorker(baseURL!), { transports: ["websocket"], auth: { nickname: from } });
  try {
    await expect(notices.filter({ hasText: `${from} joined` })).toHaveCount(1);
    expect(await client.timeout(5000).emitWithAck("nickname", to)).toEqual({ nickname: to });
    await expect(notices.filter({ hasText: `${from} is now ${to}` })).toHaveCount(1);
    await expect(observer.locator(".online li").filter({ hasText: to })).toHaveCount(1);
    await expect(observer.locator(".online li").filter({ hasText: from })).toHaveCount(0);
    await graceElapsed(browser, observer);
    await expect(notices.filter({ hasText: from })).toHaveText([`${from} joined`, `${from} is now ${to}`]);
  } finally {
    client.close();
  }
});

test("a crowd beyond --presence-announce-max is counted: no notice per arrival, the first names listed and the rest as a number", async ({ browser }) => {
  const dataDir = mkdtempSync(join(tmpdir(), "chat-crowd-"));
  const server = await startOwnServer(join(dataDir, "chat.db"), ["--presence-announce-max", "2"]);
  const clients = [];
  try {
    const page = await openChat(await browser.newContext({ baseURL: server.url }));
    for (let i = 0; i < 4; i++) clients.push(io(server.url, { transports: ["websocket"], auth: { nickname: guestTag() } }));
    // Five online: the count comes every 5 s while it changes, the list stays at two names.
    await expect(page.locator("#online h2 .count")).toHaveText("5", { timeout: 15_000 });
    await expect(page.locator("#online .online-more")).toHaveText("and 3 more");
    await expect(page.locator("#messages li.notice").filter({ hasText: "joined" })).toHaveCount(1);
  } finally {
    for (const c of clients) c.close();
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
