// Private messages: pick someone in the online list and write to them alone; only the two
// of them ever see it, live or after a reload (replay), whatever worker they are on.
import { expect, test, type Browser } from "@playwright/test";
import { messageTexts, openChat, send, tag } from "./support";

async function asUser(browser: Browser, nickname: string, baseURL?: string) {
  const context = await browser.newContext(baseURL ? { baseURL } : {});
  await context.addInitScript((name) => localStorage.setItem("chat.nickname", name), nickname);
  return openChat(context);
}

const otherWorker = (baseURL: string) => baseURL.replace(/:(\d+)$/, (_, port) => `:${Number(port) + 1}`);

test("a private message reaches only its recipient, live and after a reload", async ({ browser, baseURL }) => {
  const [ana, bob, eve] = [tag("ana"), tag("bob"), tag("eve")];
  const anaPage = await asUser(browser, ana);
  const bobPage = await asUser(browser, bob, otherWorker(baseURL!));
  const evePage = await asUser(browser, eve, otherWorker(baseURL!));
  await anaPage.locator(".online").getByRole("button", { name: bob }).click();
  await expect(anaPage.locator(".private-to")).toContainText(`Private to ${bob}`);
  const secret = tag("secret");
  await send(anaPage, secret);
  for (const page of [anaPage, bobPage]) {
    const row = page.locator("#messages li.message.private").filter({ hasText: secret });
    await expect(row).toHaveCount(1);
    await expect(row.locator(".author")).toHaveText(ana);
    await expect(row.locator(".recipient")).toHaveText(bob);
  }
  // Back to everyone: a public message reaches eve, who never saw the private one.
  await anaPage.getByRole("button", { name: "Back to everyone" }).click();
  const marker = tag("public");
  await send(anaPage, marker);
  await expect(messageTexts(evePage).filter({ hasText: marker })).toHaveCount(1);
  await expect(evePage.getByText(secret)).toHaveCount(0);
  // After a reload the two of them get it again from the server; eve still does not.
  for (const page of [bobPage, evePage]) {
    await page.reload();
    await expect(page.locator("body[data-hydrated]")).toHaveCount(1);
    await expect(messageTexts(page).filter({ hasText: marker })).toHaveCount(1);
  }
  await expect(bobPage.locator("#messages li.message.private").filter({ hasText: secret })).toHaveCount(1);
  await expect(evePage.getByText(secret)).toHaveCount(0);
});
