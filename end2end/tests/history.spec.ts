// History paging: a fresh page gets the latest 50 messages and pages back with "Load older
// messages" through the rest, in order, with no duplicates; a reader scrolled up is not
// yanked down by new messages but gets a "New messages" pill.
import { expect, test } from "@playwright/test";
import { closeOpenedContexts, messageTexts, openChat, seedMessages, send, tag } from "./support";

test.afterEach(closeOpenedContexts);

const seed = seedMessages;

test("load older pages back through 200 messages in order with no duplicates", async ({ browser, baseURL }) => {
  // Seeding 200 messages one ack at a time through the rate limit takes several seconds on
  // its own; the rest of the test, rendering 200 rows and paging, more than that on 2 busy
  // cores (21.6 s in one full run, over 30 s in another).
  test.setTimeout(60_000);
  const t = tag("paged");
  await seed(baseURL!, t, 200);
  const page = await openChat(await browser.newContext());
  const mine = messageTexts(page).filter({ hasText: t });
  await expect(mine).toHaveCount(50);
  await expect(mine.last()).toHaveText(`${t} 200`);
  const older = page.getByRole("button", { name: "Load older messages" });
  for (let expected = 100; expected <= 200; expected += 50) {
    await older.click();
    await expect(mine).toHaveCount(expected);
  }
  const texts = await mine.allTextContents();
  expect(texts).toEqual(Array.from({ length: 200 }, (_, i) => `${t} ${String(i + 1).padStart(3, "0")}`));
  const offsets = await page.locator("#messages li.message[data-offset]").evaluateAll((rows) => rows.map((r) => Number(r.getAttribute("data-offset"))));
  expect(offsets).toEqual([...offsets].sort((a, b) => a - b));
  expect(new Set(offsets).size).toBe(offsets.length);
});

test("a reader scrolled up gets a new-messages pill instead of a jump", async ({ browser, baseURL }) => {
  const t = tag("pill");
  await seed(baseURL!, t, 60);
  const reader = await openChat(await browser.newContext({ viewport: { width: 800, height: 400 } }));
  await expect(messageTexts(reader).filter({ hasText: t })).toHaveCount(50);
  // Once the arrival has settled at the bottom, the reader scrolls up.
  await expect.poll(() => reader.evaluate(() => Math.abs(document.documentElement.scrollHeight - (window.scrollY + window.innerHeight)) < 5)).toBe(true);
  await reader.evaluate(() => window.scrollTo(0, 0));
  await expect.poll(() => reader.evaluate(() => window.scrollY)).toBe(0);
  const writer = await openChat(await browser.newContext());
  await send(writer, `${t} new`);
  // (Other tests' pages may still be open and chatting in this suite: the exact count is
  // checked in scroll.spec.ts, on messages of its own.)
  const pill = reader.getByRole("button", { name: /^\d+ new messages? ↓$/ });
  await expect(pill).toBeVisible();
  expect(await reader.evaluate(() => window.scrollY)).toBe(0);
  await pill.click();
  await expect(pill).toHaveCount(0);
  await expect(messageTexts(reader).filter({ hasText: `${t} new` })).toBeInViewport();
});
