/**
 * The example page (public/, served at `/` by the broker) in a real browser: Debian's Chromium
 * driven by playwright-core, against a real broker (`npm start` on workerd, via the e2e harness).
 * The page is driven only as a person would (its forms, its query string) and read only through
 * what it shows.
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type Broker, freshTopic, removeState, startBroker } from "../e2e/harness";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const ROOT = path.resolve(import.meta.dirname, "../..");
const WAIT_MS = 30_000;

// Without Chromium a developer's `npm test` skips this file (and says so); CI installs it and fails without it.
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && !process.env.CI) {
  console.warn(
    `browser tests skipped: no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`,
  );
}

describe.skipIf(!haveChromium && !process.env.CI)("the example page in Chromium", () => {
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  /** Uncaught exceptions in the page: a page that throws has a bug even when it looks right. */
  let pageErrors: Error[];

  beforeAll(async () => {
    // The page loads the SDK bundle that `npm start` builds first; the harness starts the broker directly.
    execFileSync("npm", ["run", "--silent", "build:page"], { cwd: ROOT, stdio: "inherit" });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
  });

  afterAll(async () => {
    await browser?.close();
  });

  beforeEach(async () => {
    context = await browser.newContext();
    page = await context.newPage();
    page.setDefaultTimeout(WAIT_MS);
    pageErrors = [];
    page.on("pageerror", (error) => pageErrors.push(error));
  });

  afterEach(async () => {
    await context?.close();
    expect(pageErrors).toEqual([]);
  });

  describe("against one broker", () => {
    let broker: Broker;

    beforeAll(async () => {
      broker = await startBroker();
    });

    afterAll(async () => {
      await broker?.stop();
      if (broker) await removeState(broker);
    });

    it("shows messages published over HTTP and from its publish box, with the connection and the last seq", async () => {
      const topic = freshTopic();
      await publish(broker, topic, "before the page opened");
      await page.goto(`${broker.url}/?topic=${topic}`);
      await opened(page);

      await publish(broker, topic, { order: 7, item: "book" });
      await shown(page, 1);
      expect(await page.locator("#messages li").first().textContent()).toContain('"item": "book"');
      expect(await page.locator("#last-seq").textContent()).toBe("2");

      await page.fill("#body", "typed into the page");
      await page.click("#publish button[type=submit]");
      await shown(page, 2);
      // The message can come back over the socket before the answer to its publish.
      await page.locator("#publish-result", { hasText: `published to "${topic}" as seq 3` }).waitFor();
      // A live tail starts at the tail: the message published before the page opened is not shown.
      expect(await seqsShown(page)).toEqual([2, 3]);
      expect(await page.locator("#messages li").last().textContent()).toContain("typed into the page");
      expect(await page.locator("#last-seq").textContent()).toBe("3");
    });

    it("opened before the topic exists, waits for it and shows the message a publish over HTTP creates it with", async () => {
      const topic = freshTopic();
      await page.goto(`${broker.url}/?topic=${topic}`);
      await opened(page);
      await page.locator("#status", { hasText: `waiting for the first message to "${topic}"` }).waitFor();

      await publish(broker, topic, { order: 1 });
      await shown(page, 1);
      await publish(broker, topic, "the second");
      await shown(page, 2);
      expect(await seqsShown(page)).toEqual([1, 2]);
      expect(await page.locator("#status").textContent()).toBe("open");
    });

    it("opened before the topic exists, shows the message its own publish box creates it with", async () => {
      const topic = freshTopic();
      await page.goto(`${broker.url}/?topic=${topic}`);
      await opened(page);

      await page.fill("#body", "the first message");
      await page.click("#publish button[type=submit]");
      await shown(page, 1);
      expect(await seqsShown(page)).toEqual([1]);
    });

    it("consumes a subscription and acks every message it shows", async () => {
      const topic = freshTopic();
      await publish(broker, topic, "one");
      await page.goto(`${broker.url}/?topic=${topic}&mode=subscription&subscription=page&replay=1`);
      await opened(page);
      await publish(broker, topic, "two");
      await shown(page, 2);
      expect(await seqsShown(page)).toEqual([1, 2]);

      const deadline = Date.now() + WAIT_MS;
      let stats: { backlog: number; inFlight: number; acked: number } | undefined;
      while (Date.now() < deadline) {
        const info = await broker.json<{ stats: typeof stats }>(`/v1/topics/${topic}/subscriptions/page`);
        stats = info.body.stats;
        if (stats?.acked === 2) break;
        await page.waitForTimeout(100);
      }
      expect(stats).toMatchObject({ backlog: 0, inFlight: 0, acked: 2 });
    });
  });

  it("recovers from an outage and shows every seq exactly once, in order, including those published meanwhile", async () => {
    const brokers: Broker[] = [];
    const start = async (options?: Parameters<typeof startBroker>[0]) => {
      const started = await startBroker(options);
      brokers.push(started);
      return started;
    };
    let broker = await start();
    const { port, stateDir } = broker;
    try {
      const topic = freshTopic();
      await publish(broker, topic, "seed");
      await page.goto(`${broker.url}/?topic=${topic}`);
      await opened(page);
      for (const n of [2, 3, 4]) await publish(broker, topic, `message ${n}`);
      await shown(page, 3);

      // The broker crashes; the page keeps trying to reach it on its port.
      await broker.kill();
      await page.waitForSelector('#status[data-status="reconnecting"]');

      // Meanwhile the same broker state runs on another port, which the page does not know:
      // messages are published there while the page cannot see them.
      const elsewhere = await start({ stateDir });
      for (const n of [5, 6, 7]) await publish(elsewhere, topic, `message ${n}`);
      await elsewhere.stop();
      expect(await page.locator("#status").getAttribute("data-status")).not.toBe("open");

      broker = await start({ port, stateDir });
      await opened(page);
      for (const n of [8, 9]) await publish(broker, topic, `message ${n}`);
      await shown(page, 8);
      // A repeat would arrive right behind the last message: give it the time to show.
      await page.waitForTimeout(500);

      expect(await seqsShown(page)).toEqual([2, 3, 4, 5, 6, 7, 8, 9]);
      const bodies = await page.locator("#messages li pre").allTextContents();
      expect(bodies).toEqual([2, 3, 4, 5, 6, 7, 8, 9].map((n) => `message ${n}`));
      expect(await page.locator("#last-seq").textContent()).toBe("9");
      if (process.env.SCREENSHOT) await page.screenshot({ path: process.env.SCREENSHOT, fullPage: true });
    } finally {
      for (const started of brokers) await started.stop();
      await removeState(broker);
    }
  });
});

async function publish(broker: Broker, topic: string, data: unknown): Promise<number> {
  const text = typeof data === "string";
  const { status, body } = await broker.json<{ seq: number }>(`/v1/topics/${topic}/messages`, {
    method: "POST",
    headers: { "content-type": text ? "text/plain" : "application/json" },
    body: text ? data : JSON.stringify(data),
  });
  expect(status).toBe(201);
  return body.seq;
}

function opened(page: Page): Promise<unknown> {
  return page.waitForSelector('#status[data-status="open"]');
}

/** Waits until the page lists at least `count` messages. */
async function shown(page: Page, count: number): Promise<void> {
  await page.waitForFunction((n) => document.querySelectorAll("#messages li").length >= n, count, {
    timeout: WAIT_MS,
  });
}

function seqsShown(page: Page): Promise<number[]> {
  return page.$$eval("#messages li", (items) =>
    items.map((item) => Number((item as HTMLElement).dataset.seq)),
  );
}
