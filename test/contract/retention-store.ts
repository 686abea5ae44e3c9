/**
 * RetentionStore contract: a purge deletes exactly what its cutoffs call old, each kind of row by
 * its own cutoff, says how many of each it deleted, and two instances purging at once delete
 * each row once. A purge reaches every table, so each test gets a database of its own.
 */
import assert from "node:assert/strict";
import crypto from "node:crypto";
import { describe, test } from "node:test";
import type { ApiKeyRecord, ApiKeyStore } from "../../src/domain/api-keys/ports.js";
import type { CounterStore } from "../../src/domain/security/ports.js";
import type { PurgeCounts, RetentionCutoffs, RetentionStore } from "../../src/domain/security/retention.js";
import type { Stores } from "../../src/domain/unit-of-work.js";
import { newSession, T0, type OwnedStoreHarness } from "./harness.js";

export interface RetentionStoreHarness extends OwnedStoreHarness<RetentionStore> {
  /** The stores whose rows the purge deletes, on the same database. */
  stores: Stores;
  apiKeys: ApiKeyStore;
  /** The rate-limit counters the purge clears; their windows run on the real clock. */
  counters: CounterStore;
}

const DAY_MS = 86_400_000;
const day = (n: number) => new Date(T0.getTime() + n * DAY_MS);
const hash = () => crypto.randomBytes(32).toString("hex");

/** Every cutoff at day `n` of the fixture's calendar, counters judged now; `over` moves some. */
const cutoffsAt = (n: number, over: Partial<RetentionCutoffs> = {}): RetentionCutoffs => ({
  tokensExpiredBefore: day(n),
  sessionsEndedBefore: day(n),
  apiKeysEndedBefore: day(n),
  eventsBefore: day(n),
  now: new Date(),
  ...over,
});

const NOTHING: PurgeCounts = {
  refreshTokens: 0,
  mfaChallenges: 0,
  emailTokens: 0,
  webauthnChallenges: 0,
  stepUpChallenges: 0,
  verificationTokens: 0,
  sessions: 0,
  apiKeys: 0,
  securityEvents: 0,
  counters: 0,
};

export function retentionStoreContract(
  name: string,
  make: () => Promise<RetentionStoreHarness>,
  options: { skip?: string } = {},
) {
  /** Each test on a fresh database: a purge deletes across all tables, so tests must not share one. */
  const withHarness = (run: (h: RetentionStoreHarness) => Promise<void>) => async () => {
    const h = await make();
    try {
      await run(h);
    } finally {
      await h.close();
    }
  };

  /** A session opened at T0 that ends at `endsAt`, with one refresh token expiring at `tokenExpiresAt`. */
  const openSession = async (h: RetentionStoreHarness, userId: string, endsAt: Date, tokenExpiresAt = endsAt) => {
    const id = crypto.randomUUID();
    const tokenHash = hash();
    await h.stores.sessions.createSession(
      { ...newSession(id, userId), expiresAt: endsAt },
      {
        tokenHash,
        expiresAt: tokenExpiresAt,
      },
    );
    return { id, tokenHash };
  };

  const newKey = async (h: RetentionStoreHarness, userId: string, expiresAt: Date | null = null) => {
    const key: ApiKeyRecord = {
      id: crypto.randomUUID(),
      userId,
      name: "ci",
      tokenHash: hash(),
      tokenPrefix: "af_000000000",
      scopes: [],
      createdAt: T0,
      expiresAt,
      lastUsedAt: null,
      revokedAt: null,
    };
    await h.apiKeys.insert(key);
    return key.id;
  };

  describe(name, { skip: options.skip }, () => {
    test(
      "an empty database: every kind is reported, none deleted",
      withHarness(async (h) => {
        assert.deepEqual(await h.store.purge(cutoffsAt(1000)), NOTHING);
      }),
    );

    test(
      "sessions revoked or ended before their cutoff go with their refresh tokens; recent and live ones stay",
      withHarness(async (h) => {
        const userId = await h.newUserId();
        const revokedLongAgo = await openSession(h, userId, day(60));
        await h.stores.sessions.revokeSession(revokedLongAgo.id, "logout", day(5));
        const endedLongAgo = await openSession(h, userId, day(5));
        const revokedRecently = await openSession(h, userId, day(60));
        await h.stores.sessions.revokeSession(revokedRecently.id, "logout", day(15));
        const live = await openSession(h, userId, day(60));

        // Tokens are judged by a cutoff of their own: before day 0 nothing expired.
        const counts = await h.store.purge(cutoffsAt(10, { tokensExpiredBefore: day(0) }));
        assert.deepEqual(counts, { ...NOTHING, sessions: 2, refreshTokens: 2 });
        for (const gone of [revokedLongAgo, endedLongAgo]) {
          assert.equal(await h.stores.sessions.findSession(gone.id), null);
          assert.equal(await h.stores.sessions.findRefreshToken(gone.tokenHash), null);
        }
        for (const kept of [revokedRecently, live]) {
          assert.ok(await h.stores.sessions.findSession(kept.id));
          assert.ok(await h.stores.sessions.findRefreshToken(kept.tokenHash));
        }
        assert.deepEqual(await h.store.purge(cutoffsAt(10, { tokensExpiredBefore: day(0) })), NOTHING, "idempotent");
      }),
    );

    test(
      "tokens and challenges that expired before the cutoff go, even in a live session; unexpired ones stay",
      withHarness(async (h) => {
        const userId = await h.newUserId();
        const session = await openSession(h, userId, day(60), day(5));
        const recentToken = await openSession(h, userId, day(60), day(15));
        const owner = { userId, sessionId: session.id };
        const [old, recent] = [
          { hash: hash(), expiresAt: day(5) },
          { hash: hash(), expiresAt: day(15) },
        ];
        for (const { hash: tokenHash, expiresAt } of [old, recent]) {
          await h.stores.mfaChallenges.create({
            tokenHash,
            userId,
            createdAt: T0,
            expiresAt,
            ip: null,
            userAgent: null,
            amr: ["pwd"],
          });
          await h.stores.emailTokens.create({ tokenHash, userId, purpose: "confirm", createdAt: T0, expiresAt });
          await h.stores.webauthnChallenges.create({
            challengeHash: tokenHash,
            ceremony: "step_up",
            userId,
            bindingHash: null,
            createdAt: T0,
            expiresAt,
          });
          await h.stores.stepUp.createChallenge({ tokenHash, ...owner, createdAt: T0, expiresAt });
          await h.stores.stepUp.createVerificationToken({
            tokenHash,
            ...owner,
            method: "totp",
            createdAt: T0,
            expiresAt,
          });
        }

        const counts = await h.store.purge(cutoffsAt(0, { tokensExpiredBefore: day(10) }));
        assert.deepEqual(counts, {
          ...NOTHING,
          refreshTokens: 1,
          mfaChallenges: 1,
          emailTokens: 1,
          webauthnChallenges: 1,
          stepUpChallenges: 1,
          verificationTokens: 1,
        });
        assert.equal(await h.stores.sessions.findRefreshToken(session.tokenHash), null);
        assert.ok(await h.stores.sessions.findSession(session.id), "the live session stays");
        assert.ok(await h.stores.sessions.findRefreshToken(recentToken.tokenHash));
        assert.equal(await h.stores.mfaChallenges.find(old.hash), null);
        assert.ok(await h.stores.mfaChallenges.find(recent.hash));
        // Asked at a time each was still valid: only a row that is still stored can answer.
        assert.equal(await h.stores.emailTokens.findLive(old.hash, "confirm", day(1)), null);
        assert.ok(await h.stores.emailTokens.findLive(recent.hash, "confirm", day(1)));
        assert.equal(await h.stores.stepUp.findOpenChallenge(old.hash, owner, day(1), 5), null);
        assert.ok(await h.stores.stepUp.findOpenChallenge(recent.hash, owner, day(1), 5));
        assert.equal(await h.stores.stepUp.consumeVerificationToken(old.hash, owner, day(1)), false);
        assert.equal(await h.stores.stepUp.consumeVerificationToken(recent.hash, owner, day(1)), true);
      }),
    );

    test(
      "API keys revoked or expired before their cutoff go; recently ended and live ones stay",
      withHarness(async (h) => {
        const userId = await h.newUserId();
        const revokedLongAgo = await newKey(h, userId);
        await h.apiKeys.revoke(userId, revokedLongAgo, day(5));
        const expiredLongAgo = await newKey(h, userId, day(5));
        const revokedRecently = await newKey(h, userId);
        await h.apiKeys.revoke(userId, revokedRecently, day(15));
        const expiredRecently = await newKey(h, userId, day(15));
        const live = await newKey(h, userId);
        const expiresLater = await newKey(h, userId, day(60));

        // Sessions and the rest are judged by cutoffs of their own: before day 0 nothing ended.
        const counts = await h.store.purge(cutoffsAt(0, { apiKeysEndedBefore: day(10) }));
        assert.deepEqual(counts, { ...NOTHING, apiKeys: 2 });
        for (const gone of [revokedLongAgo, expiredLongAgo])
          assert.equal(await h.apiKeys.findForUser(userId, gone), null);
        for (const kept of [revokedRecently, expiredRecently, live, expiresLater])
          assert.ok(await h.apiKeys.findForUser(userId, kept));
        assert.deepEqual(
          (await h.apiKeys.listForUser(userId)).map((k) => k.id).sort(),
          [revokedRecently, expiredRecently, live, expiresLater].sort(),
        );
      }),
    );

    test(
      "security events recorded before their cutoff go; later ones stay",
      withHarness(async (h) => {
        const userId = await h.newUserId();
        const event = (type: string) => ({ userId, type, ip: null, userAgent: null });
        await h.stores.events.record(event("login_success"), day(5));
        await h.stores.events.record(event("logout"), day(15));
        const counts = await h.store.purge(cutoffsAt(0, { eventsBefore: day(10) }));
        assert.deepEqual(counts, { ...NOTHING, securityEvents: 1 });
        assert.deepEqual(
          (await h.stores.events.listForUser(userId, 10)).map((e) => e.type),
          ["logout"],
        );
      }),
    );

    test(
      "rate-limit counters go once their window is over; a counter inside its window keeps its value",
      withHarness(async (h) => {
        await h.counters.increment("retention:short", 1, 1);
        await h.counters.increment("retention:long", 3, 3600);
        const afterShort = new Date(Date.now() + 5_000);
        assert.deepEqual(await h.store.purge(cutoffsAt(0, { now: afterShort })), { ...NOTHING, counters: 1 });
        assert.equal(await h.counters.get("retention:long", 3600), 3);
        const afterLong = new Date(Date.now() + 2 * 3_600_000);
        assert.deepEqual(await h.store.purge(cutoffsAt(0, { now: afterLong })), { ...NOTHING, counters: 1 });
      }),
    );

    test(
      "two instances purging at once delete each row once, together reporting it once",
      withHarness(async (h) => {
        const userId = await h.newUserId();
        for (let i = 0; i < 3; i++) {
          await openSession(h, userId, day(5));
          await h.apiKeys.revoke(userId, await newKey(h, userId), day(5));
          await h.stores.events.record({ userId, type: "logout", ip: null, userAgent: null }, day(5));
        }
        const cutoffs = cutoffsAt(10);
        const [a, b] = await Promise.all([h.store.purge(cutoffs), h.another().purge(cutoffs)]);
        for (const kind of ["sessions", "refreshTokens", "apiKeys", "securityEvents"] as const) {
          assert.equal(a[kind] + b[kind], 3, kind);
        }
        assert.deepEqual(await h.store.purge(cutoffs), NOTHING);
      }),
    );
  });
}
