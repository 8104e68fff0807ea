// Shared steps: open the chat in a fresh page and wait until it is live.
import { expect, type Browser, type BrowserContext, type Locator, type Page } from "@playwright/test";
import { spawn } from "node:child_process";
import { io } from "socket.io-client";

/**
 * Closes every context a test opened itself (`browser.newContext()`), keeping the test's own
 * `context` fixture for Playwright to close: pages left open would go on rendering every
 * later test's messages on the same 2 cores. `test.afterEach(closeOpenedContexts)`.
 */
export async function closeOpenedContexts({ browser, context }: { browser: Browser; context: BrowserContext }) {
  await Promise.all(browser.contexts().filter((c) => c !== context).map((c) => c.close()));
}

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

/** A unique guest name (`guest-` and 8 letters or digits), as a page would propose it. */
export function guestTag(): string {
  return `guest-${Math.random().toString(36).slice(2, 10).padEnd(8, "0")}`;
}

/** A unique username for this test. */
export function userTag(name: string): string {
  return `${name}${Math.random().toString(36).slice(2, 8)}`;
}

/** Opens the top bar's `name` panel (Sign in, Sign up) unless it is open already. */
export async function openPanel(page: Page, name: string) {
  const summary = page.locator("summary").filter({ hasText: new RegExp(`^${name}$`) });
  const open = await summary.evaluate((s) => (s.parentElement as HTMLDetailsElement).open);
  if (!open) await summary.click();
}

/** Signs up `username` through the page's own form (as a person would) and waits live. */
export async function signUpThroughPage(page: Page, username: string, password = "correct horse battery") {
  await openPanel(page, "Sign up");
  const form = page.getByRole("form", { name: "Sign up" });
  await form.getByLabel(/^Username/).fill(username);
  await form.getByLabel(/^Password/).fill(password);
  await form.getByRole("button", { name: "Create account" }).click();
  await waitLive(page);
  await expect(page.locator(".account .me-name")).toHaveText(username);
}

/** Signs in through the page's form. */
export async function signInThroughPage(page: Page, username: string, password = "correct horse battery") {
  await openPanel(page, "Sign in");
  const form = page.getByRole("form", { name: "Sign in" });
  await form.getByLabel("Username").fill(username);
  await form.getByLabel("Password").fill(password);
  await form.getByRole("button", { name: "Sign in" }).click();
}

/**
 * Writes `count` messages (`${t} 001`, … or the texts `text(i)` gives) through a
 * socket.io client, each stored before the next is sent (a refusal from the rate limit is
 * resent after the wait it names).
 */
export async function seedMessages(baseURL: string, t: string, count: number, text?: (i: number) => string) {
  const socket = io(baseURL, { transports: ["websocket"], forceNew: true });
  try {
    for (let i = 1; i <= count; i++) {
      for (;;) {
        const body = text ? text(i) : `${t} ${String(i).padStart(3, "0")}`;
        const ack = await socket.timeout(10_000).emitWithAck("chat message", body, `${t}-${i}`);
        if (Number.isInteger(ack.serverOffset)) break;
        if (!ack.retryAfterMs) throw new Error(`refused: ${JSON.stringify(ack)}`);
        await new Promise((r) => setTimeout(r, ack.retryAfterMs));
      }
    }
  } finally {
    socket.close();
  }
}

/**
 * Starts a single-process server of its own on a free port with the database `db` and
 * extra `args` (for tests that need other limits or a database prepared beforehand).
 * Resolves with its URL and a `stop` that waits for it to exit.
 */
export async function startOwnServer(db: string, args: string[] = []) {
  const bin = process.env.CHAT_SERVER_BIN ?? "../target/debug/chat-server";
  const server = spawn(bin, ["--port", "0", "--workers", "0", "--db", db, "--site-root", "../target/site", ...args],
    { stdio: ["ignore", "ignore", "pipe"] });
  const url = await new Promise<string>((ok, fail) => {
    let log = "";
    const timer = setTimeout(() => fail(new Error(`server did not start:\n${log}`)), 15_000);
    server.stderr!.on("data", (chunk) => {
      log += chunk;
      const m = log.match(/listening addr=([\d.:]+)/);
      if (m) { clearTimeout(timer); ok(`http://${m[1]}`); }
    });
  });
  return {
    url,
    async stop() {
      server.kill("SIGTERM");
      await new Promise((done) => server.once("exit", done));
    },
  };
}
