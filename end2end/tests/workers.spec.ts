// Scale-out in the browser: two pages served by two different worker processes chat.
import { expect, test } from "@playwright/test";
import { closeOpenedContexts, messageTexts, openChat, send, tag } from "./support";

test.afterEach(closeOpenedContexts);

test("pages on two different worker ports chat with each other", async ({ browser, baseURL }) => {
  const secondWorker = baseURL!.replace(/:(\d+)$/, (_, port) => `:${Number(port) + 1}`);
  const alice = await openChat(await browser.newContext({ baseURL }));
  const bob = await openChat(await browser.newContext({ baseURL: secondWorker }));
  expect(new URL(alice.url()).port).not.toBe(new URL(bob.url()).port);
  const t = tag("workers");
  await send(alice, `${t} from worker 0`);
  await send(bob, `${t} from worker 1`);
  for (const page of [alice, bob]) {
    await expect(messageTexts(page).filter({ hasText: t })).toHaveText([`${t} from worker 0`, `${t} from worker 1`]);
  }
});
