// The socket binding's own checks (crates/leptos-socketio), for what the chat does not
// exercise: a removed handler stops firing while a kept one goes on, an ack that never
// comes fails with the timeout error after every retry, and the module URL option (a copy
// of the client served elsewhere; a missing module). The page is the app's WASM calling
// its `socket_binding_check` entry point (app/src/binding_check.rs) from a static HTML file
// this spec writes into a site directory of its own, served by a server of its own (the
// chat routes only `/` to the app, and nothing links to the check).
import { spawn, type ChildProcess } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { expect, test, type Page } from "@playwright/test";

let server: ChildProcess;
let url: string;
let dataDir: string;

const siteRoot = resolve(process.env.CHAT_SITE_ROOT ?? "../target/site");
const clientModule = resolve("../node_modules/socket.io-client/dist/socket.io.esm.min.js");

// The build names its files by their hashes (hash.txt in the site directory).
const hashes = Object.fromEntries(
  readFileSync(join(siteRoot, "hash.txt"), "utf8").split("\n").filter((l) => l.includes(":")).map((l) => l.split(":").map((x) => x.trim())),
);
const checkPage = `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>leptos-socketio check</title></head>
<body>
<script type="module">
  const wasm = await import("/pkg/chat.${hashes.js}.js");
  await wasm.default({ module_or_path: "/pkg/chat.${hashes.wasm}.wasm" });
  wasm.socket_binding_check();
  document.body.setAttribute("data-mounted", "true");
</script>
</body>
</html>
`;

test.beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "chat-binding-"));
  const site = join(dataDir, "site");
  mkdirSync(join(site, "vendor"), { recursive: true });
  symlinkSync(join(siteRoot, "pkg"), join(site, "pkg"));
  copyFileSync(clientModule, join(site, "vendor", "socket.io.esm.min.js"));
  writeFileSync(join(site, "binding.html"), checkPage);
  const bin = process.env.CHAT_SERVER_BIN ?? "../target/debug/chat-server";
  server = spawn(bin, ["--port", "0", "--workers", "0", "--db", join(dataDir, "chat.db"), "--site-root", site],
    { stdio: ["ignore", "ignore", "pipe"] });
  url = await new Promise<string>((ok, fail) => {
    let log = "";
    const timer = setTimeout(() => fail(new Error(`server did not start:\n${log}`)), 15_000);
    server.stderr!.on("data", (chunk) => {
      log += chunk;
      const m = log.match(/listening addr=([\d.:]+)/);
      if (m) { clearTimeout(timer); ok(`http://${m[1]}`); }
    });
  });
});

test.afterAll(async () => {
  server.kill("SIGTERM");
  await new Promise((done) => server.once("exit", done));
  rmSync(dataDir, { recursive: true, force: true });
});

/** Opens the check page; returns it with the URLs it requested and the errors it threw. */
async function openCheck(browser: import("@playwright/test").Browser): Promise<{ page: Page; requests: string[]; errors: string[] }> {
  const page = await (await browser.newContext()).newPage();
  const requests: string[] = [];
  const errors: string[] = [];
  page.on("request", (request) => requests.push(new URL(request.url()).pathname));
  page.on("pageerror", (error) => {
    errors.push(error.message);
    console.error(`[page error] ${error.message}`);
  });
  await page.goto(`${url}/binding.html`);
  await expect(page.locator("body[data-mounted]")).toHaveCount(1);
  await expect(page.locator("#state")).toHaveAttribute("data-state", "connected");
  return { page, requests, errors };
}

const count = async (page: Page, id: string) => Number(await page.locator(id).textContent());

test("a removed handler no longer fires while a kept one does", async ({ browser }) => {
  const { page, errors } = await openCheck(browser);
  // The ping emitted before the module had loaded was queued, sent and acked.
  await expect(page.locator("#early-ack")).toHaveText(/^acked \{"serverOffset":\d+\}$/);
  await expect(page.locator("#kept")).toHaveText("1");
  await expect(page.locator("#removed")).toHaveText("1");

  await page.locator("#ping").click();
  await expect(page.locator("#kept")).toHaveText("2");
  await expect(page.locator("#removed")).toHaveText("2");

  await page.locator("#remove").click();
  await expect(page.locator("#removed-state")).toHaveText("removed");
  for (const kept of ["3", "4"]) {
    await page.locator("#ping").click();
    await expect(page.locator("#kept")).toHaveText(kept);
  }
  // Both handlers were called by the same events: once the kept one has counted them, the
  // removed one would have too.
  expect(await count(page, "#removed")).toBe(2);
  await expect(page.locator("#last-ack")).toHaveText(/^acked \{"serverOffset":\d+\}$/);
  // Removed, not merely freed: a freed closure still registered would throw on each event.
  expect(errors).toEqual([]);
});

test("an ack that never comes fails with the timeout error once every retry timed out", async ({ browser }) => {
  const { page } = await openCheck(browser);
  await page.locator("#timeout-btn").click();
  // ackTimeout 500 ms, retries 1: two tries.
  await expect(page.locator("#timeout")).toHaveText(/^timeout after \d+ ms: operation has timed out$/);
  const elapsed = Number((await page.locator("#timeout").textContent())!.match(/after (\d+) ms/)![1]);
  expect(elapsed).toBeGreaterThanOrEqual(950);
  expect(elapsed).toBeLessThan(5_000);
  // The socket still works afterwards.
  await page.locator("#ping").click();
  await expect(page.locator("#last-ack")).toHaveText(/^acked \{"serverOffset":\d+\}$/);
});

test("the module URL option loads the client from that URL; a missing module takes the socket offline", async ({ browser }) => {
  const { page, requests } = await openCheck(browser);
  await expect(page.locator("#custom-state")).toHaveAttribute("data-state", "connected");
  expect(requests).toContain("/vendor/socket.io.esm.min.js");
  expect(requests).toContain("/socket.io/socket.io.esm.min.js");
  await expect(page.locator("#missing-state")).toHaveAttribute("data-state", "offline");
  await expect(page.locator("#missing-state")).toContainText("could not load socket.io-client from /missing/socket.io.esm.min.js");
  // An ack asked for before the load failed fails as unavailable, not as a timeout.
  await expect(page.locator("#missing-ack")).toHaveText(/^unavailable: could not load/);
  expect(requests).toContain("/missing/socket.io.esm.min.js");
  // Without its module a socket cannot connect: it stays offline, with the reason.
  await page.locator("#connect-missing").click();
  await expect(page.locator("#missing-connects")).toHaveText("1");
  await expect(page.locator("#missing-state")).toHaveAttribute("data-state", "offline");
  await expect(page.locator("#missing-state")).toContainText("could not load socket.io-client");
});
