// Shared steps: open the chat in a fresh page and wait until it is live.
import { expect, type BrowserContext, type Locator, type Page } from "@playwright/test";

/** Opens the chat and waits for hydration and a live socket. */
export async function openChat(context: BrowserContext, path = "/"): Promise<Page> {
  const page = await context.newPage();
  page.on("pageerror", (error) => console.error(`[page error] ${error.message}`));
  await page.goto(path);
  await waitLive(page);
  return page;
}

/** Waits for hydration and the connected state. */
export async function waitLive(page: Page) {
  await expect(page.locator("body[data-hydrated]")).toHaveCount(1);
  await expect(page.locator(".status")).toHaveAttribute("data-state", "connected");
}

/** Types `text` and presses Enter. */
export async function send(page: Page, text: string) {
  await page.getByRole("textbox", { name: "Message" }).fill(text);
  await page.getByRole("textbox", { name: "Message" }).press("Enter");
}

/** The texts of stored messages, in display order. */
export function messageTexts(page: Page): Locator {
  return page.locator("#messages li.message:not(.own) .text");
}

/** A unique tag for this test's messages, so tests sharing a server don't interfere. */
export function tag(name: string): string {
  return `${name}-${Math.random().toString(36).slice(2, 8)}`;
}
