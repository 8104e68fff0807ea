// Accounts in the browser, as people use them: a guest name that survives a reload; sign
// up and sign in through the page's own forms (with JavaScript off too); verified names on
// messages; private conversations between two accounts (direct channels), live and after
// a reload, on either worker; and the impostor of the takeover scenario (a guest who put
// "vic" in its saved name) sees and can do none of it.
import AxeBuilder from "@axe-core/playwright";
import { expect, test, type Browser, type Page } from "@playwright/test";
import {
  closeOpenedContexts,
  guestTag, messageTexts, openChat, openPanel, send, signInThroughPage, signUpThroughPage, tag, userTag, waitLive,
} from "./support";

test.afterEach(closeOpenedContexts);

const otherWorker = (baseURL: string) => baseURL.replace(/:(\d+)$/, (_, port) => `:${Number(port) + 1}`);

async function guestPage(browser: Browser, savedName?: string, baseURL?: string) {
  const context = await browser.newContext(baseURL ? { baseURL } : {});
  if (savedName) await context.addInitScript((name) => localStorage.setItem("chat.nickname", name), savedName);
  return openChat(context);
}

test("a first visit is a guest whose name survives a reload, shown as a guest", async ({ browser }) => {
  const page = await guestPage(browser);
  const who = page.locator(".account .who");
  await expect(who).toHaveText(/^guest-[0-9a-z]{4} guest$/);
  const name = (await who.textContent())!.split(" ")[0];
  await page.reload();
  await waitLive(page);
  await expect(who).toHaveText(`${name} guest`);
  const t = tag("guest-says");
  await send(page, t);
  const row = page.locator("#messages li.message:not(.own)").filter({ hasText: t });
  await expect(row.locator(".author.guest")).toHaveText(name);
  await expect(row.locator(".guest-badge")).toHaveText("guest");
});

test("sign up, sign in elsewhere, private messages between two accounts; the impostor sees none of it", async ({ browser, baseURL }) => {
  // Four browsers, two reloads and two axe runs: ~28 s alone, more in the full suite.
  test.setTimeout(90_000);
  const [vic, carl] = [userTag("vic"), userTag("carl")];
  const vicPage = await guestPage(browser);
  await signUpThroughPage(vicPage, vic);
  const carlPage = await guestPage(browser, undefined, otherWorker(baseURL!));
  await signUpThroughPage(carlPage, carl);
  // vic signs in again from a second browser (another context), on the other worker.
  const vicElsewhere = await guestPage(browser, undefined, otherWorker(baseURL!));
  await signInThroughPage(vicElsewhere, vic);
  await waitLive(vicElsewhere);
  await expect(vicElsewhere.locator(".account .me-name")).toHaveText(vic);
  // The impostor: a guest whose saved name is vic's.
  const mallory = await guestPage(browser, vic);
  await expect(mallory.locator(".account .who")).not.toContainText(vic);
  await expect(mallory.locator(".account .who .guest-badge")).toHaveText("guest");

  // A verified public message.
  const hello = tag("hello");
  await send(vicPage, hello);
  for (const page of [carlPage, mallory]) {
    const row = page.locator("#messages li.message").filter({ hasText: hello });
    await expect(row.locator(".author.verified")).toHaveText(vic);
  }
  // carl writes to vic privately from the online list (a guest is never offered): that
  // opens their conversation, named after vic.
  await carlPage.locator(".online").getByRole("button", { name: vic }).click();
  const conversation = (page: Page, other: string) =>
    page.locator(`nav.channels ul.direct button.channel[data-direct-with="${other}"]`);
  await expect(carlPage.locator(".channel-title")).toHaveText(vic);
  await expect(conversation(carlPage, vic)).toHaveAttribute("aria-current", "page");
  await expect(carlPage.locator(".channel-header .leave")).toHaveCount(0);
  const secret = tag("secret");
  await send(carlPage, secret);
  await expect(messageTexts(carlPage).filter({ hasText: secret })).toHaveCount(1);
  // vic's two browsers are told of the conversation at once, with the message unread
  // (both checked before either opens it: reading it in one clears it in the other).
  for (const page of [vicPage, vicElsewhere]) {
    await expect(conversation(page, carl).locator(".unread-count .n")).toHaveText("1");
  }
  for (const page of [vicPage, vicElsewhere]) {
    await conversation(page, carl).click();
    const row = page.locator("#messages li.message").filter({ hasText: secret });
    await expect(row).toHaveCount(1);
    await expect(row.locator(".author")).toHaveText(carl);
    await expect(page.locator(".channel-title")).toHaveText(carl);
  }
  await expect(conversation(vicElsewhere, carl).locator(".unread-count")).toHaveCount(0);
  await expect(messageTexts(vicPage).filter({ hasText: hello })).toHaveCount(0);
  // The list with its conversation and the conversation's header, in both themes: no
  // serious or critical violation.
  for (const colorScheme of ["light", "dark"] as const) {
    await vicPage.emulateMedia({ colorScheme });
    const results = await new AxeBuilder({ page: vicPage }).include(".channels").include(".channel-header").analyze();
    console.log(`[axe conversation ${colorScheme}] ${results.passes.length} rules pass; violations: ${results.violations.map((v) => `${v.impact} ${v.id}`).join("; ") || "none"}`);
    const blocking = results.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
    expect(blocking.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`)).toEqual([]);
  }
  // vic answers from the online list (the same conversation); after a reload both still
  // have both, from the server.
  await vicPage.locator(".online").getByRole("button", { name: carl }).click();
  const answer = tag("answer");
  await send(vicPage, answer);
  for (const [page, other] of [[vicPage, carl], [carlPage, vic]] as const) {
    await page.reload();
    await waitLive(page);
    await conversation(page, other).click();
    for (const text of [secret, answer]) {
      await expect(messageTexts(page).filter({ hasText: text })).toHaveCount(1);
    }
  }
  // mallory: nothing private, live or after a reload, and no way to write privately.
  await mallory.reload();
  await waitLive(mallory);
  await expect(messageTexts(mallory).filter({ hasText: hello })).toHaveCount(1);
  await expect(mallory.getByText(secret)).toHaveCount(0);
  await expect(mallory.getByText(answer)).toHaveCount(0);
  await expect(mallory.locator(".online button.user")).toHaveCount(0);
  await expect(mallory.locator("nav.channels ul.direct")).toHaveCount(0);

  // Sign-out: vic's page is a guest again, and vic's other browser stays signed in.
  await vicPage.getByRole("button", { name: "Sign out" }).click();
  await waitLive(vicPage);
  await expect(vicPage.locator(".account .guest-badge")).toHaveText("guest");
  await expect(vicPage.getByText(secret)).toHaveCount(0);
  await expect(vicElsewhere.locator(".account .me-name")).toHaveText(vic);
});

test("a wrong password says so without saying which part was wrong", async ({ browser }) => {
  const name = userTag("wen");
  const page = await guestPage(browser);
  await signUpThroughPage(page, name);
  await page.getByRole("button", { name: "Sign out" }).click();
  await waitLive(page);
  await signInThroughPage(page, name, "not the password");
  await expect(page.locator("#sign-in-error")).toHaveText("Wrong username or password.");
  await signInThroughPage(page, userTag("nobody"), "not the password");
  await expect(page.locator("#sign-in-error")).toHaveText("Wrong username or password.");
  // A taken name, in another case.
  await openPanel(page, "Sign up");
  const form = page.getByRole("form", { name: "Sign up" });
  await form.getByLabel(/^Username/).fill(name.toUpperCase());
  await form.getByLabel(/^Password/).fill("long enough too");
  await form.getByRole("button", { name: "Create account" }).click();
  await expect(page.locator("#sign-up-error")).toHaveText("That username is taken. Choose another.");
});

test("the sign-up and sign-in forms work with JavaScript disabled", async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  const name = userTag("nojs");
  await page.goto("/");
  await page.locator("summary").filter({ hasText: /^Sign up$/ }).click();
  const signUp = page.getByRole("form", { name: "Sign up" });
  await signUp.getByLabel(/^Username/).fill(name);
  await signUp.getByLabel(/^Password/).fill("correct horse battery");
  await signUp.getByRole("button", { name: "Create account" }).click();
  await expect(page.locator(".account .me-name")).toHaveText(name);
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page.locator(".account .guest-badge")).toHaveText("guest");
  await page.locator("summary").filter({ hasText: /^Sign in$/ }).click();
  const signIn = page.getByRole("form", { name: "Sign in" });
  await signIn.getByLabel("Username").fill(name);
  await signIn.getByLabel("Password").fill("correct horse battery");
  await signIn.getByRole("button", { name: "Sign in" }).click();
  await expect(page.locator(".account .me-name")).toHaveText(name);
  // The session is the browser's: with JavaScript back on, the socket is this account.
  const cookies = await context.cookies();
  const withJs = await browser.newContext();
  await withJs.addCookies(cookies);
  const live = await openChat(withJs);
  await expect(live.locator(".account .me-name")).toHaveText(name);
  const t = tag("nojs-then-js");
  await send(live, t);
  await expect(live.locator("#messages li.message").filter({ hasText: t }).locator(".author.verified")).toHaveText(name);
});

test("a guest's proposed name is only ever a guest name", async ({ browser }) => {
  const name = guestTag();
  const page = await guestPage(browser, name);
  await expect(page.locator(".account .who")).toHaveText(`${name} guest`);
});
