/**
 * Two Warden instances on one database (and one Redis): what one does to a key, it sees at once
 * and the other within its AUTH_CACHE_MS.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { engines, redisUrl, skipReason } from "../helpers/engines.js";
import { afterAuthCache, FixedClock, SHORT_AUTH_CACHE } from "../helpers/warden.js";
import { bearer, call, createKey, introspect, INVALID_KEY, startKeyWarden, userWithToken } from "./fixtures.js";

for (const { engine, skip } of engines) {
  const name = (s: string) => `${engine.name}: ${s}`;

  test(
    name(
      "revoke and rotate on one instance, and an admin's deactivation: seen at once there, within AUTH_CACHE_MS by another on the same database",
    ),
    { skip },
    async () => {
      const clock = new FixedClock();
      const a = await startKeyWarden({ engine, clock });
      const b = await startKeyWarden({ databaseUrl: a.deps.config.DATABASE_URL, clock, env: SHORT_AUTH_CACHE });
      try {
        const { token } = await userWithToken(a, "dev@example.com");
        const first = await createKey(a, token);
        const second = await createKey(a, token);
        // Both instances have just seen both keys alive, and remember it.
        for (const w of [a, b])
          for (const key of [first, second]) {
            assert.equal((await call(w, key.token, "GET", "/api/v1/me")).status, 200);
            assert.equal((await introspect(w, key.token)).body.active, true);
          }
        assert.equal((await call(a, bearer(token), "DELETE", `/api/v1/api-tokens/${first.id}`)).status, 204);
        assert.deepEqual((await call(a, first.token, "GET", "/api/v1/me")).body, INVALID_KEY, "A: at once");
        await afterAuthCache(b);
        assert.deepEqual((await call(b, first.token, "GET", "/api/v1/me")).body, INVALID_KEY);
        assert.deepEqual((await introspect(b, first.token)).body, { active: false });

        const rotated = await call(a, bearer(token), "POST", `/api/v1/api-tokens/${second.id}/rotate`);
        assert.equal(rotated.status, 201);
        assert.deepEqual((await call(a, second.token, "GET", "/api/v1/me")).body, INVALID_KEY, "A: at once");
        await afterAuthCache(b);
        assert.deepEqual((await call(b, second.token, "GET", "/api/v1/me")).body, INVALID_KEY);
        assert.deepEqual((await introspect(b, second.token)).body, { active: false });
        assert.equal((await call(b, rotated.body.token, "GET", "/api/v1/me")).status, 200);

        // An admin deactivates the user through the API on A: A refuses the user's token and key at
        // once, B within its AUTH_CACHE_MS.
        const admin = await userWithToken(a, "root@example.com", ["ROLE_ADMIN"]);
        const user = await a.deps.users.findByEmail("dev@example.com");
        assert.equal((await call(a, bearer(token), "GET", "/api/v1/me")).status, 200);
        assert.equal((await call(b, bearer(token), "GET", "/api/v1/me")).status, 200);
        const deactivated = await call(a, bearer(admin.token), "POST", `/api/admin/users/${user!.id}/deactivate`);
        assert.equal(deactivated.status, 200, deactivated.raw);
        const inactive = { code: 403, message: "Your account has been deactivated. Please contact support." };
        assert.deepEqual((await call(a, bearer(token), "GET", "/api/v1/me")).body, inactive, "A: at once");
        assert.deepEqual((await call(a, rotated.body.token, "GET", "/api/v1/me")).body, inactive, "A: at once");
        await afterAuthCache(b);
        assert.deepEqual((await call(b, bearer(token), "GET", "/api/v1/me")).body, inactive);
        assert.deepEqual((await call(b, rotated.body.token, "GET", "/api/v1/me")).body, inactive);
        assert.deepEqual((await introspect(b, rotated.body.token)).body, { active: false });
      } finally {
        await b.close();
        await a.close();
      }
    },
  );
}

test(
  "the per-key limit holds across two instances sharing Redis (and a second key has its own)",
  { skip: skipReason("redis") ?? skipReason("postgres") },
  async () => {
    const clock = new FixedClock(new Date("2026-01-15T10:00:05Z"));
    const env = {
      REDIS_URL: redisUrl()!,
      COUNTER_PREFIX: `keylimit${process.pid}x${Date.now()}`,
      API_KEY_RATE_LIMIT: "4/60",
    };
    const { postgresEngine } = await import("../helpers/engines.js");
    const a = await startKeyWarden({ engine: postgresEngine, clock, env });
    const b = await startKeyWarden({ databaseUrl: a.deps.config.DATABASE_URL, clock, env });
    try {
      assert.equal(a.deps.counters.kind, "redis");
      const { token } = await userWithToken(a, "dev@example.com");
      const key = await createKey(a, token);
      const other = await createKey(a, token);
      const statuses = [];
      for (let i = 0; i < 6; i++) statuses.push((await call(i % 2 ? b : a, key.token, "GET", "/api/v1/me")).status);
      // Counted per instance, all six would pass (three each).
      assert.deepEqual(statuses, [200, 200, 200, 200, 429, 429]);
      const limited = await call(b, key.token, "GET", "/api/v1/me");
      assert.equal(limited.status, 429);
      assert.ok(Number(limited.headers["retry-after"]) >= 1);
      assert.equal((await call(b, other.token, "GET", "/api/v1/me")).status, 200, "another key is not limited");
      clock.advance(120);
      assert.equal((await call(a, key.token, "GET", "/api/v1/me")).status, 200, "the window passed");
    } finally {
      await b.close();
      await a.close();
    }
  },
);
