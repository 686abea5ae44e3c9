/**
 * The browser SDK (sdk/dist/warden.js, built fresh by test/run.ts) in real Chromium, on a page
 * served from a second origin, against a real Warden with CORS_ORIGINS set to that origin and
 * access tokens that live six seconds. Refreshes are counted where they land: Warden's own
 * request log ("incoming request" lines for /api/auth/token/refresh).
 *
 * SQLite only: what is under test is the browser side (locks, channel, cookie, CORS); the
 * refresh endpoint and its grace window run on both engines in test/sessions and test/contract.
 */
import assert from "node:assert/strict";
import http from "node:http";
import { after, before, test } from "node:test";
import { Secret, TOTP } from "otpauth";
import type { Browser, BrowserContext, Page, Route } from "playwright-core";
import { startWardenWithSmtp } from "../accounts/helpers.js";
import type { TestSmtp } from "../accounts/smtp.js";
import { sqliteEngine } from "../helpers/engines.js";
import { login, PASSWORD } from "../helpers/login.js";
import { freePort } from "../helpers/process.js";
import { postJson, withBearer, type Warden } from "../helpers/warden.js";
import { inApp, startAppOrigin } from "./app-origin.js";
import { launchChromium, watchForErrors } from "./chromium.js";

const TTL_SECONDS = 6;

/**
 * The network between the browser and Warden: passes everything through, except that it can hold
 * the response to the next refresh (Warden has answered it and rotated the cookie; the browser
 * has not heard yet), as a slow network does.
 */
async function startProxy(target: string) {
  let stall: { reached(): void; gate: Promise<void> } | null = null;
  let clientAddress: string | null = null;
  const releases: Array<() => void> = [];
  const server = http.createServer((request, response) => {
    response.on("error", () => undefined);
    const hold = request.method === "POST" && request.url === "/api/auth/token/refresh" ? stall : null;
    if (hold) stall = null;
    const upstream = http.request(
      `${target}${request.url}`,
      {
        method: request.method,
        headers: clientAddress ? { ...request.headers, "x-forwarded-for": clientAddress } : request.headers,
      },
      async (answer) => {
        if (hold) {
          hold.reached();
          await hold.gate;
        }
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
      },
    );
    upstream.on("error", () => response.destroy());
    request.pipe(upstream);
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return {
    origin: `http://127.0.0.1:${port}`,
    /** Requests from now on come from `address` (X-Forwarded-For, which Warden trusts from here); null: from 127.0.0.1. */
    setClientAddress(address: string | null) {
      clientAddress = address;
    },
    stallNextRefresh() {
      let reached!: () => void;
      let release!: () => void;
      const reachedPromise = new Promise<void>((resolve) => (reached = resolve));
      const gate = new Promise<void>((resolve) => (release = resolve));
      releases.push(release);
      stall = { reached, gate };
      return { reached: reachedPromise, release };
    },
    close() {
      releases.splice(0).forEach((release) => release());
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Refresh requests that reached Warden, from its request log. */
const refreshesAtServer = (w: Warden): number =>
  w.logLines
    .flatMap((line) => line.split("\n"))
    .filter((line) => line.includes('"incoming request"'))
    .map((line) => JSON.parse(line))
    .filter((entry) => entry.req?.url === "/api/auth/token/refresh" || entry.req?.url === "/api/auth/refresh").length;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Env {
  w: Warden;
  smtp: TestSmtp;
  base: string;
  app: { origin: string; close(): Promise<void> };
  browser: Browser;
  /** Holds the next refresh request inside Warden (after it is logged) until `release()`. */
  stallNextRefresh(): { reached: Promise<void>; release(): void };
  /** Where the browser's requests come from, as Warden sees them (null: 127.0.0.1). */
  setClientAddress(address: string | null): void;
  close(): Promise<void>;
}

async function startEnv(): Promise<Env> {
  const app = await startAppOrigin();
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const { w, smtp, close } = await startWardenWithSmtp({
    engine: sqliteEngine,
    // Every tab logs in from 127.0.0.1: the per-IP login limit would refuse the later tests.
    env: {
      PUBLIC_URL: base,
      CORS_ORIGINS: app.origin,
      ACCESS_TOKEN_TTL: String(TTL_SECONDS),
      LOGIN_RATE_LIMIT: "1000/60",
      // The proxy can give the browser an address of its own (setClientAddress).
      TRUST_PROXY: "127.0.0.1",
    },
  });
  await w.app.listen({ port, host: "127.0.0.1" });
  const proxy = await startProxy(`http://127.0.0.1:${port}`);
  const browser = await launchChromium();
  return {
    w,
    smtp,
    base: proxy.origin,
    app,
    browser,
    stallNextRefresh: proxy.stallNextRefresh,
    setClientAddress: proxy.setClientAddress,
    async close() {
      await browser.close();
      await proxy.close();
      await close();
      await app.close();
    },
  };
}

let env: Env;
before(async () => {
  env = await startEnv();
});
after(async () => {
  await env?.close();
});

/** A tab of the app, its client ready. */
async function openTab(context: BrowserContext, query: Record<string, string> = {}): Promise<Page> {
  const page = await context.newPage();
  const params = new URLSearchParams({ warden: env.base, ...query });
  await page.goto(`${env.app.origin}/?${params}`);
  await page.locator("body[data-ready=yes]").waitFor({ state: "attached" });
  return page;
}

/** Four authenticated calls at once in a tab: the statuses, as the app sees them. */
const fourCalls = (page: Page) =>
  page.evaluate(() =>
    Promise.all([1, 2, 3, 4].map(() => (window as any).warden.fetch("/api/v1/me").then((r: Response) => r.status))),
  );

const accessExp = (page: Page): Promise<number> => page.evaluate(() => (window as any).warden.session?.claims.exp);
const accessToken = (page: Page): Promise<string | undefined> =>
  page.evaluate(() => (window as any).warden.session?.accessToken);
const stats = (page: Page) => page.evaluate(() => ({ ...(window as any).warden.stats }));

/** Waits (real time) until Warden's clock is past the access token's `exp`. */
async function untilExpired(exp: number): Promise<void> {
  const wait = exp * 1000 + 300 - Date.now();
  if (wait > 0) await sleep(wait);
}

async function signIn(page: Page, email: string): Promise<void> {
  const result = await page.evaluate(([email, password]) => (window as any).warden.login(email, password), [
    email,
    PASSWORD,
  ] as const);
  assert.equal(result.mfaRequired, false);
}

test("two tabs, an expired access token, four calls at once in each: one refresh reaches Warden and every call is answered 200", async () => {
  const email = "two.tabs@example.com";
  await env.w.createUser(email, PASSWORD);
  const context = await env.browser.newContext();
  try {
    const a = await openTab(context, { autoRefresh: "0" });
    const b = await openTab(context, { autoRefresh: "0" });
    const problems = [...watchForErrors(a), ...watchForErrors(b)];
    await signIn(a, email);

    // The second tab has no token of its own: it gets the first tab's over the channel, not by refreshing.
    const startCount = refreshesAtServer(env.w);
    const user = await b.evaluate(() => (window as any).warden.getUser());
    assert.equal(user.email, email);
    assert.equal(refreshesAtServer(env.w), startCount, "tab B took tab A's token without a refresh");
    assert.equal(await accessToken(b), await accessToken(a));

    for (let round = 1; round <= 2; round++) {
      const before = refreshesAtServer(env.w);
      const old = await accessToken(a);
      await untilExpired(await accessExp(a));
      const [statusesA, statusesB] = await Promise.all([fourCalls(a), fourCalls(b)]);
      assert.deepEqual(statusesA, [200, 200, 200, 200], `round ${round}: tab A`);
      assert.deepEqual(statusesB, [200, 200, 200, 200], `round ${round}: tab B`);
      assert.equal(refreshesAtServer(env.w) - before, 1, `round ${round}: exactly one refresh reached Warden`);
      assert.notEqual(await accessToken(a), old);
      assert.equal(await accessToken(a), await accessToken(b), `round ${round}: both tabs hold the new token`);
    }
    const [sa, sb] = [await stats(a), await stats(b)];
    assert.equal(sa.requests + sb.requests, 2, JSON.stringify({ sa, sb }));
    assert.equal(sa.lockTimeouts + sb.lockTimeouts, 0);
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

test("automatic refresh before exp in two tabs: one refresh per expiry, no call ever sees a 401", async () => {
  const email = "auto.refresh@example.com";
  await env.w.createUser(email, PASSWORD);
  const context = await env.browser.newContext();
  try {
    const a = await openTab(context);
    const b = await openTab(context);
    await signIn(a, email);
    assert.equal((await b.evaluate(() => (window as any).warden.getUser())).email, email);
    const before = refreshesAtServer(env.w);
    const first = await accessExp(a);
    // Each token is replaced a little before its exp, by one tab, for both: wait for two replacements in B.
    const refreshedInB = () =>
      b.evaluate(() => (window as any).events.filter((e: string) => e === "TOKEN_REFRESHED").length);
    for (let i = 0; i < 40 && (await refreshedInB()) < 2; i++) await sleep(500);
    assert.equal(await refreshedInB(), 2);
    assert.ok(
      Date.now() < first * 1000 + TTL_SECONDS * 1000,
      "the second refresh came before the second token expired",
    );
    assert.equal(refreshesAtServer(env.w) - before, 2, "one refresh per expiry");
    assert.equal(await accessToken(a), await accessToken(b));
    assert.deepEqual(await fourCalls(a), [200, 200, 200, 200]);
    assert.deepEqual(await fourCalls(b), [200, 200, 200, 200]);
    assert.equal(refreshesAtServer(env.w) - before, 2, "the calls needed no further refresh");
    const events = await b.evaluate(() => (window as any).events);
    assert.deepEqual(events, ["SIGNED_IN", "TOKEN_REFRESHED", "TOKEN_REFRESHED"]);
  } finally {
    await context.close();
  }
});

test("a tab closed while it holds the refresh lock does not block the other tab", async () => {
  const email = "closed.tab@example.com";
  await env.w.createUser(email, PASSWORD);
  const context = await env.browser.newContext();
  try {
    // A long lock timeout: tab B must get the lock because A's went away, not because it gave up waiting.
    const query = { autoRefresh: "0", lockTimeoutMs: "60000" };
    const a = await openTab(context, query);
    const b = await openTab(context, query);
    await signIn(a, email);
    assert.equal((await b.evaluate(() => (window as any).warden.getUser())).email, email);
    const before = refreshesAtServer(env.w);

    // Tab A's refresh reaches Warden, which rotates the token, but the answer is slow to come back;
    // meanwhile A holds the lock.
    const stalled = env.stallNextRefresh();
    await untilExpired(await accessExp(a));
    await a.evaluate(() => {
      (window as any).pending = (window as any).warden.fetch("/api/v1/me");
    });
    await stalled.reached;
    const held = await a.evaluate(() => navigator.locks.query());
    assert.equal(held.held?.length, 1, "tab A holds the refresh lock");

    const callsB = fourCalls(b);
    // Tab B is queued behind A's lock.
    for (let i = 0; i < 50; i++) {
      const state = await b.evaluate(() => navigator.locks.query());
      if (state.pending?.length) break;
      await sleep(100);
    }
    assert.equal((await b.evaluate(() => navigator.locks.query())).pending?.length, 1, "tab B waits for the lock");

    await a.close();
    assert.deepEqual(await callsB, [200, 200, 200, 200]);
    const sb = await stats(b);
    assert.equal(sb.lockTimeouts, 0, "tab B got the lock when A closed, it did not time out");
    assert.equal(sb.requests, 1, "tab B refreshed once");
    assert.equal(refreshesAtServer(env.w) - before, 2, "A's refresh (answered too late) and B's");

    // A never got its answer, so B refreshed with the cookie A had already spent: the grace window
    // answered B with A's successor instead of revoking the session. B's next refresh still works.
    stalled.release();
    await untilExpired(await accessExp(b));
    assert.deepEqual(await fourCalls(b), [200, 200, 200, 200]);
    assert.equal((await stats(b)).requests, 2);
  } finally {
    await context.close();
  }
});

test("register, confirm, login with the TOTP step, getUser, a new email address and logout through the SDK", async () => {
  const email = "sdk.mfa@example.com";
  const context = await env.browser.newContext();
  try {
    const a = await openTab(context, { autoRefresh: "0" });
    const b = await openTab(context, { autoRefresh: "0" });
    const problems = watchForErrors(a);

    const registered = await a.evaluate(
      ([email, password]) => (window as any).warden.register({ email, password, firstName: "Ana" }),
      [email, PASSWORD] as const,
    );
    assert.equal(registered.email, email);
    let token: string | undefined;
    for (let i = 0; i < 5 && !token; i++) {
      const mail = await env.smtp.nextMail(email);
      token = /confirm-email\?token=([A-Za-z0-9_-]{43})/.exec(mail.decoded)?.[1];
    }
    assert.ok(token, "a confirmation link in the mail");
    await a.evaluate((token) => (window as any).warden.confirmEmail(token), token);

    // TOTP on, through the API as the account page would do it.
    const { token: bearer } = await login(env.w, email);
    const setup = await withBearer(env.w, bearer, { method: "POST", url: "/api/v1/me/mfa/totp/setup" });
    const secret = Secret.fromBase32(setup.body.secret);
    const enable = await withBearer(env.w, bearer, {
      method: "POST",
      url: "/api/v1/me/mfa/totp/enable",
      payload: { code: TOTP.generate({ secret }) },
    });
    assert.equal(enable.status, 200, enable.raw);

    const challenge = await a.evaluate(([email, password]) => (window as any).warden.login(email, password), [
      email,
      PASSWORD,
    ] as const);
    assert.equal(challenge.mfaRequired, true);
    assert.deepEqual(challenge.methods, ["totp", "backup_code", "email_otp"]);
    assert.equal(await accessToken(a), undefined, "no token before the second step");

    const wrong = await a.evaluate(async (mfaToken) => {
      try {
        await (window as any).warden.verifyMfa(mfaToken, "000000");
        return null;
      } catch (error: any) {
        return { name: error.name, status: error.status, message: error.message };
      }
    }, challenge.mfaToken);
    assert.equal(wrong?.name, "WardenError");
    assert.equal(wrong?.status, 401);

    // The enabling code's step is spent: the authenticator's next code.
    const code = TOTP.generate({ secret, timestamp: Date.now() + 30_000 });
    const verified = await a.evaluate(([mfaToken, code]) => (window as any).warden.verifyMfa(mfaToken, code), [
      challenge.mfaToken,
      code,
    ] as const);
    assert.equal(verified.mfaRequired, false);
    assert.equal((await a.evaluate(() => (window as any).warden.getUser())).email, email);
    assert.deepEqual(await b.evaluate(() => (window as any).events), ["SIGNED_IN"], "tab B heard of the sign-in");

    // A new address: asked from the fresh session, confirmed with the link mailed to it.
    const newEmail = "sdk.mfa.new@example.com";
    const asked = await a.evaluate((to) => (window as any).warden.changeEmail(to), newEmail);
    assert.match(asked.message, /emailed a link to the new address/);
    const changeToken = /confirm-email-change\?token=([A-Za-z0-9_-]{43})/.exec(
      (await env.smtp.nextMail(newEmail)).decoded,
    )?.[1];
    assert.ok(changeToken, "a link in the mail to the new address");
    await a.evaluate((token) => (window as any).warden.confirmEmailChange(token), changeToken);
    assert.equal((await a.evaluate(() => (window as any).warden.getUser())).email, newEmail);

    await a.evaluate(() => (window as any).warden.logout());
    assert.equal(await a.evaluate(() => (window as any).warden.getUser()), null);
    assert.equal(await b.evaluate(() => (window as any).warden.session), null, "tab B is signed out too");
    assert.equal(await b.evaluate(() => (window as any).warden.getUser()), null, "and the cookie is gone");
    assert.deepEqual(
      problems.filter((p) => !/status of 40[01]/.test(p)),
      [],
    );
  } finally {
    await context.close();
  }
});

test("a throttled owner unlocks through the SDK with the mailed token, and the app's browser then logs in past the throttle", async () => {
  const email = "sdk.throttled@example.com";
  await env.w.createUser(email, PASSWORD);
  let guesses = 0;
  /** Wrong passwords from addresses that are not the browser's, until the account budget is spent. */
  const spendBudget = async () => {
    for (;;) {
      const ip = `10.55.${(++guesses >> 8) & 255}.${guesses & 255}`;
      const guess = await postJson(env.w.app, "/api/auth", { email, password: "wrong" }, {}, { remoteAddress: ip });
      if (guess.status === 429) return;
      assert.equal(guess.status, 401);
    }
  };
  const loginIn = (page: Page) =>
    inApp<{ error?: { status: number } }>(page, "return warden.login(...arg);", [email, PASSWORD]);
  const owner = await env.browser.newContext();
  const stranger = await env.browser.newContext();
  // A known network is the other way in: each step comes from an address no session used.
  env.setClientAddress("198.51.100.20");
  try {
    const tab = await openTab(owner, { autoRefresh: "0" });
    const problems = watchForErrors(tab);
    await spendBudget();
    assert.equal((await loginIn(tab)).error?.status, 429, "throttled like everyone else");
    let token: string | undefined;
    for (let i = 0; i < 5 && !token; i++)
      token = /unlock-account\?token=([A-Za-z0-9_-]{43})/.exec((await env.smtp.nextMail(email)).decoded)?.[1];
    assert.ok(token, "an unlock link in the mail");

    assert.deepEqual(await inApp(tab, "return warden.unlockAccount(arg);", token), {
      message: "Sign-in is unlocked. You can log in now.",
    });
    assert.equal(
      (await inApp<{ error?: unknown }>(tab, "return warden.unlockAccount(arg);", token)).error !== undefined,
      true,
      "the token works once",
    );
    assert.equal((await loginIn(tab)).error, undefined, "in after the unlock");

    // Spent again, and the owner's browser moved to a new network: it is a known device now
    // (its cookie), a stranger's browser is not.
    await spendBudget();
    env.setClientAddress("203.0.113.21");
    assert.equal((await loginIn(tab)).error, undefined, "the owner's browser passes by its device cookie");
    env.setClientAddress("203.0.113.22");
    assert.equal((await loginIn(await openTab(stranger, { autoRefresh: "0" }))).error?.status, 429);
    assert.deepEqual(problems, []);
  } finally {
    env.setClientAddress(null);
    await owner.close();
    await stranger.close();
  }
});

test("the ten-line example in docs/examples/spa.html signs in and a second tab shows the user too", async () => {
  const email = "example.page@example.com";
  await env.w.createUser(email, PASSWORD);
  const context = await env.browser.newContext();
  try {
    const page = await context.newPage();
    const problems = watchForErrors(page);
    await page.goto(`${env.app.origin}/spa.html?${new URLSearchParams({ warden: env.base })}`);
    await page.locator("#out").filter({ hasText: "null" }).waitFor();
    await page.locator("input[name=email]").fill(email);
    await page.locator("input[name=password]").fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.locator("#out").filter({ hasText: email }).waitFor();
    const second = await context.newPage();
    await second.goto(`${env.app.origin}/spa.html?${new URLSearchParams({ warden: env.base })}`);
    await second.locator("#out").filter({ hasText: email }).waitFor();
    assert.deepEqual(
      problems.filter((p) => !/status of 40[01]/.test(p)),
      [],
    );
  } finally {
    await context.close();
  }
});
