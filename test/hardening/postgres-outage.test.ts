/**
 * Fault: PostgreSQL unreachable. Two Warden instances reach the machine's PostgreSQL through a
 * TCP proxy the test controls; cutting it resets every connection and refuses new ones.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { postgresEngine, redisUrl, skipReason } from "../helpers/engines.js";
import { startTcpProxy } from "../helpers/tcp-proxy.js";
import { FixedClock, postJson, startWarden, withBearer, type Warden } from "../helpers/warden.js";
import { authenticatorCode, challenge, enrolledUser } from "../mfa/mfa-helpers.js";
import { login as loginTokens } from "../helpers/login.js";
import { PageBrowser } from "../helpers/page-browser.js";
import { scrapeSum } from "../metrics/prometheus-text.js";

const skip = skipReason("postgres") ?? skipReason("redis");

async function timed<T>(run: () => Promise<T>): Promise<{ result: T; ms: number }> {
  const start = performance.now();
  const result = await run();
  return { result, ms: performance.now() - start };
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const start = Date.now();
  while (!(await check())) {
    if (Date.now() - start > timeoutMs) assert.fail(`${what}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** A fresh database on the machine's PostgreSQL, and its URL through a TCP proxy the test can cut. */
async function postgresBehindProxy() {
  const created = await postgresEngine.create();
  const direct = new URL(created.url);
  const proxy = await startTcpProxy(Number(direct.port || 5432), direct.hostname);
  const viaProxy = new URL(created.url);
  viaProxy.port = String(proxy.port);
  return { created, proxy, viaProxy };
}

test(
  "postgres unreachable: login, refresh, MFA and /me answer 503 with Retry-After within 5 s on two instances, /readyz follows, and both recover in the same process",
  { skip },
  async () => {
    const { created, proxy, viaProxy } = await postgresBehindProxy();
    const clock = new FixedClock(new Date());
    const limits = { LOGIN_RATE_LIMIT: "1000/60", MFA_RATE_LIMIT: "1000/60", REFRESH_RATE_LIMIT: "1000/60" };
    const instances: Warden[] = [];
    try {
      // A counts in Redis (so its domain code meets the outage), B in PostgreSQL (its limiter does).
      instances.push(
        await startWarden({ databaseUrl: viaProxy.toString(), clock, env: { ...limits, REDIS_URL: redisUrl()! } }),
      );
      instances.push(await startWarden({ databaseUrl: viaProxy.toString(), clock, env: limits }));
      const [a] = instances as [Warden, Warden];
      await a.createUser("plain@example.com", "correct horse battery staple");
      const mfa = await enrolledUser(a, clock, "mfa@example.com");

      const before = [];
      for (const w of instances) {
        const tokens = await loginTokens(w, "plain@example.com");
        before.push({ w, tokens, mfaToken: await challenge(w, "mfa@example.com") });
      }

      await proxy.cut();
      for (const { w, tokens, mfaToken } of before) {
        const calls = {
          login: () =>
            postJson(w.app, "/api/auth", { email: "plain@example.com", password: "correct horse battery staple" }),
          refresh: () => postJson(w.app, "/api/auth/token/refresh", { refresh_token: tokens.refresh_token }),
          mfa: () =>
            postJson(w.app, "/api/auth/mfa/verify", {
              mfaToken,
              code: authenticatorCode(mfa.secret, clock),
              type: "totp",
            }),
          me: () => withBearer(w, tokens.token, { method: "GET", url: "/api/v1/me" }),
        };
        for (const [name, call] of Object.entries(calls)) {
          const { result, ms } = await timed(call);
          assert.equal(result.status, 503, `${name}: ${result.raw}`);
          assert.equal(result.body.code, 503);
          assert.equal(typeof result.body.message, "string");
          assert.ok(Number(result.headers["retry-after"]) >= 1, `${name}: Retry-After`);
          assert.ok(ms < 5_000, `${name} answered after ${Math.round(ms)} ms`);
        }
        const ready = await w.app.inject({ url: "/readyz" });
        assert.equal(ready.statusCode, 503);
        assert.equal(ready.json().database, "unavailable");
        // /metrics needs no database: an operator sees the outage there while it lasts.
        assert.ok((await scrapeSum(w.app, "warden_database_errors_total")) >= 4, "each 503 counts a database error");
        assert.ok((await scrapeSum(w.app, "warden_http_requests_total", { status: "503" })) >= 4);
      }
      for (const w of instances)
        assert.equal(w.logLines.filter((line) => !line.startsWith("{")).length, 0, "every log line is JSON");

      await proxy.restore();
      for (const { w, tokens, mfaToken } of before) {
        await until("/readyz is 200 again", async () => (await w.app.inject({ url: "/readyz" })).statusCode === 200);
        // The refresh token was not spent by the failed attempts: the client carries on.
        const refreshed = await postJson(w.app, "/api/auth/token/refresh", { refresh_token: tokens.refresh_token });
        assert.equal(refreshed.status, 200, refreshed.raw);
        assert.equal((await withBearer(w, refreshed.body.token, { method: "GET", url: "/api/v1/me" })).status, 200);
        assert.equal((await withBearer(w, tokens.token, { method: "GET", url: "/api/v1/me" })).status, 200);
        const verified = await postJson(w.app, "/api/auth/mfa/verify", {
          mfaToken,
          code: authenticatorCode(mfa.secret, clock),
          type: "totp",
        });
        assert.equal(verified.status, 200, verified.raw);
        clock.advance(30); // the next instance needs a code of a step not yet spent
        assert.equal((await loginTokens(w, "plain@example.com")).token.split(".").length, 3);
      }
    } finally {
      for (const w of instances.reverse()) await w.close();
      await proxy.close();
      await created.drop();
    }
  },
);

test(
  "postgres connections reset under requests in flight: each login and refresh is answered 200 or 503, the process lives on, and it recovers",
  { skip },
  async () => {
    const { created, proxy, viaProxy } = await postgresBehindProxy();
    const w = await startWarden({
      databaseUrl: viaProxy.toString(),
      env: { LOGIN_RATE_LIMIT: "10000/60", REFRESH_RATE_LIMIT: "10000/60" },
    });
    try {
      const password = "correct horse battery staple";
      await w.createUser("busy@example.com", password);
      const login = () => postJson(w.app, "/api/auth", { email: "busy@example.com", password });
      // The cut lands at a different point of the requests' work each round: a connection in a
      // transaction, one between two statements, one just taken from the pool.
      for (const delayMs of [0, 2, 5, 10, 15, 20, 30, 40]) {
        await until("/readyz is 200", async () => (await w.app.inject({ url: "/readyz" })).statusCode === 200);
        const sessions = await Promise.all(Array.from({ length: 6 }, login));
        const inFlight = [
          ...Array.from({ length: 6 }, login),
          ...sessions.map((s) =>
            postJson(w.app, "/api/auth/token/refresh", { refresh_token: s.body.refresh_token as string }),
          ),
        ];
        await new Promise((resolve) => setTimeout(resolve, delayMs));
        await proxy.cut();
        const statuses = (await Promise.all(inFlight)).map((r) => r.status);
        assert.ok(
          statuses.every((status) => status === 200 || status === 503),
          `cut after ${delayMs} ms: ${statuses.join(",")}`,
        );
        await proxy.restore();
      }
      await until("/readyz is 200", async () => (await w.app.inject({ url: "/readyz" })).statusCode === 200);
      assert.equal((await login()).status, 200);
    } finally {
      await w.close();
      await proxy.close();
      await created.drop();
    }
  },
);

test(
  "postgres unreachable: the hosted pages answer 503 with Retry-After and say so, never 500, and work again once it is back",
  { skip },
  async () => {
    const { created, proxy, viaProxy } = await postgresBehindProxy();
    const w = await startWarden({ databaseUrl: viaProxy.toString() });
    try {
      await w.createUser("ana@example.com", "correct horse battery staple");
      const browser = new PageBrowser(w);
      const csrf = await browser.csrfOf("/login");
      const signIn = () =>
        browser.post("/login", { _csrf: csrf, email: "ana@example.com", password: "correct horse battery staple" });
      assert.equal((await signIn()).statusCode, 303);
      assert.equal((await browser.get("/account")).statusCode, 200);

      await proxy.cut();
      for (const page of [await browser.get("/account"), await signIn()]) {
        assert.equal(page.statusCode, 503, page.body);
        assert.equal(page.headers["retry-after"], "5");
        assert.match(page.body, /<h1>Not available right now<\/h1>/);
        assert.match(page.body, /Please try again in a few seconds\./);
      }
      assert.equal(w.logLines.filter((line) => line.includes('"level":50')).length, 0, "no error logged as a bug");

      await proxy.restore();
      await until("/readyz is 200", async () => (await w.app.inject({ url: "/readyz" })).statusCode === 200);
      assert.equal((await browser.get("/account")).statusCode, 200);
    } finally {
      await w.close();
      await proxy.close();
      await created.drop();
    }
  },
);
