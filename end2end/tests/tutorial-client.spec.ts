// Wire compatibility: the Socket.IO tutorial's own client page, unchanged, chats with the
// Leptos page through this server. The test serves the page on the server's origin.
import { readFileSync } from "node:fs";
import { expect, test } from "@playwright/test";
import { closeOpenedContexts, messageTexts, openChat, send, tag } from "./support";

test.afterEach(closeOpenedContexts);

const tutorialPage = readFileSync(new URL("../fixtures/tutorial.html", import.meta.url), "utf8");

test("the tutorial's own client exchanges messages with the Leptos page", async ({ browser, baseURL }) => {
  const leptos = await openChat(await browser.newContext());
  const t = tag("compat");
  await send(leptos, `${t} history`);
  await expect(messageTexts(leptos).filter({ hasText: `${t} history` })).toHaveCount(1);

  const context = await browser.newContext();
  await context.route(`${baseURL}/tutorial.html`, (route) =>
    route.fulfill({ status: 200, contentType: "text/html", body: tutorialPage }),
  );
  const tutorial = await context.newPage();
  await tutorial.goto("/tutorial.html");
  const tutorialItems = tutorial.locator("#messages li");
  // Its replay from serverOffset 0 includes the history.
  await expect(tutorialItems.filter({ hasText: `${t} history` })).toHaveCount(1);

  await tutorial.locator("#input").fill(`${t} from the tutorial`);
  await tutorial.locator("#input").press("Enter");
  await expect(messageTexts(leptos).filter({ hasText: t })).toHaveText([`${t} history`, `${t} from the tutorial`]);
  // It chats as a guest: a guest-… name, marked as such on the Leptos page.
  const fromTutorial = leptos.locator("#messages li.message").filter({ hasText: `${t} from the tutorial` });
  await expect(fromTutorial.locator(".author.guest")).toHaveText(/^guest-[0-9a-f]{4}$/);
  await expect(fromTutorial.locator(".guest-badge")).toHaveText("guest");

  await send(leptos, `${t} from leptos`);
  await expect(tutorialItems.filter({ hasText: t })).toHaveText([
    `${t} history`,
    `${t} from the tutorial`,
    `${t} from leptos`,
  ]);

  // Its Disconnect button and recovery work too: it catches up without duplicates.
  await tutorial.locator("#toggle-btn").click();
  await send(leptos, `${t} while the tutorial is away`);
  await expect(messageTexts(leptos).filter({ hasText: `${t} while` })).toHaveCount(1);
  await tutorial.locator("#toggle-btn").click();
  await expect(tutorialItems.filter({ hasText: t })).toHaveText([
    `${t} history`,
    `${t} from the tutorial`,
    `${t} from leptos`,
    `${t} while the tutorial is away`,
  ]);
});
