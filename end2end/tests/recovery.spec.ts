// Connection state recovery and client delivery (tutorial steps 6-8), with the page's
// Disconnect/Connect toggle.
import { expect, test } from "@playwright/test";
import { closeOpenedContexts, messageTexts, openChat, send, tag, waitLive } from "./support";

test.afterEach(closeOpenedContexts);

test("messages sent while away are recovered on reconnect, exactly, and marked", async ({ browser }) => {
  const alice = await openChat(await browser.newContext());
  const bob = await openChat(await browser.newContext());
  const t = tag("away");
  await send(bob, `${t} before`);
  await expect(messageTexts(alice).filter({ hasText: `${t} before` })).toHaveCount(1);

  await alice.getByRole("button", { name: "Disconnect" }).click();
  await expect(alice.locator(".status")).toHaveAttribute("data-state", "offline");
  await expect(alice.getByRole("button", { name: "Connect" })).toBeVisible();

  const missed = [1, 2, 3].map((i) => `${t} missed ${i}`);
  for (const text of missed) await send(bob, text);
  await expect(messageTexts(bob).filter({ hasText: t })).toHaveCount(4);
  // Alice, offline, sees none of them.
  await expect(messageTexts(alice).filter({ hasText: "missed" })).toHaveCount(0);

  await alice.getByRole("button", { name: "Connect" }).click();
  await waitLive(alice);
  await expect(messageTexts(alice).filter({ hasText: t })).toHaveText([`${t} before`, ...missed]);
  const recovered = alice.locator("#messages li.message.recovered .text");
  await expect(recovered).toHaveText(missed);
  await expect(alice.locator("#messages li.divider")).toHaveText("3 new messages while you were offline");

  // A live message after the reconnect is not marked.
  await send(bob, `${t} after`);
  await expect(messageTexts(alice).last()).toHaveText(`${t} after`);
  await expect(alice.locator("#messages li.message.recovered")).toHaveCount(3);
});

test("a message typed while disconnected is delivered exactly once after reconnecting", async ({ browser }) => {
  const alice = await openChat(await browser.newContext());
  const bob = await openChat(await browser.newContext());
  const t = tag("offline-send");

  await alice.getByRole("button", { name: "Disconnect" }).click();
  await expect(alice.locator(".status")).toHaveAttribute("data-state", "offline");
  await send(alice, `${t} queued`);
  // Shown at once as pending, not yet stored.
  await expect(alice.locator("#messages li.own.pending .text")).toHaveText(`${t} queued`);
  await expect(messageTexts(bob).filter({ hasText: t })).toHaveCount(0);

  await alice.getByRole("button", { name: "Connect" }).click();
  await waitLive(alice);
  for (const page of [alice, bob]) {
    await expect(messageTexts(page).filter({ hasText: t })).toHaveText([`${t} queued`]);
  }
  await expect(alice.locator("#messages li.own")).toHaveCount(0);
  // Still exactly once after a reload (i.e. stored once).
  await alice.reload();
  await expect(alice.locator("body[data-hydrated]")).toHaveCount(1);
  await expect(messageTexts(alice).filter({ hasText: t })).toHaveCount(1);
});

test("a message still unsent when the page reloads is sent after the reload, exactly once", async ({ browser }) => {
  const context = await browser.newContext();
  const page = await openChat(context);
  const watcher = await openChat(await browser.newContext());
  await page.getByRole("button", { name: "Disconnect" }).click();
  await expect(page.locator(".status")).toHaveAttribute("data-state", "offline");
  const t = tag("outbox");
  await send(page, t);
  await expect(page.locator("#messages li.own.pending")).toHaveText(/outbox-/);
  // The client library's own buffer dies with the page; the outbox in localStorage does not.
  await page.reload();
  await waitLive(page);
  for (const p of [page, watcher]) {
    await expect(messageTexts(p).filter({ hasText: t })).toHaveCount(1);
  }
  await expect(page.locator("#messages li.own")).toHaveCount(0);
  expect(await page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith("chat.outbox.")))).toEqual([]);
  // Reloading again does not send it again: a resend would go out before this marker, on
  // the same socket, so once the marker has arrived the count is final.
  await page.reload();
  await waitLive(page);
  const marker = tag("after-reload");
  await send(page, marker);
  await expect(messageTexts(watcher).filter({ hasText: marker })).toHaveCount(1);
  await expect(messageTexts(watcher).filter({ hasText: t })).toHaveCount(1);
});
