// Accessibility checked by a tool: axe-core on the chat page (a guest's, with messages and
// the online list filled in), on a desktop and a phone viewport, in light and dark. No
// serious or critical violation may remain; lesser ones are listed in the test's output.
import AxeBuilder from "@axe-core/playwright";
import { expect, test } from "@playwright/test";
import { closeOpenedContexts, openChat, send, tag } from "./support";

test.afterEach(closeOpenedContexts);

const viewports = { desktop: { width: 1280, height: 800 }, phone: { width: 390, height: 844 } };

for (const [device, viewport] of Object.entries(viewports)) {
  for (const colorScheme of ["light", "dark"] as const) {
    test(`axe-core finds no serious or critical violation: ${device}, ${colorScheme}`, async ({ browser }) => {
      const context = await browser.newContext({ viewport, colorScheme, isMobile: device === "phone" });
      const page = await openChat(context);
      await send(page, tag("axe"));
      await expect(page.locator("#messages li.message:not(.own)").last()).toBeVisible();
      // Every rule axe-core has (WCAG 2.x A and AA, and its best practices).
      const results = await new AxeBuilder({ page }).analyze();
      const summary = results.violations.map((v) => `${v.impact} ${v.id}: ${v.nodes.length} × ${v.nodes[0]?.target.join(" ")}`);
      console.log(`[axe ${device} ${colorScheme}] ${results.passes.length} rules pass; violations: ${summary.length ? summary.join("; ") : "none"}`);
      const blocking = results.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
      expect(blocking.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`)).toEqual([]);
    });
  }
}

test("axe-core finds no serious or critical violation on the account forms, open, with an error", async ({ browser }) => {
  for (const colorScheme of ["light", "dark"] as const) {
    const page = await openChat(await browser.newContext({ colorScheme }), "/?auth=sign-in&error=too-many&retry=42");
    await expect(page.locator("#sign-in-error")).toBeVisible();
    await page.locator("summary").filter({ hasText: /^Sign up$/ }).click();
    const results = await new AxeBuilder({ page }).analyze();
    console.log(`[axe forms ${colorScheme}] violations: ${results.violations.map((v) => `${v.impact} ${v.id}`).join("; ") || "none"}`);
    const blocking = results.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
    expect(blocking.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`)).toEqual([]);
  }
});
