// The page under the server's message rate limit (30/s, bursts of 60 by default): a burst
// over it (the page sends one message at a time, so it takes a few hundred to get there) is
// refused with `retryAfterMs`, and the page waits and resends, so every message
// is delivered once and none is shown as failed.
import { expect, test } from "@playwright/test";
import { messageTexts, openChat, tag } from "./support";

test("a burst over the rate limit is delivered whole: refused messages are resent after the advertised wait", async ({ browser }) => {
  const sender = await openChat(await browser.newContext());
  const reader = await openChat(await browser.newContext());
  const t = tag("burst");
  const count = 200;
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
    await expect(messageTexts(page).filter({ hasText: t })).toHaveCount(count, { timeout: 20_000 });
    const texts = await messageTexts(page).filter({ hasText: t }).allTextContents();
    expect([...texts].sort()).toEqual([...expected].sort());
  }
  await expect(sender.locator("#messages li.own")).toHaveCount(0);
  await expect(sender.getByText("rate limited")).toHaveCount(0);
  // The limit really refused part of the burst (the page's worker counts it).
  const metrics = await (await sender.request.get(new URL("/metrics", sender.url()).href)).text();
  const refused = metrics.match(/^chat_refused_total\{[^}]*reason="rate_limited"[^}]*\} (\d+)/m);
  expect(Number(refused?.[1] ?? 0)).toBeGreaterThan(0);
});
