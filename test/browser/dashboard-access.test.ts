/**
 * The dashboard signed in with tokens of narrower rights, in Debian's Chromium against a real
 * broker: it shows what the credential may not do, with the reason, instead of offering actions
 * that fail; what the broker refuses anyway is shown in the dialog that tried. A token fits a
 * WebSocket subprotocol entry, so the live tail here runs on the client SDK's socket.
 */
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type Broker, removeState } from "../e2e/harness";
import {
  admin,
  asAdmin,
  confirm,
  haveChromium,
  launchChromium,
  mintToken,
  seriousViolations,
  signIn,
  startAuthBroker,
} from "./dashboard-harness";

describe.skipIf(!haveChromium)("the dashboard, signed in with a token", () => {
  let browser: Browser;
  let broker: Broker;
  let context: BrowserContext;
  let page: Page;
  let pageErrors: Error[];
  /** Every refusal the page received: `401 /v1/topics?limit=1` is the sign-in asking without a credential. */
  let refusals: string[];

  beforeAll(async () => {
    [browser, broker] = await Promise.all([launchChromium(), startAuthBroker()]);
    await admin(broker, "/v1/topics/acc.one/subscriptions/reader", {
      method: "PUT",
      json: { startAt: "earliest" },
    });
    await admin(broker, "/v1/topics/acc.one/batch", {
      method: "POST",
      json: { messages: [{ data: 1 }, { data: 2 }, { data: 3 }] },
    });
    await admin(broker, "/v1/topics/acc.two", { method: "PUT", json: {} });
    await admin(broker, "/v1/topics/private", { method: "PUT", json: {} });
  });

  afterAll(async () => {
    await browser?.close();
    await broker?.stop();
    if (broker) await removeState(broker);
  });

  beforeEach(async () => {
    context = await browser.newContext();
    page = await context.newPage();
    page.setDefaultTimeout(30_000);
    pageErrors = [];
    refusals = [];
    page.on("pageerror", (error) => pageErrors.push(error));
    page.on("response", (response) => {
      if (response.status() >= 400)
        refusals.push(
          `${response.status()} ${new URL(response.url()).pathname}${new URL(response.url()).search}`,
        );
    });
  });

  afterEach(async () => {
    await context?.close();
    expect(pageErrors).toEqual([]);
  });

  it("with subscribe only: sees its topics' stats, tails and seeks, and is told why it may do nothing else", async () => {
    const token = await mintToken(broker, { "acc.*": ["subscribe"] }, "support-desk");
    await signIn(page, broker, token);
    await page.getByText(/^Signed in with a token for "support-desk", expires in 59 min/).waitFor();
    await page.locator('tr[data-topic="acc.two"] td').first().waitFor();
    expect(await page.locator("#topics tbody th").allTextContents()).toEqual(["acc.one", "acc.two"]);
    // Retention limits are config, which only admin sees.
    expect(await page.locator('tr[data-topic="acc.one"] td').nth(3).textContent()).toBe("—");
    expect(await page.getByRole("button", { name: "Create topic" }).isDisabled()).toBe(true);
    await page.getByText("This credential holds admin on no topic: it cannot create one.").waitFor();

    await page.getByRole("link", { name: "acc.one" }).click();
    await page.locator('tr[data-subscription="reader"]').waitFor();
    const mayNot = page.locator("#may-not");
    expect(await mayNot.locator("li").allTextContents()).toEqual([
      'It may not publish: this token holds no "publish" on "acc.one".',
      'It may not create, pause, resume, purge, redrive or delete subscriptions, or delete the topic: this token holds no "admin" on "acc.one".',
    ]);
    for (const name of [
      "Publish a message",
      "Create subscription",
      "Delete topic",
      "Pause reader",
      "Purge reader",
      "Redrive reader",
      "Delete reader",
    ]) {
      const button = page.getByRole("button", { name, exact: true });
      expect(await button.isDisabled(), name).toBe(true);
      expect(await button.getAttribute("aria-describedby"), name).toBe("may-not");
    }
    expect(await seriousViolations(page)).toEqual([]);

    await admin(broker, "/v1/topics/acc.one/subscriptions/reader/seek", {
      method: "POST",
      json: { to: "latest" },
    });
    await confirm(page, "Seek reader", "Seek");
    await page.locator("#notice", { hasText: '"reader" now delivers from seq 1.' }).waitFor();
    expect(
      (await admin<{ stats: { cursor: number } }>(broker, "/v1/topics/acc.one/subscriptions/reader")).stats
        .cursor,
    ).toBe(1);

    await page.getByRole("button", { name: "Start the live tail" }).click();
    await page.locator("#tail-status", { hasText: "Following: new messages appear below." }).waitFor();
    await admin(broker, "/v1/topics/acc.one/messages", { method: "POST", json: { live: true } });
    await page.locator('#tail-messages li[data-seq="4"]', { hasText: '"live": true' }).waitFor();

    expect(refusals).toEqual(["401 /v1/topics?limit=1"]);
  });

  it("with publish only: reads no stats, says so, and publishes", async () => {
    const token = await mintToken(broker, { "acc.two": ["publish"] });
    await signIn(page, broker, token);
    await page.locator('tr[data-topic="acc.two"] td').waitFor();
    expect(await page.locator('tr[data-topic="acc.two"] td').allTextContents()).toEqual([
      'no stats: this token holds no "subscribe" on "acc.two"',
    ]);
    await page.getByRole("link", { name: "acc.two" }).click();
    await page.getByText("Its stats and subscriptions are not shown: see above.").waitFor();
    expect(await page.locator("#may-not li").allTextContents()).toEqual([
      'It may not read the topic, tail it, or seek its subscriptions: this token holds no "subscribe" on "acc.two".',
      'It may not create, pause, resume, purge, redrive or delete subscriptions, or delete the topic: this token holds no "admin" on "acc.two".',
    ]);
    expect(await page.getByRole("button", { name: "Start the live tail" }).isDisabled()).toBe(true);

    await confirm(page, "Publish a message", "Publish", async () => {
      await page.getByRole("dialog").getByLabel("Message").fill("from the desk");
      await page.getByRole("dialog").getByLabel("Read it as").selectOption("text");
    });
    await page.locator("#notice", { hasText: 'Published to "acc.two" as seq 1.' }).waitFor();
    const read = await admin<{ messages: { data: unknown; contentType: string }[] }>(
      broker,
      "/v1/topics/acc.two/messages?after=0",
    );
    expect(read.messages).toMatchObject([{ data: "from the desk", contentType: "text/plain;charset=utf-8" }]);
    expect(await seriousViolations(page)).toEqual([]);
    expect(refusals).toEqual(["401 /v1/topics?limit=1"]);
  });

  it("with admin on a prefix: a refusal the claims did not foresee is shown in the dialog, and nothing is written", async () => {
    const token = await mintToken(broker, { "acc.*": ["admin"] });
    await signIn(page, broker, token);
    // A topic outside its grants: said before anything is sent.
    await page.getByRole("button", { name: "Create topic" }).click();
    await page.getByRole("dialog").getByLabel("Name").fill("elsewhere");
    await page.getByRole("dialog").getByRole("button", { name: "Create topic" }).click();
    await page
      .getByRole("dialog")
      .getByRole("alert")
      .filter({ hasText: 'it cannot be created: this token holds no "admin" on "elsewhere"' })
      .waitFor();
    await page.getByRole("dialog").getByRole("button", { name: "Cancel" }).click();
    expect((await asAdmin(broker, "/v1/topics/elsewhere")).status).toBe(404);

    await page.getByRole("link", { name: "acc.one" }).click();
    await page.locator('tr[data-subscription="reader"]').waitFor();
    expect(await page.locator("#may-not").count()).toBe(0);

    await page.getByRole("button", { name: "Create subscription" }).click();
    const dialog = page.getByRole("dialog");
    await dialog.getByLabel("Name").fill("audit");
    await dialog.getByLabel("Dead-letter topic").fill("elsewhere");
    await dialog.getByRole("button", { name: "Create subscription" }).click();
    await dialog
      .getByRole("alert")
      .filter({
        hasText: 'Forbidden: this credential lacks "publish" on deadLetterTopic "elsewhere" (forbidden)',
      })
      .waitFor();
    expect(await seriousViolations(page)).toEqual([]);
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "hidden" });
    // The focus is back on the button that opened the dialog.
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe("Create subscription");
    expect((await asAdmin(broker, "/v1/topics/acc.one/subscriptions/audit")).status).toBe(404);
  });

  it("refuses a wrong credential at sign-in, with the broker's reason", async () => {
    await page.goto(`${broker.url}/dashboard`);
    await page.getByLabel("Admin key or token").fill("eyJhbGciOiJIUzI1NiJ9.eyJjYXAiOnt9fQ.c2lnbmF0dXJl");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page
      .getByRole("alert")
      .filter({ hasText: /^Unauthorized: .*\(unauthorized\)$/ })
      .waitFor();
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
  });
});
