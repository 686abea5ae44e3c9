/** Login rate limits: the sliding window, per-IP keys, TRUST_PROXY, and the per-account budget. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { SlidingWindowLimiter, secondsUntilAllowed } from "../../src/domain/security/rate-limits.js";
import { clientKey } from "../../src/http/rate-limit.js";
import { createCounters } from "../../src/storage/counters.js";
import { postgresEngine, redisUrl, skipReason } from "../helpers/engines.js";
import { FixedClock, postJson, startWarden, type StartOptions, type Warden } from "../helpers/warden.js";

const RULE = { points: 5, durationSeconds: 60 };
const PASSWORD = "correct horse battery";

/** Counts password verifications, so a test can tell whether a request reached the hash. */
function countVerifications(w: Warden): { count: number } {
  const counter = { count: 0 };
  const verify = w.deps.hasher.verify.bind(w.deps.hasher);
  w.deps.hasher.verify = (hash, password) => {
    counter.count++;
    return verify(hash, password);
  };
  return counter;
}

describe("SlidingWindowLimiter", () => {
  test("5 per minute: the 6th is refused, and refused requests are not counted", async () => {
    const clock = new FixedClock(new Date("2026-01-15T10:00:00Z"));
    const limiter = new SlidingWindowLimiter(await createCounters({ kind: "memory", prefix: "unit1" }), clock);
    const decisions = [];
    for (let i = 0; i < 7; i++) decisions.push(await limiter.hit("login", RULE, "ip"));
    assert.deepEqual(
      decisions.map((d) => d.allowed),
      [true, true, true, true, true, false, false],
    );
    assert.deepEqual(
      decisions.map((d) => d.remaining),
      [4, 3, 2, 1, 0, 0, 0],
    );
    assert.equal(decisions[5]!.limit, 5);
    assert.equal(decisions[5]!.windowSeconds, 60);
    // A full window weighs (5 - 1) / 5 once it is the previous one: one more fits as it ends,
    // never later than one window (it was 72 s on a 5/60 s limit).
    assert.equal(decisions[5]!.retryAfterSeconds, 60);
    assert.equal(decisions[5]!.resetSeconds, 60, "ratelimit-reset agrees with Retry-After");
    assert.equal(decisions[6]!.retryAfterSeconds, 60, "the refused 6th did not make the wait longer");
    clock.advance(59);
    assert.equal((await limiter.hit("login", RULE, "ip")).allowed, false);
    clock.advance(1);
    assert.equal((await limiter.hit("login", RULE, "ip")).allowed, true);
    assert.equal((await limiter.hit("login", RULE, "ip")).allowed, false, "only one: the previous window still weighs");
    assert.equal((await limiter.hit("login", RULE, "other-ip")).allowed, true, "keys count apart");
  });

  test("the window slides: a burst at the end of one minute still counts early in the next", async () => {
    const clock = new FixedClock(new Date("2026-01-15T10:00:50Z"));
    const limiter = new SlidingWindowLimiter(await createCounters({ kind: "memory", prefix: "unit2" }), clock);
    for (let i = 0; i < 5; i++) assert.equal((await limiter.hit("login", RULE, "ip")).allowed, true);
    clock.advance(15); // 10:01:05, a fixed window would have reset
    // 5 * (1 - f) * 4/5 = 3.67 still counts: one more fits, a second does not.
    assert.equal((await limiter.hit("login", RULE, "ip")).allowed, true);
    const next = await limiter.hit("login", RULE, "ip");
    assert.equal(next.allowed, false);
    assert.equal(next.retryAfterSeconds, 10, "5 * (1 - f) * 4/5 + 1 + 1 <= 5 once f = 0.25, at 10:01:15");
  });

  test("check counts nothing; record counts without asking", async () => {
    const clock = new FixedClock();
    const limiter = new SlidingWindowLimiter(await createCounters({ kind: "memory", prefix: "unit3" }), clock);
    const rule = { points: 3, durationSeconds: 3600 };
    for (let i = 0; i < 5; i++) assert.equal((await limiter.check("acct", rule, "a@x")).allowed, true);
    for (let i = 0; i < 3; i++) await limiter.record("acct", rule, "a@x");
    const refused = await limiter.check("acct", rule, "a@x");
    assert.equal(refused.allowed, false);
    assert.ok(refused.retryAfterSeconds > 0);
  });

  test("secondsUntilAllowed", () => {
    // Empty previous window, full current one at its start: the next window, never later.
    assert.equal(secondsUntilAllowed(5, 0, 5, 0, 60_000), 60);
    // Full previous window, nothing in this one, 30 s in: it weighs 5 * 0.5 * 4/5 = 2, room already.
    assert.equal(secondsUntilAllowed(5, 5, 0, 0.5, 60_000), 1);
    // Previous 10 (counted without asking), current 0, at the start: 10 * (1 - f) * 4/5 <= 4 at f = 0.5.
    assert.equal(secondsUntilAllowed(5, 10, 0, 0, 60_000), 30);
    // Never below one second.
    assert.equal(secondsUntilAllowed(5, 0, 0, 0.999, 60_000), 1);
  });
});

describe("clientKey", () => {
  test("IPv4 as is, IPv4-mapped IPv6 as IPv4, IPv6 per /64", () => {
    assert.equal(clientKey("203.0.113.9"), "203.0.113.9");
    assert.equal(clientKey("::ffff:203.0.113.9"), "203.0.113.9");
    assert.equal(clientKey("2001:db8:1:2::1"), clientKey("2001:db8:1:2:ffff:ffff:ffff:ffff"));
    assert.notEqual(clientKey("2001:db8:1:2::1"), clientKey("2001:db8:1:3::1"));
  });
});

/** Six logins from one address: five answered, the sixth 429 with its headers and without a hash. */
async function assertSixthRefused(options: StartOptions) {
  const w = await startWarden(options);
  try {
    await w.createUser("rl@example.com", PASSWORD);
    const hashes = countVerifications(w);
    const from = { remoteAddress: "198.51.100.20" };
    for (let i = 1; i <= 5; i++) {
      const r = await postJson(
        w.app,
        "/api/auth",
        { email: "rl@example.com", password: i === 5 ? PASSWORD : "wrong" },
        {},
        from,
      );
      assert.equal(r.status, i === 5 ? 200 : 401, `attempt ${i}`);
      assert.equal(r.headers["ratelimit-remaining"], String(5 - i));
    }
    assert.equal(hashes.count, 5);
    const sixth = await postJson(w.app, "/api/auth", { email: "rl@example.com", password: PASSWORD }, {}, from);
    assert.equal(sixth.status, 429);
    assert.deepEqual(sixth.body, { code: 429, message: "Too many requests. Please try again later." });
    assert.ok(Number(sixth.headers["retry-after"]) >= 1, "Retry-After");
    assert.equal(sixth.headers["ratelimit-limit"], "5");
    assert.equal(sixth.headers["ratelimit-remaining"], "0");
    assert.ok(Number(sixth.headers["ratelimit-reset"]) >= 1);
    assert.equal(sixth.headers["ratelimit-policy"], "5;w=60");
    assert.equal(hashes.count, 5, "the 6th was answered before any hashing");
    // Even a malformed 6th request is refused by the limit, not parsed.
    const junk = await w.app.inject({
      method: "POST",
      url: "/api/auth",
      payload: "{",
      headers: { "content-type": "application/json" },
      ...from,
    });
    assert.equal(junk.statusCode, 429);
    const elsewhere = await postJson(
      w.app,
      "/api/auth",
      { email: "rl@example.com", password: PASSWORD },
      {},
      { remoteAddress: "198.51.100.21" },
    );
    assert.equal(elsewhere.status, 200, "another IP is not affected");
  } finally {
    await w.close();
  }
}

describe("the 6th login from one IP within a minute gets 429", () => {
  test("counters in memory", () => assertSixthRefused({ databaseUrl: "sqlite::memory:" }));
  test("counters in the SQLite file", () => assertSixthRefused({}));
  test("counters in PostgreSQL", { skip: skipReason("postgres") }, () =>
    assertSixthRefused({ engine: postgresEngine }),
  );
  test("counters in Redis", { skip: skipReason("redis") }, () =>
    assertSixthRefused({ env: { REDIS_URL: redisUrl()! } }),
  );
});

describe("the client IP", () => {
  const attempt = (w: Warden, headers: Record<string, string>, remoteAddress = "127.0.0.1") =>
    postJson(w.app, "/api/auth", { email: "nobody@example.com", password: "x" }, headers, { remoteAddress });

  test("TRUST_PROXY=false: X-Forwarded-For is ignored, the socket address counts", async () => {
    const w = await startWarden({ databaseUrl: "sqlite::memory:" });
    try {
      const statuses = [];
      for (let i = 0; i < 6; i++) statuses.push((await attempt(w, { "x-forwarded-for": `203.0.113.${i}` })).status);
      assert.deepEqual(statuses, [401, 401, 401, 401, 401, 429]);
    } finally {
      await w.close();
    }
  });

  test("a trusted proxy's X-Forwarded-For counts, an untrusted sender's does not, and sessions record the client", async () => {
    const w = await startWarden({ databaseUrl: "sqlite::memory:", env: { TRUST_PROXY: "10.0.0.0/8" } });
    try {
      const viaProxy = [];
      for (let i = 0; i < 6; i++)
        viaProxy.push((await attempt(w, { "x-forwarded-for": `203.0.113.${i}` }, "10.0.0.5")).status);
      assert.deepEqual(viaProxy, [401, 401, 401, 401, 401, 401], "six clients behind the proxy, one attempt each");
      const oneClient = [];
      for (let i = 0; i < 6; i++)
        oneClient.push((await attempt(w, { "x-forwarded-for": "203.0.113.77" }, "10.0.0.6")).status);
      assert.equal(oneClient.at(-1), 429, "one client through two proxy hosts is still one client");
      const spoofed = [];
      for (let i = 0; i < 6; i++)
        spoofed.push((await attempt(w, { "x-forwarded-for": `192.0.2.${i}` }, "198.51.100.9")).status);
      assert.equal(spoofed.at(-1), 429, "a direct client cannot pick its address");

      await w.createUser("proxied@example.com", PASSWORD);
      const ok = await postJson(
        w.app,
        "/api/auth",
        { email: "proxied@example.com", password: PASSWORD },
        { "x-forwarded-for": "203.0.113.200" },
        { remoteAddress: "10.0.0.5" },
      );
      assert.equal(ok.status, 200);
      const [session] = await w.deps.database.db.selectFrom("sessions").select("ip").execute();
      assert.equal(session!.ip, "203.0.113.200");
    } finally {
      await w.close();
    }
  });

  test("IPv6 addresses in one /64 share a counter", async () => {
    const w = await startWarden({ databaseUrl: "sqlite::memory:" });
    try {
      const statuses = [];
      for (let i = 1; i <= 6; i++) statuses.push((await attempt(w, {}, `2001:db8:aa:bb::${i}`)).status);
      assert.deepEqual(statuses, [401, 401, 401, 401, 401, 429]);
      assert.equal((await attempt(w, {}, "2001:db8:aa:bc::1")).status, 401, "the next /64 is another client");
    } finally {
      await w.close();
    }
  });
});

test("account budget: after ACCOUNT_FAILURE_LIMIT failures new IPs get 429, the owner's known IP still logs in", async () => {
  const clock = new FixedClock();
  const w = await startWarden({ clock, env: { ACCOUNT_FAILURE_LIMIT: "3/3600" } });
  try {
    await w.createUser("owner@example.com", PASSWORD);
    const tryLogin = (password: string, remoteAddress: string) =>
      postJson(w.app, "/api/auth", { email: "owner@example.com", password }, {}, { remoteAddress });
    assert.equal((await tryLogin(PASSWORD, "192.0.2.1")).status, 200, "the owner's device");
    for (const ip of ["203.0.113.1", "203.0.113.2", "203.0.113.3"])
      assert.equal((await tryLogin("guess", ip)).status, 401);

    const hashes = countVerifications(w);
    const throttled = await tryLogin(PASSWORD, "203.0.113.4");
    assert.equal(throttled.status, 429);
    assert.deepEqual(throttled.body, {
      code: 429,
      message: "Too many failed login attempts for this account. Please try again later.",
    });
    assert.ok(Number(throttled.headers["retry-after"]) > 0);
    assert.equal(hashes.count, 0, "refused before hashing");
    assert.equal((await tryLogin("guess", "203.0.113.5")).status, 429, "a guess from a new IP too");

    assert.equal((await tryLogin(PASSWORD, "192.0.2.1")).status, 200, "the owner is not locked out");
    // The budget refills as the window slides: a delay, not a lock.
    clock.advance(2 * 3600);
    assert.equal((await tryLogin(PASSWORD, "203.0.113.6")).status, 200);
  } finally {
    await w.close();
  }
});
