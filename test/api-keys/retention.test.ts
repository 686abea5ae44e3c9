/** The retention purge deletes API keys RETENTION_DAYS_API_KEYS after they were revoked or expired. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { purgeExpired } from "../../src/domain/security/retention.js";
import { engines } from "../helpers/engines.js";
import { bearer, call, createKey, INVALID_KEY, loginAs, userWithToken, withKeyWarden } from "./fixtures.js";

const DAY_SECONDS = 86_400;

for (const { engine, skip } of engines) {
  test(
    `${engine.name}: the purge deletes API keys revoked or expired longer ago than RETENTION_DAYS_API_KEYS, and keeps the rest`,
    { skip },
    async () => {
      await withKeyWarden(engine, async (w) => {
        const inDays = (days: number) => new Date(w.clock.now().getTime() + days * DAY_SECONDS * 1000).toISOString();
        const { token } = await userWithToken(w, "keys@example.com");
        const revokedLongAgo = await createKey(w, token, { name: "revoked long ago" });
        const expiredLongAgo = await createKey(w, token, { name: "expired long ago", expiresAt: inDays(1) });
        const expiredRecently = await createKey(w, token, { name: "expired recently", expiresAt: inDays(20) });
        const live = await createKey(w, token, { name: "live" });
        assert.equal((await call(w, bearer(token), "DELETE", `/api/v1/api-tokens/${revokedLongAgo.id}`)).status, 204);

        w.clock.advance(25 * DAY_SECONDS);
        const later = (await loginAs(w, "keys@example.com")).token;
        const revokedRecently = await createKey(w, later, { name: "revoked recently" });
        assert.equal((await call(w, bearer(later), "DELETE", `/api/v1/api-tokens/${revokedRecently.id}`)).status, 204);

        // Day 31 and an hour: the first revocation (day 0) and expiry (day 1) are past the 30 days.
        w.clock.advance(6 * DAY_SECONDS + 3600);
        const counts = await purgeExpired(w.deps);
        assert.equal(counts.apiKeys, 2);

        const now = (await loginAs(w, "keys@example.com")).token;
        const list = await call(w, bearer(now), "GET", "/api/v1/api-tokens");
        assert.equal(list.status, 200, list.raw);
        assert.deepEqual(
          list.body.data.map((k: { id: string }) => k.id).sort(),
          [expiredRecently.id, live.id, revokedRecently.id].sort(),
          "the recently ended keys are still listed; the old ones are gone",
        );
        const me = await call(w, live.token, "GET", "/api/v1/me");
        assert.equal(me.status, 200, "the live key still works");
        for (const gone of [revokedLongAgo, expiredLongAgo]) {
          const refused = await call(w, gone.token, "GET", "/api/v1/me");
          assert.deepEqual([refused.status, refused.body], [403, INVALID_KEY], "refused as before, now as unknown");
        }
        assert.equal((await purgeExpired(w.deps)).apiKeys, 0, "a second purge finds nothing");

        // 30 more days: the recent ones go too; the live key never does.
        w.clock.advance(30 * DAY_SECONDS);
        assert.equal((await purgeExpired(w.deps)).apiKeys, 2);
        assert.equal((await call(w, live.token, "GET", "/api/v1/me")).status, 200);
      });
    },
  );

  test(`${engine.name}: RETENTION_DAYS_API_KEYS sets how long an ended key is kept`, { skip }, async () => {
    await withKeyWarden(
      engine,
      async (w) => {
        const { token } = await userWithToken(w, "short@example.com");
        const key = await createKey(w, token);
        assert.equal((await call(w, bearer(token), "DELETE", `/api/v1/api-tokens/${key.id}`)).status, 204);
        w.clock.advance(2 * DAY_SECONDS - 60);
        assert.equal((await purgeExpired(w.deps)).apiKeys, 0, "kept for two days");
        w.clock.advance(120);
        assert.equal((await purgeExpired(w.deps)).apiKeys, 1);
      },
      { RETENTION_DAYS_API_KEYS: "2" },
    );
  });
}
