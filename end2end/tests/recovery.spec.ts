// Connection state recovery and client delivery (tutorial steps 6-8), with the page's
// Disconnect/Connect toggle.
import { expect, test } from "@playwright/test";
import { messageTexts, openChat, send, tag, waitLive } from "./support";

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
