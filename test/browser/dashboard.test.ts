/**
 * The operator dashboard (public/dashboard/, served at `/dashboard`) in Debian's Chromium,
 * signed in with the admin key, against a real broker with auth on. Every action is taken
 * through the page as an operator would (its buttons and dialogs), and what it did is read back
 * through the HTTP API.
 */
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type Broker, removeState } from "../e2e/harness";
import {
  ADMIN_KEY,
  admin,
  asAdmin,
  confirm,
  haveChromium,
  launchChromium,
  signIn,
  startAuthBroker,
  until,
} from "./dashboard-harness";

interface SubscriptionInfo {
  config: { paused: boolean; maxAttempts: number | null; deadLetterTopic: string | null };
  stats: {
    backlog: number;
    cursor: number;
    purged: number;
    redriven: number;
    deadLettered: number;
    inFlight: number;
  };
}

describe.skipIf(!haveChromium)("the dashboard, signed in with the admin key", () => {
  let browser: Browser;
  let broker: Broker;
  let context: BrowserContext;
  let page: Page;
  let pageErrors: Error[];
  /** Every URL the page asked for, sockets included: the credential must be in none. */
  let urls: string[];

  beforeAll(async () => {
    [browser, broker] = await Promise.all([launchChromium(), startAuthBroker()]);
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
    urls = [];
    page.on("pageerror", (error) => pageErrors.push(error));
    page.on("request", (request) => urls.push(request.url()));
    page.on("websocket", (socket) => urls.push(socket.url()));
    await signIn(page, broker, ADMIN_KEY);
  });

  afterEach(async () => {
    await context?.close();
    expect(pageErrors).toEqual([]);
    const secrets = [ADMIN_KEY, encodeURIComponent(ADMIN_KEY)];
    expect(urls.filter((url) => secrets.some((secret) => url.includes(secret)))).toEqual([]);
  });

  it("keeps the admin key in sessionStorage only, for this tab, until signing out", async () => {
    expect(page.url()).toBe(`${broker.url}/dashboard/`);
    const stored = await page.evaluate(() => JSON.stringify(sessionStorage));
    expect(stored).toContain(JSON.stringify(ADMIN_KEY).slice(1, -1));
    expect(await page.evaluate(() => localStorage.length)).toBe(0);
    await page.getByText("Signed in with the admin key.").waitFor();

    await page.reload();
    await page.getByRole("heading", { level: 1, name: "Topics" }).waitFor();

    const other = await context.newPage();
    await other.goto(`${broker.url}/dashboard/`);
    await other.getByRole("heading", { level: 1, name: "Sign in" }).waitFor();
    await other.close();

    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("heading", { level: 1, name: "Sign in" }).waitFor();
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
  });

  it("lists topics by prefix a page at a time, with their size, retention use and subscriptions", async () => {
    const names = Array.from({ length: 12 }, (_, i) => `list-${String(i).padStart(2, "0")}`);
    for (const name of names) {
      await admin(broker, `/v1/topics/${name}`, { method: "PUT", json: { retention: { maxMessages: 100 } } });
    }
    await admin(broker, "/v1/topics/list-00/batch", {
      method: "POST",
      json: { messages: [{ data: 1 }, { data: 2 }, { data: 3 }] },
    });
    await admin(broker, "/v1/topics/list-00/subscriptions/reader", {
      method: "PUT",
      json: { startAt: "earliest" },
    });
    await admin(broker, "/v1/topics/other/messages", { method: "POST", body: "x" });

    await page.getByLabel("Name starts with").fill("list-");
    await page.getByLabel("Per page").selectOption("10");
    await page.getByRole("button", { name: "Show" }).click();
    await page
      .getByRole("caption")
      .filter({ hasText: 'Topics whose names start with "list-", page 1' })
      .waitFor();
    expect(await topicNames(page)).toEqual(names.slice(0, 10));
    const first = page.locator('tr[data-topic="list-00"] td');
    expect(await first.allTextContents()).toEqual([
      "3",
      "3 B",
      expect.stringMatching(/^\d+(\.\d+)?\/s$/), // the publish rate over the last minute
      "3 % of 100 messages",
      "1",
      "reader: 3 waitingno consumer: 3 waiting, none connected or in flight",
    ]);

    await page.getByRole("button", { name: "Next page" }).click();
    await page.getByRole("caption").filter({ hasText: "page 2" }).waitFor();
    expect(await topicNames(page)).toEqual(names.slice(10));
    expect(await page.getByRole("button", { name: "Next page" }).isDisabled()).toBe(true);

    await page.getByRole("button", { name: "Previous page" }).click();
    await page.getByRole("caption").filter({ hasText: "page 1" }).waitFor();
    expect(await topicNames(page)).toEqual(names.slice(0, 10));
  });

  it("creates a topic and a subscription, publishes, tails, and deletes both, each only once confirmed", async () => {
    // Cancelled: nothing is created.
    await page.getByRole("button", { name: "Create topic" }).click();
    await page.getByRole("dialog").getByLabel("Name").fill("made-here");
    await page.getByRole("dialog").getByRole("button", { name: "Cancel" }).click();
    expect((await asAdmin(broker, "/v1/topics/made-here")).status).toBe(404);

    await confirm(page, "Create topic", "Create topic", async () => {
      await page.getByRole("dialog").getByLabel("Name").fill("made-here");
      await page.getByRole("dialog").getByLabel("Keep messages for").fill("2d");
      await page.getByRole("dialog").getByLabel("Keep at most (size)").fill("1MiB");
    });
    await page.getByRole("heading", { level: 1, name: "made-here" }).waitFor();
    const topic = await admin<{ config: { retention: { maxAge: number; maxBytes: number } } }>(
      broker,
      "/v1/topics/made-here",
    );
    expect(topic.config.retention).toMatchObject({ maxAge: 2 * 86_400_000, maxBytes: 1024 * 1024 });

    await confirm(page, "Create subscription", "Create subscription", async () => {
      const dialog = page.getByRole("dialog");
      await dialog.getByLabel("Name").fill("worker");
      await dialog.getByLabel("Starts at").selectOption("earliest");
      await dialog.getByLabel("Attempts before dead-lettering").fill("4");
    });
    await page.locator('tr[data-subscription="worker"]').waitFor();
    const sub = await admin<SubscriptionInfo>(broker, "/v1/topics/made-here/subscriptions/worker");
    expect(sub.config.maxAttempts).toBe(4);

    await page.getByRole("button", { name: "Start the live tail" }).click();
    await page.locator("#tail-status", { hasText: "Following" }).waitFor();
    // The admin key cannot be a subprotocol entry: the tail runs on long-polls, not a socket in a URL.
    await page.locator("#tail-status", { hasText: "long-polls over HTTP" }).waitFor();

    await confirm(page, "Publish a message", "Publish", async () => {
      const dialog = page.getByRole("dialog");
      await dialog.getByLabel("Message").fill('{"order": 7}');
      await dialog.getByLabel("Attributes").fill("region=eu");
    });
    await page.locator("#notice", { hasText: 'Published to "made-here" as seq 1.' }).waitFor();
    const read = await admin<{ messages: { data: unknown; attributes: Record<string, string> }[] }>(
      broker,
      "/v1/topics/made-here/messages?after=0",
    );
    expect(read.messages).toMatchObject([{ data: { order: 7 }, attributes: { region: "eu" } }]);
    await admin(broker, "/v1/topics/made-here/messages", {
      method: "POST",
      body: "from curl",
      headers: { "content-type": "text/plain" },
    });
    await page.locator('#tail-messages li[data-seq="2"]', { hasText: "from curl" }).waitFor();
    expect(
      await page
        .locator("#tail-messages li")
        .evaluateAll((items) => items.map((i) => (i as HTMLElement).dataset.seq)),
    ).toEqual(["1", "2"]);
    await page.getByRole("button", { name: "Stop the live tail" }).click();

    await confirm(page, "Delete worker", "Delete subscription");
    await page.locator('tr[data-subscription="worker"]').waitFor({ state: "detached" });
    expect((await asAdmin(broker, "/v1/topics/made-here/subscriptions/worker")).status).toBe(404);

    // Deleting a topic asks for its name.
    await page.getByRole("button", { name: "Delete topic" }).click();
    const dialog = page.getByRole("dialog");
    await dialog.getByLabel("Type the topic's name to confirm").fill("made-her");
    await dialog.getByRole("button", { name: "Delete topic" }).click();
    await dialog.getByRole("alert").filter({ hasText: 'type "made-here" to delete it' }).waitFor();
    expect((await asAdmin(broker, "/v1/topics/made-here")).status).toBe(200);
    await dialog.getByLabel("Type the topic's name to confirm").fill("made-here");
    await dialog.getByRole("button", { name: "Delete topic" }).click();
    await page.getByRole("heading", { level: 1, name: "Topics" }).waitFor();
    expect((await asAdmin(broker, "/v1/topics/made-here")).status).toBe(404);
  });

  it("pauses, resumes, seeks and purges a subscription", async () => {
    await admin(broker, "/v1/topics/ops/subscriptions/billing", {
      method: "PUT",
      json: { startAt: "earliest" },
    });
    await admin(broker, "/v1/topics/ops/batch", {
      method: "POST",
      json: { messages: [1, 2, 3, 4, 5].map((n) => ({ data: n })) },
    });
    await page.goto(`${broker.url}/dashboard/#/topics/ops`);
    const row = page.locator('tr[data-subscription="billing"]');
    await row.waitFor();

    await confirm(page, "Pause billing", "Pause");
    await row.locator(".tag", { hasText: "pull · paused" }).waitFor();
    expect(
      (await admin<SubscriptionInfo>(broker, "/v1/topics/ops/subscriptions/billing")).config.paused,
    ).toBe(true);
    await row.getByText("paused: nothing is delivered while 5 wait").waitFor();

    await confirm(page, "Resume billing", "Resume");
    await row.locator(".tag", { hasText: /^pull$/ }).waitFor();
    expect(
      (await admin<SubscriptionInfo>(broker, "/v1/topics/ops/subscriptions/billing")).config.paused,
    ).toBe(false);

    await confirm(page, "Seek billing", "Seek", async () => {
      await page.getByRole("dialog").getByLabel("a seq").check();
      await page.getByRole("dialog").getByLabel("Seq", { exact: true }).fill("4");
    });
    await page.locator("#notice", { hasText: '"billing" now delivers from seq 4.' }).waitFor();
    expect((await admin<SubscriptionInfo>(broker, "/v1/topics/ops/subscriptions/billing")).stats.cursor).toBe(
      4,
    );

    await confirm(page, "Seek billing", "Seek", async () => {
      await page.getByRole("dialog").getByLabel("the oldest message kept").check();
    });
    await page.locator("#notice", { hasText: '"billing" now delivers from seq 1.' }).waitFor();

    // Something in flight too: a purge acks it all the same.
    await admin(broker, "/v1/topics/ops/subscriptions/billing/pull", { method: "POST", json: { max: 2 } });
    await confirm(page, "Purge billing", "Purge");
    await page.locator("#notice", { hasText: 'Purged 5 messages from "billing".' }).waitFor();
    const purged = await admin<SubscriptionInfo>(broker, "/v1/topics/ops/subscriptions/billing");
    expect(purged.stats).toMatchObject({ backlog: 0, inFlight: 0, purged: 5 });
    await row.locator("td").nth(0).filter({ hasText: /^0$/ }).waitFor();
  });

  it("redrives a subscription's dead letters back to it", async () => {
    await admin(broker, "/v1/topics/rd-dead/messages", { method: "POST", body: "seed" });
    await admin(broker, "/v1/topics/rd/subscriptions/fragile", {
      method: "PUT",
      json: { startAt: "earliest", maxAttempts: 1, deadLetterTopic: "rd-dead", backoff: { min: 1, max: 1 } },
    });
    await admin(broker, "/v1/topics/rd/messages", { method: "POST", json: { poison: true } });
    const pulled = await admin<{ messages: { seq: number }[] }>(
      broker,
      "/v1/topics/rd/subscriptions/fragile/pull",
      {
        method: "POST",
        json: { max: 1 },
      },
    );
    await admin(broker, "/v1/topics/rd/subscriptions/fragile/nack", {
      method: "POST",
      json: { seqs: pulled.messages.map((m) => m.seq) },
    });
    await until<SubscriptionInfo>(
      broker,
      "/v1/topics/rd/subscriptions/fragile",
      (s) => s.stats.deadLettered === 1,
    );
    // The copy is made by the topic's alarm after the count: wait until it is in the dead-letter topic.
    await until<{ stats: { lastSeq: number } }>(broker, "/v1/topics/rd-dead", (t) => t.stats.lastSeq === 2);

    await page.goto(`${broker.url}/dashboard/#/topics/rd`);
    const row = page.locator('tr[data-subscription="fragile"]');
    await row
      .getByText('1 dead letter in "rd-dead" after 1 attempt each, not redriven: poison messages?')
      .waitFor();
    await confirm(page, "Redrive fragile", "Redrive");
    await page.locator("#notice", { hasText: 'Redrove 1 dead letter to "fragile".' }).waitFor();
    const after = await admin<SubscriptionInfo>(broker, "/v1/topics/rd/subscriptions/fragile");
    expect(after.stats).toMatchObject({ redriven: 1, backlog: 1 });
  });

  it("shows a topic's routes with their lag and last error", async () => {
    await admin(broker, "/v1/topics/routed.to", { method: "PUT", json: {} });
    await admin(broker, "/v1/topics/routed", {
      method: "PUT",
      json: {
        routes: [
          { name: "copy", to: "routed.to" },
          { name: "lost", to: "routed.missing", backoff: { min: "1m", max: "1m" } },
        ],
      },
    });
    await admin(broker, "/v1/topics/routed/batch", {
      method: "POST",
      json: { messages: [{ data: 1 }, { data: 2 }] },
    });
    await until<{ stats: { routes: { name: string; lag: number; lastError: unknown }[] } }>(
      broker,
      "/v1/topics/routed",
      (t) => t.stats.routes.every((r) => (r.name === "copy" ? r.lag === 0 : r.lastError !== null)),
    );

    await page.goto(`${broker.url}/dashboard/#/topics/routed`);
    const copy = page.locator('#routes tr[data-route="copy"] td');
    await copy.first().waitFor();
    expect((await copy.allTextContents()).slice(0, 3)).toEqual(["routed.to", "0", "2"]);
    const lost = await page.locator('#routes tr[data-route="lost"] td').allTextContents();
    expect(lost.slice(0, 2)).toEqual(["routed.missing", "2"]);
    expect(lost.at(-1)).toMatch(/^seq 1: .*\(not_found, .* ago\)$/);
  });
});

function topicNames(page: Page): Promise<string[]> {
  return page.locator("#topics tbody th").allTextContents();
}
