// Channels in the browser, as people use them: create one and switch to it, another
// account joins it from "Browse channels"; messages stay in their channel; unread and
// mention badges count what arrives elsewhere and agree across two tabs of one account
// once it is read; after Disconnect/Connect each channel recovers what it missed.
import AxeBuilder from "@axe-core/playwright";
import { expect, test, type Browser, type BrowserContext, type Page } from "@playwright/test";
import { openChat, send, signUpThroughPage, tag, userTag, waitLive } from "./support";

const otherWorker = (baseURL: string) => baseURL.replace(/:(\d+)$/, (_, port) => `:${Number(port) + 1}`);

// Every context a test opens is closed after it: pages left open would go on rendering
// every later test's messages on the same 2 cores.
const opened: BrowserContext[] = [];
test.afterEach(async () => {
  await Promise.all(opened.splice(0).map((context) => context.close()));
});

/** A signed-up account's page (on the other worker when `baseURL` names it). */
async function accountPage(browser: Browser, name: string, baseURL?: string): Promise<Page> {
  const context = await browser.newContext(baseURL ? { baseURL } : {});
  opened.push(context);
  const page = await openChat(context);
  await signUpThroughPage(page, name);
  return page;
}

/** The channel list's button for `#name`. */
const channelButton = (page: Page, name: string) =>
  page.locator(".channels .channel").filter({ has: page.locator(".name", { hasText: new RegExp(`^${name}$`) }) });

/** Creates `#name` from the channel list. */
async function createChannel(page: Page, name: string) {
  await page.locator(".channels summary", { hasText: "New channel" }).click();
  await page.getByLabel("Name").fill(name);
  await page.getByRole("button", { name: "Create" }).click();
  await expect(page.locator(".channel-title")).toHaveText(`#${name}`);
}

const texts = (page: Page) => page.locator("#messages li.message:not(.own) .text");

test("create, join from the list, switch: messages stay in their channel, unread and mention badges count the rest", async ({ browser, baseURL }) => {
  const [ana, bo] = [userTag("ana"), userTag("bo")];
  const channel = `dev-${Math.random().toString(36).slice(2, 7)}`;
  const anaPage = await accountPage(browser, ana);
  const boPage = await accountPage(browser, bo, otherWorker(baseURL!));
  await createChannel(anaPage, channel);
  await expect(channelButton(anaPage, channel)).toHaveAttribute("aria-current", "page");

  // bo finds it under "Browse channels" and joins it.
  await boPage.reload();
  await waitLive(boPage);
  await boPage.locator(".channels summary", { hasText: /Browse channels/ }).click();
  await boPage.getByRole("button", { name: `Join #${channel}` }).click();
  await expect(boPage.locator(".channel-title")).toHaveText(`#${channel}`);

  const inDev = tag("in-dev");
  await send(anaPage, inDev);
  await expect(texts(boPage).filter({ hasText: inDev })).toHaveCount(1);
  // #general does not show it.
  await channelButton(boPage, "general").click();
  await expect(boPage.locator(".channel-title")).toHaveText("#general");
  await expect(texts(boPage).filter({ hasText: inDev })).toHaveCount(0);

  // While bo reads #general, ana writes twice in the channel, once mentioning bo.
  await send(anaPage, tag("plain"));
  await send(anaPage, `hey @${bo} ${tag("look")}`);
  const badge = channelButton(boPage, channel);
  await expect(badge.locator(".unread-count .n")).toHaveText("2");
  await expect(badge.locator(".mention .n")).toHaveText("@1");
  await expect(boPage).toHaveTitle(/^\(2\) Chat$/);
  // The list with its badges, the forms open, in both themes: no serious or critical
  // violation (contrast of the badges and of the current channel included).
  await boPage.locator(".channels summary", { hasText: "New channel" }).click();
  for (const colorScheme of ["light", "dark"] as const) {
    await boPage.emulateMedia({ colorScheme });
    const results = await new AxeBuilder({ page: boPage }).include(".channels").include(".channel-header").analyze();
    const blocking = results.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
    console.log(`[axe channels ${colorScheme}] ${results.passes.length} rules pass; violations: ${results.violations.map((v) => `${v.impact} ${v.id}`).join("; ") || "none"}`);
    expect(blocking.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`)).toEqual([]);
  }
  // Opening the channel shows them and clears the badges.
  await badge.click();
  await expect(texts(boPage).filter({ hasText: "look" })).toHaveCount(1);
  await expect(badge.locator(".unread-count")).toHaveCount(0);
  await expect(boPage).toHaveTitle("Chat");
});

test("unread counts agree across two tabs of one account once either reads", async ({ browser, baseURL }) => {
  const [ana, cy] = [userTag("ana"), userTag("cy")];
  const channel = `ops-${Math.random().toString(36).slice(2, 7)}`;
  const anaPage = await accountPage(browser, ana);
  const cyPage = await accountPage(browser, cy);
  await createChannel(anaPage, channel);
  await cyPage.reload();
  await waitLive(cyPage);
  await cyPage.locator(".channels summary", { hasText: /Browse channels/ }).click();
  await cyPage.getByRole("button", { name: `Join #${channel}` }).click();
  await channelButton(cyPage, "general").click();
  // cy's second tab, same browser (same session), on the other worker.
  const cyTab2 = await cyPage.context().newPage();
  await cyTab2.goto(otherWorker(baseURL!));
  await waitLive(cyTab2);
  for (let i = 0; i < 3; i++) await send(anaPage, tag(`unread-${i}`));
  for (const page of [cyPage, cyTab2]) {
    await expect(channelButton(page, channel).locator(".unread-count .n")).toHaveText("3");
  }
  // Read in the first tab: the second agrees, without a reload.
  await channelButton(cyPage, channel).click();
  await expect(channelButton(cyTab2, channel).locator(".unread-count")).toHaveCount(0);
  // And after a reload the server says the same.
  await cyTab2.reload();
  await waitLive(cyTab2);
  await expect(channelButton(cyTab2, channel)).toBeVisible();
  await expect(channelButton(cyTab2, channel).locator(".unread-count")).toHaveCount(0);
});

test("after Disconnect and Connect, each channel recovers what it missed, marked", async ({ browser }) => {
  const [ana, dee] = [userTag("ana"), userTag("dee")];
  const channel = `rec-${Math.random().toString(36).slice(2, 7)}`;
  const anaPage = await accountPage(browser, ana);
  const deePage = await accountPage(browser, dee);
  await createChannel(anaPage, channel);
  await deePage.reload();
  await waitLive(deePage);
  await deePage.locator(".channels summary", { hasText: /Browse channels/ }).click();
  await deePage.getByRole("button", { name: `Join #${channel}` }).click();
  await expect(deePage.locator(".channel-title")).toHaveText(`#${channel}`);

  await deePage.getByRole("button", { name: "Disconnect" }).click();
  await expect(deePage.locator(".status")).toHaveAttribute("data-state", "offline");
  const [away1, away2] = [tag("away-dev"), tag("away-general")];
  await send(anaPage, away1);
  await channelButton(anaPage, "general").click();
  await send(anaPage, away2);
  await deePage.getByRole("button", { name: "Connect" }).click();
  await waitLive(deePage);
  const recovered = deePage.locator("#messages li.message.recovered .text");
  await expect(recovered.filter({ hasText: away1 })).toHaveCount(1);
  await channelButton(deePage, "general").click();
  await expect(recovered.filter({ hasText: away2 })).toHaveCount(1);
  await expect(texts(deePage).filter({ hasText: away1 })).toHaveCount(0);
});
