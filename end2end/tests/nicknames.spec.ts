// Nicknames: a generated default on the first visit, kept across reloads, changeable; every
// message shows its author and time to everyone.
import { expect, test } from "@playwright/test";
import { openChat, send, tag } from "./support";

test("a first visit gets a guest nickname that survives a reload", async ({ browser }) => {
  const page = await openChat(await browser.newContext());
  const field = page.getByRole("textbox", { name: "Nickname" });
  await expect(field).toHaveValue(/^guest-[0-9a-f]{4}$/);
  const name = await field.inputValue();
  await page.reload();
  await expect(page.locator("body[data-hydrated]")).toHaveCount(1);
  await expect(page.getByRole("textbox", { name: "Nickname" })).toHaveValue(name);
});

test("a chosen nickname and the time are shown on each message, to everyone", async ({ browser }) => {
  const ana = await openChat(await browser.newContext());
  const bob = await openChat(await browser.newContext());
  const name = tag("ana");
  const field = ana.getByRole("textbox", { name: "Nickname" });
  await field.fill(name);
  await field.press("Enter");
  const t = tag("signed");
  await send(ana, t);
  for (const page of [ana, bob]) {
    const row = page.locator("#messages li.message:not(.own)").filter({ hasText: t });
    await expect(row.locator(".author")).toHaveText(name);
    await expect(row.locator(".time")).toHaveText(/^\d\d:\d\d$/);
  }
  // Kept for the next visit.
  await ana.reload();
  await expect(ana.locator("body[data-hydrated]")).toHaveCount(1);
  await expect(ana.getByRole("textbox", { name: "Nickname" })).toHaveValue(name);
  // An invalid name is refused with the server's reason; the old one stays in use.
  const again = ana.getByRole("textbox", { name: "Nickname" });
  await again.fill("   ");
  await again.press("Enter");
  await expect(ana.getByRole("alert")).toContainText("nickname is empty");
  const t2 = tag("still");
  await send(ana, t2);
  await expect(bob.locator("#messages li.message").filter({ hasText: t2 }).locator(".author")).toHaveText(name);
});
