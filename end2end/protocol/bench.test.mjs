// Smoke of the load harness (chat-bench) against a real 2-worker server: each mode runs for
// a second or two and its figures are checked for correctness (nothing lost, order kept),
// never for speed.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { startCluster } from "./server.mjs";

const root = resolve(fileURLToPath(import.meta.url), "../../..");
const benchBin = process.env.CHAT_BENCH_BIN ?? join(root, "target/debug/chat-bench");
const run = promisify(execFile);

describe("chat-bench smoke", () => {
  let cluster;
  const bench = async (...args) => {
    const { stdout } = await run(benchBin, ["--ports", `${cluster.base},${cluster.base + 1}`, "--server-pid", String(cluster.pid), ...args]);
    return JSON.parse(stdout.trim().split("\n").at(-1));
  };
  // Pings every 200 ms: every mode must answer them, or the server closes its clients.
  // Sign-ups and sign-ins all come from this one address: the limit is lifted.
  before(async () => { cluster = await startCluster(2, ["--ping-interval-ms", "200", "--ping-timeout-ms", "200", "--sign-in-attempts", "100000"]); });
  after(async () => { await cluster.stop(); });

  test("fanout: every message reaches every client, in order", async () => {
    const r = await bench("fanout", "--clients", "20", "--senders", "4", "--rate", "10", "--duration", "1");
    assert.ok(r.sent > 0);
    assert.equal(r.acked, r.sent);
    assert.equal(r.deliveries, r.acked * 20);
    assert.equal(r.lost, 0);
    assert.equal(r.out_of_order, 0);
    assert.equal(r.server_processes, 3, "primary + 2 workers measured");
    assert.ok(r.server_cpu_s > 0);
  });

  test("fanout --batched: every message reaches every client in lists, in order", async () => {
    const r = await bench("fanout", "--clients", "20", "--senders", "4", "--rate", "10", "--duration", "1", "--batched");
    assert.equal(r.batched, 1);
    assert.ok(r.sent > 0);
    assert.equal(r.acked, r.sent);
    assert.equal(r.deliveries, r.acked * 20);
    assert.equal(r.lost, 0);
    assert.equal(r.out_of_order, 0);
  });

  test("channels: each channel's messages reach its members only, all of them, in order; quiet channels are measured", async () => {
    const r = await bench("channels", "--channels", "3", "--members", "4", "--rate", "5", "--duration", "1", "--idle-channels", "24");
    assert.equal(r.mode, "channels");
    assert.ok(r.acked >= 3, JSON.stringify(r));
    assert.equal(r.deliveries, r.acked * 4, "each message once to each member of its channel, and to nobody else");
    assert.equal(r.lost, 0);
    assert.equal(r.out_of_order, 0);
    assert.equal(r.idle_channels, 24);
    assert.ok(Number.isFinite(r.rss_bytes_per_idle_channel));
  });

  test("channels --batched: lists carry each channel's messages to its members only, all of them, in order", async () => {
    const r = await bench("channels", "--channels", "4", "--members", "3", "--rate", "10", "--duration", "1", "--batched");
    assert.ok(r.acked >= 4, JSON.stringify(r));
    assert.equal(r.deliveries, r.acked * 3);
    assert.equal(r.lost, 0);
    assert.equal(r.out_of_order, 0);
  });

  test("fanout --sign-ins-per-s: sign-ins succeed beside the fan-out, which loses nothing", async () => {
    const r = await bench("fanout", "--clients", "20", "--senders", "4", "--rate", "10", "--duration", "1", "--sign-ins-per-s", "5");
    assert.equal(r.lost, 0);
    assert.equal(r.out_of_order, 0);
    assert.ok(r.sign_ins_ok >= 3, JSON.stringify(r));
    assert.equal(r.sign_ins_failed, 0);
    assert.ok(r.sign_in_p50_ms > 0);
  });

  test("idle: holds the connections (answering pings) and reports memory per connection", async () => {
    const r = await bench("idle", "--clients", "100", "--hold", "1");
    assert.equal(r.clients, 100);
    assert.equal(r.held_to_the_end, 100, "every connection answered its pings and stayed open");
    assert.ok(r.connects_per_s > 0);
    assert.ok(r.server_rss_after_mb > 0);
  });

  test("writes: every write in the window is acked", async () => {
    const r = await bench("writes", "--window", "16", "--duration", "1");
    assert.ok(r.acked >= 16);
    assert.ok(r.acked_per_s > 0);
  });

  test("replay: a fresh client gets exactly the requested history", async () => {
    const r = await bench("replay", "--history", "500");
    assert.equal(r.history, 500);
    assert.ok(r.replayed_per_s > 0);
  });

  test("hold: a crowd over several client processes, measured at each stage, then a broadcast reaches every one", async () => {
    const r = await bench("hold", "--clients", "300", "--per-process", "120", "--stages", "100", "--probe", "50", "--idle", "1", "--broadcasts", "2");
    assert.equal(r.client_processes, 3);
    assert.equal(r.at_100_held, 100);
    assert.equal(r.at_300_held, 300);
    assert.equal(r.at_300_failed, 0);
    assert.ok(r.at_100_probe_connects_per_s > 0 && r.at_300_probe_connects_per_s > 0);
    assert.ok(r.at_300_server_rss_per_conn_kb > 0);
    assert.equal(r.broadcast_deliveries, 600, JSON.stringify(r));
    assert.equal(r.broadcast_lost, 0);
    assert.equal(r.closed_during_run, 0);
    assert.ok(r.to_last_max_ms > 0);
  });

  // Last: it kills a worker (the primary restarts it).
  test("storm: the clients of a killed worker come back and replay what they missed; nothing lost or doubled", async () => {
    const r = await bench("storm", "--clients", "200", "--per-process", "100", "--observers", "10", "--senders", "2", "--rate", "5", "--before", "1", "--timeout", "60");
    assert.equal(r.connected_before, 200);
    assert.equal(r.recovered, 1, JSON.stringify(r));
    assert.ok(r.reconnects >= 200);
    assert.ok(r.acked > 0);
    assert.equal(r.storm_missing, 0);
    assert.equal(r.storm_duplicates, 0);
    assert.equal(r.storm_clients_behind_last_acked, 0);
    assert.equal(r.observer_missing, 0);
    assert.equal(r.observer_duplicates, 0);
    assert.ok(r.server_rss_peak_mb > 0);
  });
});
