// The tutorial's chat in the browser: send, broadcast, history, and text that stays text.
import { expect, test } from "@playwright/test";
import { closeOpenedContexts, messageTexts, openChat, send, tag, waitLive } from "./support";

test.afterEach(closeOpenedContexts);

test("two people exchange messages, each seen once by both", async ({ browser }) => {
  const alice = await openChat(await browser.newContext());
  const bob = await openChat(await browser.newContext());
  const t = tag("hello");
  await send(alice, `${t} from alice`);
  await send(bob, `${t} from bob`);
  for (const page of [alice, bob]) {
    await expect(messageTexts(page).filter({ hasText: t })).toHaveText([`${t} from alice`, `${t} from bob`]);
  }
  // Once acked, nothing is left pending.
  await expect(alice.locator("#messages li.own")).toHaveCount(0);
  await expect(alice.getByRole("textbox", { name: "Message" })).toHaveValue("");
});

test("live messages reach the page as `chat messages` lists, shown once each and in order", async ({ browser }) => {
  const context = await browser.newContext();
  const reader = await context.newPage();
  const frames: string[] = [];
  reader.on("websocket", (ws) => ws.on("framereceived", ({ payload }) => frames.push(String(payload))));
  await reader.goto("/");
  await waitLive(reader);
  const writer = await openChat(await browser.newContext());
  const t = tag("listed");
  const texts = [1, 2, 3, 4, 5].map((n) => `${t} ${n}`);
  for (const text of texts) await send(writer, text);
  await expect(messageTexts(reader).filter({ hasText: t })).toHaveText(texts);
  const ours = frames.filter((f) => f.includes(t));
  expect(ours.length).toBeGreaterThan(0);
  for (const frame of ours) expect(frame.startsWith('42["chat messages",[[')).toBe(true);
});

test("blank text is not sent", async ({ browser }) => {
  const page = await openChat(await browser.newContext());
  // The replay of earlier tests' messages may still be arriving: a live message of our own
  // comes after all of it, so count once it shows.
  const first = tag("before-blank");
  await send(page, first);
  await expect(messageTexts(page).last()).toHaveText(first);
  const before = await messageTexts(page).count();
  await send(page, "   ");
  await page.getByRole("button", { name: "Send" }).click();
  const t = tag("after-blank");
  await send(page, t);
  await expect(messageTexts(page).last()).toHaveText(t);
  expect(await messageTexts(page).count()).toBe(before + 1);
});

test("a reload shows the history in order", async ({ browser }) => {
  const page = await openChat(await browser.newContext());
  const t = tag("history");
  const texts = [1, 2, 3, 4, 5].map((i) => `${t} #${i}`);
  for (const text of texts) {
    await send(page, text);
    await expect(messageTexts(page).filter({ hasText: text })).toHaveCount(1);
  }
  await page.reload();
  await expect(page.locator("body[data-hydrated]")).toHaveCount(1);
  await expect(messageTexts(page).filter({ hasText: t })).toHaveText(texts);
  // The whole history is in strictly increasing offset order.
  const offsets = await page.locator("#messages li.message[data-offset]").evaluateAll((rows) =>
    rows.map((row) => Number(row.getAttribute("data-offset"))),
  );
  expect(offsets.length).toBeGreaterThanOrEqual(5);
  expect(offsets.every((o, i) => i === 0 || o > offsets[i - 1])).toBe(true);
});

test("HTML in a message renders as text", async ({ browser }) => {
  const alice = await openChat(await browser.newContext());
  const bob = await openChat(await browser.newContext());
  let dialogs = 0;
  for (const page of [alice, bob]) page.on("dialog", async (d) => { dialogs++; await d.dismiss(); });
  const html = `<img src=x onerror=alert(1)> ${tag("xss")}`;
  await send(alice, html);
  for (const page of [alice, bob]) {
    await expect(messageTexts(page).filter({ hasText: html })).toHaveCount(1);
    await expect(page.locator("#messages img")).toHaveCount(0);
  }
  expect(dialogs).toBe(0);
});

test("the page is accessible: labelled input, live region, status", async ({ browser }) => {
  const page = await openChat(await browser.newContext());
  await expect(page.getByRole("textbox", { name: "Message" })).toBeVisible();
  await expect(page.getByRole("status")).toHaveText(/connected/);
  // Keyboard only: the top bar's account controls (Sign in, Sign up), then Disconnect.
  await page.keyboard.press("Tab");
  await expect(page.locator("summary").filter({ hasText: /^Sign in$/ })).toBeFocused();
  await page.keyboard.press("Tab");
  await expect(page.locator("summary").filter({ hasText: /^Sign up$/ })).toBeFocused();
  await page.keyboard.press("Tab");
  await expect(page.getByRole("button", { name: "Disconnect" })).toBeFocused();
  // Screen readers hear live messages of others, not the replay on arrival.
  await expect(page.locator("#messages")).not.toHaveAttribute("aria-live", /./);
  await expect(page.locator("#announcer")).toHaveAttribute("aria-live", "polite");
  await expect(page.locator("#announcer")).toHaveText("");
  const other = await openChat(await browser.newContext());
  const t = tag("announced");
  await send(other, t);
  await expect(page.locator("#announcer")).toHaveText(new RegExp(`^guest-[0-9a-z]{4}: ${t}$`));
  await send(page, tag("own"));
  await expect(page.locator("#announcer")).toHaveText(new RegExp(`: ${t}$`), { timeout: 1000 });
});

test("before the WASM runs the composer is disabled and says so; nothing typed is lost", async ({ browser }) => {
  const context = await browser.newContext();
  const page = await context.newPage();
  // Hold the WASM back, as a slow network would.
  let release!: () => void;
  const held = new Promise<void>((r) => { release = r; });
  await page.route("**/*.wasm", async (route) => { await held; await route.continue(); });
  await page.goto("/");
  const input = page.getByRole("textbox", { name: "Message" });
  await expect(input).toBeDisabled();
  await expect(input).toHaveAttribute("placeholder", "connecting…");
  await expect(page.getByRole("button", { name: "Send" })).toBeDisabled();
  release();
  await expect(page.locator("body[data-hydrated]")).toHaveCount(1);
  await expect(input).toBeEnabled();
  await expect(input).toHaveAttribute("placeholder", "Type a message…");
  const t = tag("after-hydration");
  await input.fill(t);
  await input.press("Enter");
  await expect(page.locator("#messages li.message:not(.own) .text").filter({ hasText: t })).toHaveCount(1);
  expect(new URL(page.url()).search).toBe("");
});
