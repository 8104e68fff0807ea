// Browser tests: Debian's Chromium (never a downloaded browser) against the real server,
// started here as a primary with two workers (ports 3100 and 3101) on a fresh database.
import { defineConfig } from "@playwright/test";

const port = Number(process.env.E2E_PORT ?? 3100);
const server = process.env.CHAT_SERVER_BIN ?? "../target/debug/chat-server";

export default defineConfig({
  testDir: "./tests",
  timeout: 30_000,
  // The whole run is bounded too (scripts/test.sh also stops it after 25 minutes).
  globalTimeout: 20 * 60_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [["list"], ["json", { outputFile: "test-results/results.json" }]],
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    trace: "retain-on-failure",
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-quic",
      ],
    },
  },
  webServer: {
    command: `rm -rf .tmp && mkdir -p .tmp && ${server} --port ${port} --workers 2 --db .tmp/e2e.db --site-root ../target/site --presence-grace-ms 500`,
    // The last worker to listen; the first (baseURL) starts before it.
    url: `http://127.0.0.1:${port + 1}/`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: "ignore",
    stderr: "pipe",
  },
});
