/**
 * What the dashboard's browser tests share: Debian's Chromium through playwright-core, a real
 * broker with auth on (the admin key and JWTs), HTTP calls as the admin to set up and to check
 * what the dashboard did, and the axe-core check.
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { expect } from "vitest";
import { type Broker, type JsonInit, type JsonResponse, startBroker } from "../e2e/harness";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
export const ROOT = path.resolve(import.meta.dirname, "../..");
export const WAIT_MS = 30_000;
/**
 * Shaped like `openssl rand -base64` output, with `/`, `+` and `=`: a credential that cannot be a
 * WebSocket subprotocol entry, so the dashboard must tail without a socket rather than put it in a URL.
 */
export const ADMIN_KEY = "dashboard/admin+key=0123456789abcdef==";
const JWT_SECRET = "dashboard-jwt-secret-0123456789abcdef-0123456789";

/** Without Chromium a developer's `npm test` skips these files (and says so); CI installs it. */
export const haveChromium = existsSync(CHROMIUM) || Boolean(process.env.CI);
if (!haveChromium) {
  console.warn(
    `browser tests skipped: no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`,
  );
}

/** Builds the SDK bundle the dashboard loads (`npm start` builds it first) and starts Chromium. */
export async function launchChromium(): Promise<Browser> {
  execFileSync("npm", ["run", "--silent", "build:page"], { cwd: ROOT, stdio: "inherit" });
  return chromium.launch({
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
}

/** A broker with auth on: the admin key above, and tokens signed with a secret it knows. */
export function startAuthBroker(): Promise<Broker> {
  return startBroker({ vars: { AUTH: "required", ADMIN_KEY, JWT_SECRET } });
}

/** One HTTP call as the admin. */
export function asAdmin<T = unknown>(
  broker: Broker,
  target: string,
  init: JsonInit = {},
): Promise<JsonResponse<T>> {
  const headers = new Headers(init.headers);
  headers.set("authorization", `Bearer ${ADMIN_KEY}`);
  return broker.json<T>(target, { ...init, headers });
}

/** Checks a call as the admin answered `status`, and returns its body. */
export async function admin<T = unknown>(
  broker: Broker,
  target: string,
  init: JsonInit = {},
  status?: number,
) {
  const answer = await asAdmin<T>(broker, target, init);
  if (status !== undefined) expect(answer.status, JSON.stringify(answer.body)).toBe(status);
  else expect(answer.status, JSON.stringify(answer.body)).toBeLessThan(300);
  return answer.body;
}

/** A token minted by the broker for `cap`. */
export async function mintToken(broker: Broker, cap: Record<string, string[]>, sub = "dashboard-test") {
  const { token } = await admin<{ token: string }>(broker, "/v1/tokens", {
    method: "POST",
    json: { cap, ttl: "1h", sub },
  });
  return token;
}

/** Polls the admin's view of `target` until `accept` holds; returns the last answer. */
export async function until<T>(broker: Broker, target: string, accept: (body: T) => boolean): Promise<T> {
  const deadline = Date.now() + WAIT_MS;
  let body: T | undefined;
  while (Date.now() < deadline) {
    const answer = await asAdmin<T>(broker, target);
    body = answer.body;
    if (answer.status === 200 && accept(body)) return body;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${target} never became as expected: ${JSON.stringify(body)}`);
}

/** Opens the dashboard at `/dashboard` and signs in with `secret`. */
export async function signIn(page: Page, broker: Broker, secret: string): Promise<void> {
  await page.goto(`${broker.url}/dashboard`);
  await page.getByLabel("Admin key or token").fill(secret);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { level: 1, name: "Topics" }).waitFor();
}

/** Clicks a button, then the submit button of the dialog it opens (its confirmation). */
export async function confirm(page: Page, opener: string, submit: string, fill?: () => Promise<void>) {
  await page.getByRole("button", { name: opener, exact: true }).click();
  const dialog = page.getByRole("dialog");
  await dialog.waitFor();
  if (fill) await fill();
  await dialog.getByRole("button", { name: submit, exact: true }).click();
  await dialog.waitFor({ state: "hidden" });
}

const AXE = createRequire(import.meta.url).resolve("axe-core/axe.min.js");

/** axe-core's serious and critical violations on the page as it is now (none is the pass). */
export async function seriousViolations(page: Page): Promise<string[]> {
  if (!(await page.evaluate(() => "axe" in window))) await page.addScriptTag({ path: AXE });
  const results = await page.evaluate(async () => {
    // biome-ignore lint/suspicious/noExplicitAny: axe is injected as a script, untyped here.
    const axe = (window as any).axe;
    return axe.run(document, { resultTypes: ["violations"] });
  });
  return (results.violations as { id: string; impact: string; help: string; nodes: { target: string[] }[] }[])
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`);
}
