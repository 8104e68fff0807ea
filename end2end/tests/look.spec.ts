// A chat's look: messages on two days get "Yesterday" and "Today" separators; consecutive
// messages of one author within minutes are grouped under one name and avatar; one's own
// messages are marked; every time carries its full date; text direction follows the text.
// The store is seeded directly: messages are sent, the server stopped, yesterday's moved
// back a day in the SQLite file, and the server started again on it.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, test } from "@playwright/test";
import { io } from "socket.io-client";
import { openChat, send, startOwnServer, tag } from "./support";

async function sendAs(url: string, nickname: string, texts: string[]) {
  const socket = io(url, { transports: ["websocket"], forceNew: true, auth: { nickname } });
  try {
    for (const [i, text] of texts.entries()) {
      await socket.timeout(10_000).emitWithAck("chat message", text, `${nickname}-${i}-${text}`);
    }
  } finally {
    socket.close();
  }
}

test("two days, grouped authors, own messages marked, full dates, text direction", async ({ browser }) => {
  const dir = mkdtempSync(join(tmpdir(), "chat-look-"));
  const db = join(dir, "chat.db");
  const t = tag("look");
  try {
    let server = await startOwnServer(db);
    await sendAs(server.url, "guest-ana", [`${t} y1`, `${t} y2`, `${t} y3`]);
    await sendAs(server.url, "guest-bo", [`${t} y4`]);
    await sendAs(server.url, "guest-bo", [`${t} t1`, `${t} t2`, `${t} שלום`]);
    await server.stop();
    // Yesterday's four: a day earlier.
    execFileSync("python3", ["-c", [
      "import sqlite3, sys",
      "c = sqlite3.connect(sys.argv[1])",
      "c.execute(\"UPDATE messages SET created_at = created_at - 86400000 WHERE content LIKE ? AND content GLOB '* y[0-9]'\", (sys.argv[2] + '%',))",
      "c.commit()",
    ].join("\n"), db, t]);
    server = await startOwnServer(db);
    try {
      const page = await openChat(await browser.newContext({ baseURL: server.url }));
      const list = page.locator("#messages");
      await expect(list.locator("li.message").filter({ hasText: t })).toHaveCount(7);
      await expect(list.locator("li.day")).toHaveText(["Yesterday", "Today"]);
      const rows = list.locator("li.message").filter({ hasText: t });
      const continued = await rows.evaluateAll((lis) => lis.map((li) => li.classList.contains("continued")));
      // ana's three grouped; bo's yesterday alone; bo's today starts anew (a day later), then grouped.
      expect(continued).toEqual([false, true, true, false, false, true, true]);
      await expect(rows.nth(0).locator(".avatar")).toHaveText("A");
      await expect(rows.nth(1).locator(".avatar")).toHaveCount(0);
      // The day separator sits right before today's first message.
      const order = await list.locator("li").evaluateAll((lis) => lis.map((li) => li.className.includes("day") ? li.textContent : li.querySelector(".text")?.textContent ?? ""));
      expect(order.indexOf("Today")).toBe(order.indexOf(`${t} t1`) - 1);
      // Full date and time on every time, for hover and for screen readers.
      const time = rows.nth(4).locator("time");
      await expect(time).toHaveAttribute("datetime", /^\d{4}-\d\d-\d\dT/);
      await expect(time).toHaveAttribute("title", /\d{4}/);
      await expect(time.locator(".visually-hidden")).toHaveText(/\d{4}/);
      await expect(rows.nth(6).locator(".text")).toHaveAttribute("dir", "auto");
      // One's own messages are marked as one's own.
      const mine = tag("mine");
      await send(page, mine);
      await expect(list.locator("li.message.mine").filter({ hasText: mine })).toHaveCount(1);
      await expect(list.locator("li.message.mine").filter({ hasText: `${t} y1` })).toHaveCount(0);
    } finally {
      await server.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
