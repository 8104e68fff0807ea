// The server as a process: the client bundle it serves, restarts and signals, the settings
// it gives the page, and its --help.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { connectClient, isConsecutiveFrom, metric, offsets, stallReport, startCluster, startServer } from "./server.mjs";

describe("process", () => {
  test("serves the official client bundle at Node's paths, in front of Socket.IO", async () => {
    const server = await startServer();
    try {
      for (const path of ["/socket.io/socket.io.js", "/socket.io/socket.io.min.js", "/socket.io/socket.io.esm.min.js"]) {
        const res = await fetch(server.url + path);
        assert.equal(res.status, 200, path);
        assert.match(res.headers.get("content-type"), /javascript/);
        const body = await res.text();
        assert.ok(body.length > 10000, `${path} is the real bundle`);
        const again = await fetch(server.url + path, { headers: { "if-none-match": res.headers.get("etag") } });
        assert.equal(again.status, 304);
      }
      const esm = await (await fetch(server.url + "/socket.io/socket.io.esm.min.js")).text();
      assert.match(esm, /export\s*\{[^}]*\bio\b/);
      // Under its bare path a bundle is revalidated; asked for by its version (as the page
      // does), kept for a year; any other version is not promised.
      const bare = await fetch(server.url + "/socket.io/socket.io.esm.min.js");
      assert.equal(bare.headers.get("cache-control"), "public, max-age=0, must-revalidate");
      const version = JSON.parse(bare.headers.get("etag"));
      const versioned = await fetch(`${server.url}/socket.io/socket.io.esm.min.js?v=${version}`);
      assert.equal(versioned.headers.get("cache-control"), "public, max-age=31536000, immutable");
      const other = await fetch(`${server.url}/socket.io/socket.io.esm.min.js?v=0.0.1`);
      assert.equal(other.headers.get("cache-control"), "public, max-age=0, must-revalidate");
      // Compressed when the client accepts it (fetch asks for gzip and br).
      assert.equal(versioned.headers.get("content-encoding"), "gzip");
      const page = await fetch(server.url + "/");
      assert.equal(page.headers.get("content-encoding"), "gzip");
      assert.match(await page.text(), new RegExp(`name="chat-client-module" content="/socket.io/socket.io.esm.min.js\\?v=${version.replaceAll(".", "\\.")}"`));
    } finally {
      await server.stop();
    }
  });

  test("keeps messages across a restart and stops cleanly on SIGTERM and SIGINT", async () => {
    const { mkdtempSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const dir = mkdtempSync(join(tmpdir(), "chat-restart-"));
    let server = await startServer([], { dir });
    const client = await connectClient(server.url);
    const ack = await client.send("survives restarts", "restart-1");
    const disconnected = new Promise((r) => client.socket.once("disconnect", r));
    assert.deepEqual(await server.stop("SIGTERM"), { code: 0, signal: null });
    await disconnected;
    server = await startServer([], { dir });
    const again = await connectClient(server.url);
    await again.until(() => again.replayDone);
    assert.deepEqual(again.received.map((m) => [m.text, m.offset]), [["survives restarts", ack.serverOffset]]);
    again.close();
    assert.deepEqual(await server.stop("SIGINT"), { code: 0, signal: null });
    // Both stops drained cleanly: nothing had to be abandoned at the grace deadline.
    assert.doesNotMatch(server.log(), /still queued|closing anyway/);
  });

  test("the page tells its client the configured ack timeout and retries", async () => {
    const server = await startServer(["--client-ack-timeout-ms", "2500", "--client-retries", "5"]);
    try {
      const html = await (await fetch(server.url + "/")).text();
      assert.match(html, /<meta name="chat-ack-timeout-ms" content="2500"/);
      assert.match(html, /<meta name="chat-retries" content="5"/);
    } finally {
      await server.stop();
    }
  });

  test("--help documents every flag with its environment variable", async () => {
    const { execFileSync } = await import("node:child_process");
    const { serverBin } = await import("./server.mjs");
    const help = execFileSync(serverBin, ["--help"]).toString();
    for (const flag of ["--host", "--port", "--workers", "--db", "--max-message-bytes", "--max-batch", "--socket-buffer",
      "--client-ack-timeout-ms", "--client-retries", "--worker-threads", "--worker-queue", "--delivery-window-ms", "--site-root", "--log"]) {
      assert.match(help, new RegExp(flag), flag);
    }
    for (const env of ["CHAT_HOST", "CHAT_PORT", "CHAT_WORKERS", "CHAT_DB", "CHAT_MAX_MESSAGE_BYTES", "CHAT_MAX_BATCH",
      "CHAT_SOCKET_BUFFER", "CHAT_CLIENT_ACK_TIMEOUT_MS", "CHAT_CLIENT_RETRIES", "CHAT_WORKER_THREADS", "CHAT_WORKER_QUEUE", "CHAT_DELIVERY_WINDOW_MS",
      "LEPTOS_SITE_ROOT", "RUST_LOG"]) {
      assert.match(help, new RegExp(env), env);
    }
  });
});
