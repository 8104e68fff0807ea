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

test("the WASM, JS and CSS are served compressed, and revalidated instead of refetched", async ({ page, baseURL }) => {
  for (const file of ["chat.wasm", "chat.js", "chat.css"]) {
    const response = await page.request.get(`${baseURL}/pkg/${file}`, { headers: { "accept-encoding": "gzip, deflate, br" } });
    expect(response.status(), file).toBe(200);
    expect(response.headers()["content-encoding"], file).toMatch(/^(br|gzip)$/);
    expect(response.headers()["cache-control"], file).toBe("no-cache");
    const lastModified = response.headers()["last-modified"];
    expect(lastModified, file).toBeTruthy();
    const again = await page.request.get(`${baseURL}/pkg/${file}`, { headers: { "if-modified-since": lastModified } });
    expect(again.status(), `${file} unchanged`).toBe(304);
  }
});
