// A phone (390 × 844): the top bar fits, every control is inside the screen and can be
// tapped (nothing covers it), and the online list opens as a drawer from the top bar,
// for a guest and for a signed-in user.
import { expect, test, type Page } from "@playwright/test";
import { closeOpenedContexts, openChat, send, signUpThroughPage, tag, userTag } from "./support";

test.afterEach(closeOpenedContexts);

const phone = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true };

async function everyControlFitsAndCanBeTapped(page: Page) {
  const controls = page.locator(".topbar :is(button, summary, a, input), .composer :is(button, input)");
  const count = await controls.count();
  expect(count).toBeGreaterThan(3);
  for (let i = 0; i < count; i++) {
    const control = controls.nth(i);
    if (!(await control.isVisible())) continue;
    const box = (await control.boundingBox())!;
    const what = (await control.textContent()) || (await control.getAttribute("id")) || `control ${i}`;
    expect(box.x, what).toBeGreaterThanOrEqual(0);
    expect(box.x + box.width, what).toBeLessThanOrEqual(390);
    expect(box.y, what).toBeGreaterThanOrEqual(0);
    expect(box.y + box.height, what).toBeLessThanOrEqual(844);
    expect(box.height, `${what} is big enough to tap`).toBeGreaterThanOrEqual(24);
    // Nothing covers it and it stays put (the bar may move once while others come and go).
    await control.click({ trial: true, timeout: 5000 });
  }
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow, "nothing sticks out sideways").toBeLessThanOrEqual(0);
}

test("on a phone every control of a guest's page fits and can be tapped; the online list is a drawer", async ({ browser }) => {
  const page = await openChat(await browser.newContext(phone));
  await send(page, tag("phone"));
  await everyControlFitsAndCanBeTapped(page);
  const list = page.locator("#online");
  await expect(list).toBeHidden();
  await page.getByRole("button", { name: /^Online \d+$/ }).tap();
  await expect(list).toBeVisible();
  await expect(list.locator("li.me")).toBeVisible();
  await expect(page.getByRole("button", { name: /^Online \d+$/ })).toHaveAttribute("aria-expanded", "true");
  await page.getByRole("button", { name: /^Online \d+$/ }).tap();
  await expect(list).toBeHidden();
});

test("on a phone a signed-in page fits too", async ({ browser }) => {
  const page = await openChat(await browser.newContext(phone));
  await signUpThroughPage(page, userTag("phoney"));
  await everyControlFitsAndCanBeTapped(page);
});
