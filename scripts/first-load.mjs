// Measures a first load of the chat page in Chromium on a throttled network and CPU
// (Chrome's "Fast 3G": 562.5 ms latency, 1.44 Mbit/s down, 675 kbit/s up; CPU 4x slower):
// the bytes transferred and the time until the page is interactive (hydrated and its socket
// connected), then the same visitor's second visit (cache on: the hashed WASM, JS and CSS
// come from the cache, `immutable`). Run it against a release build (`cargo leptos build --release --precompress`)
// and a fresh server. With `--identity` the browser asks for no compression, which is how
// the server answered before it compressed anything.
// Usage: node scripts/first-load.mjs [url] [--identity] [--runs N]
import { chromium } from "@playwright/test";

const url = process.argv.find((a) => a.startsWith("http")) ?? "http://127.0.0.1:3000/";
const identity = process.argv.includes("--identity");
const runsAt = process.argv.indexOf("--runs");
const runs = runsAt > 0 ? Number(process.argv[runsAt + 1]) : 3;
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"],
});
const results = [];
for (let run = 0; run < runs; run++) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send("Network.enable");
  await cdp.send("Network.setCacheDisabled", { cacheDisabled: true });
  await cdp.send("Network.emulateNetworkConditions", {
    offline: false, latency: 562.5, downloadThroughput: (1.44 * 1024 * 1024) / 8, uploadThroughput: (675 * 1024) / 8,
  });
  await cdp.send("Emulation.setCPUThrottlingRate", { rate: 4 });
  if (identity) await cdp.send("Network.setExtraHTTPHeaders", { headers: { "Accept-Encoding": "identity" } });
  let visit = null;
  const types = new Map();
  cdp.on("Network.responseReceived", (e) => types.set(e.requestId, e.type));
  cdp.on("Network.loadingFinished", (e) => {
    const type = types.get(e.requestId) ?? "other";
    if (type === "WebSocket" || !visit) return;
    visit.bytes += e.encodedDataLength;
    visit.byType[type] = (visit.byType[type] ?? 0) + e.encodedDataLength;
  });
  const load = async () => {
    visit = { bytes: 0, byType: {} };
    const started = Date.now();
    await page.goto(url);
    await page.waitForSelector("body[data-hydrated] .status[data-state=connected]", { timeout: 120_000 });
    const measured = { interactive: Date.now() - started, bytes: visit.bytes, byType: visit.byType };
    visit = null;
    return measured;
  };
  const first = await load();
  await page.goto("about:blank");
  await cdp.send("Network.setCacheDisabled", { cacheDisabled: false });
  const second = await load();
  results.push({ first, second });
  await context.close();
}
await browser.close();
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(JSON.stringify({
  url, compression: identity ? "none (Accept-Encoding: identity)" : "as the browser asks (br, gzip)",
  interactive_ms: results.map((r) => r.first.interactive), median_interactive_ms: median(results.map((r) => r.first.interactive)),
  transferred_bytes: results.map((r) => r.first.bytes), by_type: results[0].first.byType,
  second_visit_interactive_ms: results.map((r) => r.second.interactive), second_visit_median_ms: median(results.map((r) => r.second.interactive)),
  second_visit_bytes: results.map((r) => r.second.bytes), second_visit_by_type: results[0].second.byType,
}));
