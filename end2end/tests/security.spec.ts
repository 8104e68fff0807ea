// Security headers: the page's Content-Security-Policy allows exactly what the app needs
// (its nonce'd hydration script, the WASM, the socket) and blocks injected inline script.
import { expect, test } from "@playwright/test";
import { messageTexts, send, tag } from "./support";

test("the page runs under a nonce-based CSP that blocks injected inline script", async ({ browser }) => {
  const context = await browser.newContext();
  const violations: string[] = [];
  const page = await context.newPage();
  page.on("console", (m) => { if (/Content Security Policy/i.test(m.text())) violations.push(m.text()); });
  const response = await page.goto("/");
  const csp = response!.headers()["content-security-policy"];
  expect(csp).toContain("'wasm-unsafe-eval'");
  expect(csp).toContain("object-src 'none'");
  expect(response!.headers()["x-content-type-options"]).toBe("nosniff");
  expect(response!.headers()["referrer-policy"]).toBe("same-origin");
  // Browsers hide the nonce attribute from the DOM; the IDL property keeps it.
  const nonce = await page.locator("script[nonce]").first().evaluate((e) => (e as HTMLScriptElement).nonce);
  expect(nonce).toBeTruthy();
  expect(csp).toContain(`'nonce-${nonce}'`);

  // The app works under it: hydrates, connects, sends.
  await expect(page.locator("body[data-hydrated]")).toHaveCount(1);
  await expect(page.locator(".status")).toHaveAttribute("data-state", "connected");
  const t = tag("csp");
  await send(page, t);
  await expect(messageTexts(page).filter({ hasText: t })).toHaveCount(1);
  expect(violations).toEqual([]);

  // An injected inline script does not run.
  await page.evaluate(() => {
    const s = document.createElement("script");
    s.textContent = "window.__injected = true";
    document.body.appendChild(s);
  });
  expect(await page.evaluate(() => (window as unknown as { __injected?: boolean }).__injected)).toBeUndefined();
  expect(violations.length).toBeGreaterThan(0);
});

test("the WASM, JS and CSS are named by their hashes, served compressed and cached for a year; the rest is revalidated", async ({ page, baseURL }) => {
  await page.goto("/");
  const names = await page.evaluate(() => [
    ...[...document.querySelectorAll('link[rel="modulepreload"], link[rel="preload"][as="fetch"], link[rel="stylesheet"]')].map((l) => new URL((l as HTMLLinkElement).href).pathname),
  ]);
  expect(names.map((n) => n.split(".").pop()).sort()).toEqual(["css", "js", "wasm"]);
  for (const file of names) {
    expect(file, "named by its hash").toMatch(/^\/pkg\/chat\.[A-Za-z0-9_-]{16,}\.(wasm|js|css)$/);
    const response = await page.request.get(`${baseURL}${file}`, { headers: { "accept-encoding": "gzip, deflate, br" } });
    expect(response.status(), file).toBe(200);
    expect(response.headers()["content-encoding"], file).toMatch(/^(br|gzip)$/);
    expect(response.headers()["cache-control"], file).toBe("public, max-age=31536000, immutable");
  }
  // A name without a hash is revalidated before each use (a 304 when unchanged).
  const icon = await page.request.get(`${baseURL}/favicon.svg`);
  expect(icon.headers()["cache-control"]).toBe("no-cache");
  const lastModified = icon.headers()["last-modified"];
  expect(lastModified).toBeTruthy();
  const again = await page.request.get(`${baseURL}/favicon.svg`, { headers: { "if-modified-since": lastModified } });
  expect(again.status()).toBe(304);
  // A returning visitor's reload asks for none of the hashed files again.
  // (Chromium's own account, by CDP: from its memory or disk cache, or over the network.)
  const urls = new Map<string, string>();
  const cached = new Set<string>();
  const session = await page.context().newCDPSession(page);
  await session.send("Network.enable");
  session.on("Network.requestWillBeSent", (event) => urls.set(event.requestId, new URL(event.request.url).pathname));
  session.on("Network.requestServedFromCache", (event) => cached.add(event.requestId));
  session.on("Network.responseReceived", (event) => {
    if (event.response.fromDiskCache) cached.add(event.requestId);
  });
  await page.reload();
  await expect(page.locator("body[data-hydrated]")).toHaveCount(1);
  const fromCache = [...cached].map((id) => urls.get(id));
  for (const file of names) expect(fromCache, `${file} came from the cache`).toContain(file);
});
