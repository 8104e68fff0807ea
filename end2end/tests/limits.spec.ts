// The page under a message rate limit: a burst over it is refused with `retryAfterMs`, and
// the page waits and resends, so every message is delivered once and none shows as failed.
// This test runs its own single-process server with a small bucket (4 messages, 4/s), so
// the burst exceeds it however fast the machine is.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, test } from "@playwright/test";
import { closeOpenedContexts, messageTexts, openChat, send, startOwnServer, tag } from "./support";

test.afterEach(closeOpenedContexts);

let server: Awaited<ReturnType<typeof startOwnServer>>;
let url: string;
let dataDir: string;

test.beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "chat-limits-"));
  server = await startOwnServer(join(dataDir, "chat.db"), ["--message-rate", "4", "--message-burst", "4"]);
  url = server.url;
});

test.afterAll(async () => {
  await server.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

test("a burst over the rate limit is delivered whole and in typed order: the refused head pauses the queue", async ({ browser }) => {
  const sender = await openChat(await browser.newContext({ baseURL: url }));
  const reader = await openChat(await browser.newContext({ baseURL: url }));
  const t = tag("burst");
  const count = 40;
  await sender.evaluate(({ t, count }) => {
    const input = document.querySelector<HTMLInputElement>("#input")!;
    const form = document.querySelector<HTMLFormElement>("#form")!;
    for (let i = 0; i < count; i++) {
      input.value = `${t} ${i}`;
      form.requestSubmit();
    }
  }, { t, count });
  const expected = Array.from({ length: count }, (_, i) => `${t} ${i}`);
  for (const page of [sender, reader]) {
    await expect(messageTexts(page).filter({ hasText: t })).toHaveCount(count, { timeout: 30_000 });
    // Stored (and shown, in offset order) exactly as typed, each once.
    expect(await messageTexts(page).filter({ hasText: t }).allTextContents()).toEqual(expected);
  }
  await expect(sender.locator("#messages li.own")).toHaveCount(0);
  await expect(sender.getByText("rate limited")).toHaveCount(0);
  // The limit really refused part of the burst.
  const metrics = await (await sender.request.get(`${url}/metrics`)).text();
  const refused = metrics.match(/^chat_refused_total\{[^}]*reason="rate_limited"[^}]*\} (\d+)/m);
  expect(Number(refused?.[1] ?? 0)).toBeGreaterThan(0);
});

test("near the limit a counter says what is left; over it nothing is cut or sent, and why; spaces are trimmed", async ({ browser }) => {
  const page = await openChat(await browser.newContext({ baseURL: url }));
  const input = page.getByRole("textbox", { name: "Message" });
  const limit = page.locator("#limit");
  await input.fill("a".repeat(3000));
  await expect(limit).toBeHidden();
  await input.fill("a".repeat(4000));
  await expect(limit).toHaveText("96 characters left");
  // A 5,000-character paste is kept whole and refused with its excess.
  await input.fill("a".repeat(5000));
  await expect(limit).toHaveText("904 characters too long");
  expect((await input.inputValue()).length).toBe(5000);
  await expect(page.getByRole("button", { name: "Send" })).toBeDisabled();
  // 2,100 "é" fit as characters but are 4,200 bytes: the counter says so.
  await input.fill("é".repeat(2100));
  await expect(limit).toHaveText("104 bytes too long (the limit is 4096 bytes: é and most accented letters count 2, emoji 4 or more)");
  await input.press("Enter");
  await expect(page.locator("#messages li.own")).toHaveCount(0);
  expect(await input.inputValue()).toBe("é".repeat(2100));
  // Characters are counted as people count them: a thumbs-up with a skin tone is one (of 8 bytes).
  await input.fill("👍🏽".repeat(500));
  await expect(limit).toContainText("12 characters left");
  // And "é" written as e + a combining accent is one character of 3 bytes.
  await input.fill("e\u0301".repeat(1300));
  await expect(limit).toContainText("65 characters left");
  // Trimmed to fit, it goes.
  await input.fill("é".repeat(2000));
  await expect(limit).toContainText("48 characters left");
  await input.press("Enter");
  await expect(messageTexts(page).filter({ hasText: "é".repeat(2000) })).toHaveCount(1);
  await expect(limit).toBeHidden();
  const t = tag("trimmed");
  await input.fill(`   ${t}  `);
  await input.press("Enter");
  await expect(messageTexts(page).filter({ hasText: t })).toHaveText([t]);
});

test("a refused message stays where it was typed while newer ones arrive below it, without Retry", async ({ browser }) => {
  const context = await browser.newContext({ baseURL: url });
  // A page that believes the limit is higher than the server's (the server's setting changed
  // under an open page): the server refuses the message itself.
  await context.route("/", async (route) => {
    const response = await route.fetch();
    const html = (await response.text()).replace(/(name="chat-max-message-bytes" content=")\d+/, "$1100000");
    await route.fulfill({ response, body: html });
  });
  const page = await openChat(context);
  const t = tag("refused");
  await send(page, `${t} before`);
  await expect(messageTexts(page).filter({ hasText: `${t} before` })).toHaveCount(1);
  const long = `${t} ${"a".repeat(5000)}`;
  await send(page, long);
  const failed = page.locator("#messages li.own.failed");
  await expect(failed).toHaveCount(1);
  await expect(failed.locator(".badge.error")).toContainText("failed:");
  await expect(failed.getByRole("button", { name: "Retry" })).toHaveCount(0);
  await send(page, `${t} after`);
  await expect(messageTexts(page).filter({ hasText: `${t} after` })).toHaveCount(1);
  // In the list's order: before, the failed one, after.
  const order = await page.locator("#messages li.message").evaluateAll((rows, t) =>
    rows.map((r) => r.querySelector(".text")?.textContent ?? "").filter((x) => x.startsWith(t)).map((x) => x.slice(t.length + 1, t.length + 7)), t);
  expect(order).toEqual(["before", "aaaaaa", "after"]);
  await failed.getByRole("button", { name: "Dismiss" }).click();
  await expect(failed).toHaveCount(0);
});
