// Scrolling as a reader lives it: a newcomer lands at the newest message; new messages are
// followed while the reader is at the bottom (a tall one included), always after one's own
// send; "Load older" keeps the reader's place; a reader scrolled up gets a pill that says
// how many are new.
import { expect, test, type Page } from "@playwright/test";
import { closeOpenedContexts, messageTexts, openChat, seedMessages, send, tag } from "./support";

test.afterEach(closeOpenedContexts);

const small = { viewport: { width: 800, height: 400 } };
const atBottom = (page: Page) =>
  page.evaluate(() => Math.abs(document.documentElement.scrollHeight - (window.scrollY + window.innerHeight)) < 5);

test("a newcomer lands at the newest of the latest 50, with no pill", async ({ browser, baseURL }) => {
  const t = tag("arrive");
  await seedMessages(baseURL!, t, 60);
  const page = await openChat(await browser.newContext(small));
  await expect(messageTexts(page).filter({ hasText: t })).toHaveCount(50);
  await expect(messageTexts(page).filter({ hasText: `${t} 060` })).toBeInViewport();
  await expect.poll(() => atBottom(page)).toBe(true);
  await expect(page.locator(".new-below")).toHaveCount(0);
});

test("a tall message does not stop the view from following, for its sender or anyone", async ({ browser, baseURL }) => {
  const t = tag("tall");
  const reader = await openChat(await browser.newContext(small));
  const tall = Array.from({ length: 40 }, (_, i) => `${t} line ${i}`).join("\n");
  await seedMessages(baseURL!, t, 1, () => tall);
  await send(reader, `${t} after it`);
  await seedMessages(baseURL!, `${t}b`, 1, () => `${t} last`);
  await expect(messageTexts(reader).filter({ hasText: `${t} last` })).toBeInViewport();
  await expect.poll(() => atBottom(reader)).toBe(true);
  await expect(reader.locator(".new-below")).toHaveCount(0);
});

test("one's own send is always followed, even when scrolled up", async ({ browser, baseURL }) => {
  const t = tag("own");
  await seedMessages(baseURL!, t, 30);
  const page = await openChat(await browser.newContext(small));
  await expect(messageTexts(page).filter({ hasText: `${t} 030` })).toBeInViewport();
  await expect.poll(() => atBottom(page)).toBe(true);
  await page.evaluate(() => window.scrollTo(0, 0));
  await expect.poll(() => page.evaluate(() => window.scrollY)).toBe(0);
  await send(page, `${t} mine`);
  await expect(messageTexts(page).filter({ hasText: `${t} mine` })).toBeInViewport();
});

test("scrolling up in the frame a message arrives in is not undone", async ({ browser, baseURL }) => {
  const t = tag("race");
  await seedMessages(baseURL!, t, 30);
  const page = await openChat(await browser.newContext(small));
  await expect(messageTexts(page).filter({ hasText: `${t} 030` })).toBeInViewport();
  await expect.poll(() => atBottom(page)).toBe(true);
  // The reader scrolls up in the frame that renders a new row, from a callback queued
  // before the page's own (checked once a frame): the page must not pull them back down.
  await page.evaluate((t) => {
    const check = () => {
      const shown = [...document.querySelectorAll("#messages li.message .text")].some((n) => n.textContent === `${t} arrives`);
      if (shown) window.scrollTo(0, 0);
      else requestAnimationFrame(check);
    };
    requestAnimationFrame(check);
  }, t);
  await seedMessages(baseURL!, `${t}n`, 1, () => `${t} arrives`);
  await expect(messageTexts(page).filter({ hasText: `${t} arrives` })).toHaveCount(1);
  // The page decided not to follow: it counts the message below the reader instead.
  await expect(page.getByRole("button", { name: /^\d+ new messages? ↓$/ })).toBeVisible();
  expect(await page.evaluate(() => window.scrollY)).toBe(0);
});

test("Load older keeps the reader's place; the pill counts what is new", async ({ browser, baseURL }) => {
  const t = tag("older");
  await seedMessages(baseURL!, t, 80);
  const page = await openChat(await browser.newContext(small));
  await expect(messageTexts(page).filter({ hasText: t })).toHaveCount(50);
  await expect.poll(() => atBottom(page)).toBe(true);
  await page.evaluate(() => window.scrollTo(0, 0));
  await expect.poll(() => page.evaluate(() => window.scrollY)).toBe(0);
  const first = messageTexts(page).filter({ hasText: `${t} 031` });
  const before = (await first.boundingBox())!.y;
  await page.getByRole("button", { name: "Load older messages" }).click();
  await expect(messageTexts(page).filter({ hasText: t })).toHaveCount(80);
  // The row stays put; its text may move a few pixels, as the message now continues the
  // group of the older one before it (no name or avatar line of its own).
  await expect.poll(async () => Math.abs(Math.round((await first.boundingBox())!.y - before))).toBeLessThanOrEqual(12);
  // Scrolled up, three arrive: a pill that says three, and no jump.
  const y = await page.evaluate(() => window.scrollY);
  await seedMessages(baseURL!, `${t}n`, 3, (i) => `${t} new ${i}`);
  await expect(page.getByRole("button", { name: "3 new messages ↓" })).toBeVisible();
  expect(await page.evaluate(() => window.scrollY)).toBe(y);
  await page.getByRole("button", { name: "3 new messages ↓" }).click();
  await expect(messageTexts(page).filter({ hasText: `${t} new 3` })).toBeInViewport();
  await expect(page.locator(".new-below")).toHaveCount(0);
});
