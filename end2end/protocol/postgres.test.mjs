// The same server on PostgreSQL (--database): a primary with two workers chats across
// workers, dedupes resends, keeps its messages over a restart. Needs CHAT_TEST_POSTGRES_URL
// (scripts/test.sh starts a throwaway PostgreSQL and sets it).
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connectClient, freshPostgresDatabase, isConsecutiveFrom, offsets, startCluster } from "./server.mjs";

const adminUrl = process.env.CHAT_TEST_POSTGRES_URL;

describe("PostgreSQL store", { skip: adminUrl ? false : "CHAT_TEST_POSTGRES_URL is not set (scripts/test.sh sets it)" }, () => {
  test("two workers on PostgreSQL chat, dedupe and keep messages over a restart", async () => {
    const database = freshPostgresDatabase(adminUrl);
    const dir = mkdtempSync(join(tmpdir(), "chat-pg-"));
    let cluster = await startCluster(2, ["--database", database], { dir });
    try {
      const a = await connectClient(cluster.urls[0]);
      const b = await connectClient(cluster.urls[1]);
      await Promise.all([a.until(() => a.replayDone), b.until(() => b.replayDone)]);
      const first = await a.send("stored in postgres", "pg-1");
      assert.equal(first.serverOffset, 1);
      await b.until(() => b.live().some((m) => m.offset === 1), 5000, "cross-worker delivery");
      const again = await b.send("stored in postgres", "pg-1");
      assert.deepEqual(again, { serverOffset: 1, duplicate: true });
      for (let i = 2; i <= 20; i++) await (i % 2 ? a : b).send(`m${i}`, `pg-${i}`);
      a.close(); b.close();
      await cluster.stop();
      cluster = await startCluster(2, ["--database", database], { dir });
      const c = await connectClient(cluster.urls[1], { serverOffset: 0 });
      await c.until(() => c.replayDone);
      assert.equal(c.received.length, 20);
      assert.ok(isConsecutiveFrom(offsets(c), 1));
      assert.equal(c.received[0].text, "stored in postgres");
      const health = await (await fetch(`${cluster.adminUrl}/healthz`)).json();
      assert.equal(health.status, "ok");
      c.close();
    } finally {
      await cluster.stop();
    }
  });
});
