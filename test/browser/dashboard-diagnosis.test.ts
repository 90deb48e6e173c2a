/**
 * What the dashboard is for: from it alone, an operator finds the subscription that falls
 * behind, sees why (its consumer is gone, its push receiver fails, poison messages end in dead
 * letters) and fixes it (pause, purge, redrive). Real broker, real failing receiver, Debian's
 * Chromium; what the fixes did is read back through the HTTP API. The views are checked with
 * axe-core, and the README's screenshots are taken here (into docs/ with
 * `DASHBOARD_SCREENSHOTS=docs`, else into a temporary folder, so a test run leaves the tree as
 * it was).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Broker, removeState } from "../e2e/harness";
import {
  ADMIN_KEY,
  admin,
  confirm,
  haveChromium,
  launchChromium,
  ROOT,
  seriousViolations,
  signIn,
  startAuthBroker,
  until,
} from "./dashboard-harness";

const INTO_DOCS = process.env.DASHBOARD_SCREENSHOTS === "docs";
const SHOTS = INTO_DOCS
  ? path.join(ROOT, "docs")
  : mkdtempSync(path.join(tmpdir(), "edge-broker-dashboard-"));

interface Sub {
  config: { paused: boolean };
  stats: {
    backlog: number;
    deadLettered: number;
    redriven: number;
    purged: number;
    push?: { consecutiveFailures: number };
  };
}

describe.skipIf(!haveChromium)(
  "the dashboard finds the subscription that falls behind, says why, and fixes it",
  () => {
    let browser: Browser;
    let broker: Broker;
    let receiver: Server;
    let page: Page;
    const pageErrors: Error[] = [];
    let receiverCalls = 0;

    beforeAll(async () => {
      // A push receiver that is up but failing: every delivery gets a 500.
      receiver = createServer((request, response) => {
        receiverCalls++;
        request.resume();
        request.on("end", () => response.writeHead(500).end("database unavailable"));
      });
      await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
      [browser, broker] = await Promise.all([launchChromium(), startAuthBroker()]);
      const port = (receiver.address() as { port: number }).port;

      const topic = "/v1/topics/shop.orders";
      await admin(broker, "/v1/topics/shop.dead-letters", { method: "PUT", json: {} });
      await admin(broker, "/v1/topics/shop.payments", {
        method: "PUT",
        json: { retention: { maxMessages: 10 } },
      });
      await admin(broker, "/v1/topics/shop.payments/batch", {
        method: "POST",
        json: { messages: [{ data: 1 }, { data: 2 }] },
      });
      await admin(broker, topic, {
        method: "PUT",
        json: { retention: { maxAge: "3d", maxBytes: 1024 * 1024 } },
      });
      await admin(broker, `${topic}/subscriptions/billing`, { method: "PUT", json: { startAt: "earliest" } });
      await admin(broker, `${topic}/subscriptions/search`, { method: "PUT", json: { startAt: "earliest" } });
      await admin(broker, `${topic}/subscriptions/notify`, {
        method: "PUT",
        json: { startAt: "earliest", push: { url: `http://127.0.0.1:${port}/hook`, timeout: "2s" } },
      });
      await admin(broker, `${topic}/subscriptions/analytics`, {
        method: "PUT",
        json: {
          startAt: "earliest",
          maxAttempts: 2,
          deadLetterTopic: "shop.dead-letters",
          backoff: { min: 1, max: 1 },
        },
      });
      const orders = Array.from({ length: 6 }, (_, i) => ({ data: { order: i + 1, total: 10 * (i + 1) } }));
      await admin(broker, `${topic}/batch`, { method: "POST", json: { messages: orders } });

      // analytics: a consumer that fails on every order, twice, until each is dead-lettered.
      for (let attempt = 0; attempt < 2; attempt++) {
        const pulled = await admin<{ messages: { seq: number }[] }>(
          broker,
          `${topic}/subscriptions/analytics/pull`,
          {
            method: "POST",
            json: { max: 10, wait: "5s" },
          },
        );
        const seqs = pulled.messages.map((m) => m.seq);
        await admin(broker, `${topic}/subscriptions/analytics/nack`, { method: "POST", json: { seqs } });
        if (attempt === 0)
          await until<Sub>(broker, `${topic}/subscriptions/analytics`, (s) => s.stats.backlog === 6);
      }
      await until<Sub>(broker, `${topic}/subscriptions/analytics`, (s) => s.stats.deadLettered === 6);
      await until<{ stats: { lastSeq: number } }>(
        broker,
        "/v1/topics/shop.dead-letters",
        (t) => t.stats.lastSeq === 6,
      );
      // search: a consumer that kept up.
      await admin(broker, `${topic}/subscriptions/search/purge`, { method: "POST", json: {} });
      // notify: the receiver has failed a few times.
      await until<Sub>(
        broker,
        `${topic}/subscriptions/notify`,
        (s) => (s.stats.push?.consecutiveFailures ?? 0) >= 2,
      );

      page = await (await browser.newContext({ viewport: { width: 1400, height: 900 } })).newPage();
      page.setDefaultTimeout(30_000);
      page.on("pageerror", (error) => pageErrors.push(error));
    });

    afterAll(async () => {
      await browser?.close();
      await broker?.stop();
      if (broker) await removeState(broker);
      await new Promise((resolve) => receiver?.close(resolve));
      if (!INTO_DOCS) rmSync(SHOTS, { recursive: true, force: true });
      expect(pageErrors).toEqual([]);
    });

    it("has no serious or critical accessibility violations on the sign-in form", async () => {
      await page.goto(`${broker.url}/dashboard`);
      await page.getByRole("heading", { level: 1, name: "Sign in" }).waitFor();
      expect(await seriousViolations(page)).toEqual([]);
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.getByRole("alert").filter({ hasText: "Unauthorized: missing credentials" }).waitFor();
      await page.getByLabel("Admin key or token").fill("not-the-key-0123456789");
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.getByRole("alert").filter({ hasText: "(unauthorized)" }).waitFor();
      expect(await seriousViolations(page)).toEqual([]);
    });

    it("lists the topics of a prefix with the subscription furthest behind", async () => {
      await signIn(page, broker, ADMIN_KEY);
      await page.getByLabel("Name starts with").fill("shop.");
      await page.getByRole("button", { name: "Show" }).click();
      await page.getByRole("caption").filter({ hasText: 'Topics whose names start with "shop."' }).waitFor();
      expect(await page.locator("#topics tbody th").allTextContents()).toEqual([
        "shop.dead-letters",
        "shop.orders",
        "shop.payments",
      ]);
      const behind = page.locator('tr[data-topic="shop.orders"] td').last();
      expect(await behind.textContent()).toMatch(
        /^(notify: 6 waitingpush failing|billing: 6 waitingno consumer)/,
      );
      expect(await page.locator('tr[data-topic="shop.payments"] td').nth(3).textContent()).toBe(
        "20 % of 10 messages",
      );
      expect(await seriousViolations(page)).toEqual([]);
      await page.screenshot({ path: path.join(SHOTS, "dashboard-topics.png") });
    });

    it("shows each subscription's trouble, worst first, and the healthy one last", async () => {
      await page.getByRole("link", { name: "shop.orders" }).click();
      await page.getByRole("heading", { level: 1, name: "shop.orders" }).waitFor();
      const rows = page.locator("#subscriptions tbody tr");
      await rows.first().waitFor();
      const order = await rows.evaluateAll((trs) =>
        trs.map((tr) => (tr as HTMLElement).dataset.subscription),
      );
      expect(order.slice(0, 2).sort()).toEqual(["billing", "notify"]);
      expect(order.slice(2)).toEqual(["analytics", "search"]);

      const findings = (name: string) =>
        page.locator(`tr[data-subscription="${name}"] td.findings`).textContent();
      expect(await findings("billing")).toBe("no consumer: 6 waiting, none connected or in flight");
      expect(await findings("notify")).toMatch(/^push failing: \d+ in a row \(HTTP 500, .* ago\)/);
      expect(await findings("analytics")).toBe(
        '6 dead letters in "shop.dead-letters" after 2 attempts each, not redriven: poison messages?',
      );
      expect(await findings("search")).toBe("nothing");
      expect(await page.locator('tr[data-subscription="notify"] td').nth(4).textContent()).toMatch(
        /^http:\/\/127\.0\.0\.1:\d+\/hookfailing: HTTP 500, .* ago$/,
      );
      // The oldest unacked message's age, from the subscription's flow stats.
      expect(await page.locator('tr[data-subscription="billing"] td').nth(2).textContent()).toMatch(/^\d/);

      expect(await seriousViolations(page)).toEqual([]);
      await page.screenshot({ path: path.join(SHOTS, "dashboard-topic.png"), fullPage: true });
    });

    it("fixes them: pauses the failing push, purges the backlog nobody reads, redrives the dead letters", async () => {
      const topic = "/v1/topics/shop.orders";
      await page.getByRole("button", { name: "Pause notify" }).click();
      expect(await seriousViolations(page)).toEqual([]);
      await page.getByRole("dialog").getByRole("button", { name: "Pause", exact: true }).click();
      await page.getByRole("dialog").waitFor({ state: "hidden" });
      expect((await admin<Sub>(broker, `${topic}/subscriptions/notify`)).config.paused).toBe(true);
      const callsWhenPaused = receiverCalls;

      await confirm(page, "Purge billing", "Purge");
      await page.locator("#notice", { hasText: 'Purged 6 messages from "billing".' }).waitFor();
      expect((await admin<Sub>(broker, `${topic}/subscriptions/billing`)).stats).toMatchObject({
        backlog: 0,
        purged: 6,
      });
      await page.locator('tr[data-subscription="billing"] td.findings', { hasText: /^nothing$/ }).waitFor();

      await confirm(page, "Redrive analytics", "Redrive");
      await page.locator("#notice", { hasText: 'Redrove 6 dead letters to "analytics".' }).waitFor();
      expect((await admin<Sub>(broker, `${topic}/subscriptions/analytics`)).stats).toMatchObject({
        redriven: 6,
        backlog: 6,
      });
      // Given back, they are dead letters no more: what holds it back now is that nobody reads it.
      await page
        .locator('tr[data-subscription="analytics"] td.findings', {
          hasText: /^no consumer: 6 waiting, none connected or in flight$/,
        })
        .waitFor();

      // Paused means no more requests to the failing receiver (one already sent may still land).
      await page.waitForTimeout(3_000);
      expect(receiverCalls - callsWhenPaused).toBeLessThanOrEqual(1);
    });
  },
);
