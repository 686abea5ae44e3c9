import assert from "node:assert/strict";
import crypto from "node:crypto";
import { test } from "node:test";
import type { SecurityEventStore, SessionStore, SuccessorToken } from "../../src/domain/ports.js";
import { systemRandom } from "../../src/deps.js";
import { openDatabase, type Database } from "../../src/storage/database.js";
import { migrateToLatest } from "../../src/storage/migrations.js";
import { createSecurityEventStore } from "../../src/storage/security-events.js";
import { createSessionStore } from "../../src/storage/sessions.js";
import { createUserStore } from "../../src/storage/users.js";
import { engines } from "../helpers/engines.js";

const NOW = new Date("2026-01-15T10:00:00Z");
const at = (seconds: number) => new Date(NOW.getTime() + seconds * 1000);
const hash = () => crypto.randomBytes(32).toString("hex");

interface Fixture {
  database: Database;
  sessions: SessionStore;
  events: SecurityEventStore;
  userId: string;
  /** A session with one refresh token; returns both ids. */
  openSession(options?: {
    endsIn?: number;
    tokenTtl?: number;
    lastUsedAt?: Date;
  }): Promise<{ sessionId: string; tokenHash: string }>;
  tokensOf(sessionId: string): Promise<number>;
}

async function withStore(
  engine: (typeof engines)[number]["engine"],
  run: (f: Fixture) => Promise<void>,
): Promise<void> {
  const created = await engine.create();
  const database = openDatabase(created.url);
  try {
    await migrateToLatest(database.db);
    const user = await createUserStore(database.db, systemRandom).create(
      {
        email: `u${hash().slice(0, 8)}@example.com`,
        passwordHash: "x",
        roles: ["ROLE_USER"],
        emailConfirmedAt: NOW,
        deactivatedAt: null,
      },
      NOW,
    );
    const sessions = createSessionStore(database.db, database.engine);
    await run({
      database,
      sessions,
      events: createSecurityEventStore(database.db, systemRandom),
      userId: user!.id,
      async openSession({ endsIn = 90 * 86400, tokenTtl = 30 * 86400, lastUsedAt = NOW } = {}) {
        const sessionId = crypto.randomUUID();
        const tokenHash = hash();
        await sessions.createSession(
          {
            id: sessionId,
            userId: user!.id,
            createdAt: NOW,
            lastUsedAt,
            expiresAt: at(endsIn),
            ip: "192.0.2.1",
            userAgent: "test",
          },
          { tokenHash, expiresAt: at(tokenTtl) },
        );
        return { sessionId, tokenHash };
      },
      async tokensOf(sessionId) {
        const rows = await database.db
          .selectFrom("refresh_tokens")
          .select("token_hash")
          .where("session_id", "=", sessionId)
          .execute();
        return rows.length;
      },
    });
  } finally {
    await database.close();
    await created.drop();
  }
}

const successor = (expiresAt = at(30 * 86400)): SuccessorToken => ({
  tokenHash: hash(),
  expiresAt,
  successorEnc: "sealed",
});

for (const { engine, skip } of engines) {
  test(`${engine.name}: SessionStore: of 30 concurrent rotations of one token exactly one wins`, { skip }, async () => {
    await withStore(engine, async (f) => {
      const { sessionId, tokenHash } = await f.openSession();
      const candidates = Array.from({ length: 30 }, () => successor());
      const results = await Promise.all(candidates.map((c) => f.sessions.rotateRefreshToken(tokenHash, c, at(60))));
      const winners = results.filter((r) => r.rotated);
      assert.equal(winners.length, 1);
      const winnerHash = candidates[results.indexOf(winners[0]!)]!.tokenHash;
      for (const loser of results.filter((r) => !r.rotated)) {
        assert.equal(loser.token?.usedAt?.getTime(), at(60).getTime());
        assert.equal(loser.token?.successorHash, winnerHash, "every loser sees the one successor");
      }
      assert.equal(await f.tokensOf(sessionId), 2, "the spent token and exactly one successor");
      assert.equal((await f.sessions.findSession(sessionId))?.lastUsedAt.getTime(), at(60).getTime());
      // The successor is itself live and rotates once.
      assert.equal((await f.sessions.rotateRefreshToken(winnerHash, successor(), at(120))).rotated, true);
    });
  });

  test(
    `${engine.name}: SessionStore: refuses unknown, expired, revoked-session and ended-session tokens without writing`,
    { skip },
    async () => {
      await withStore(engine, async (f) => {
        const unknown = await f.sessions.rotateRefreshToken(hash(), successor(), NOW);
        assert.deepEqual(unknown, { rotated: false, token: null, session: null });

        const expired = await f.openSession({ tokenTtl: 10 });
        const late = await f.sessions.rotateRefreshToken(expired.tokenHash, successor(), at(10));
        assert.equal(late.rotated, false);
        assert.equal(late.token?.usedAt, null, "an expired token is not marked spent");

        const revoked = await f.openSession();
        assert.equal(await f.sessions.revokeSession(revoked.sessionId, "logout", at(1)), true);
        assert.equal(
          await f.sessions.revokeSession(revoked.sessionId, "logout", at(2)),
          false,
          "revoking twice reports the second as a no-op",
        );
        const afterRevoke = await f.sessions.rotateRefreshToken(revoked.tokenHash, successor(), at(3));
        assert.equal(afterRevoke.rotated, false);
        assert.equal(afterRevoke.session?.revokedReason, "logout");

        const ended = await f.openSession({ endsIn: 100, tokenTtl: 1000 });
        assert.equal((await f.sessions.rotateRefreshToken(ended.tokenHash, successor(), at(100))).rotated, false);

        for (const s of [expired, revoked, ended])
          assert.equal(await f.tokensOf(s.sessionId), 1, "no successor was stored");
      });
    },
  );

  test(`${engine.name}: SessionStore: a successor never outlives its session`, { skip }, async () => {
    await withStore(engine, async (f) => {
      const { tokenHash } = await f.openSession({ endsIn: 3600, tokenTtl: 3600 });
      const next = successor(at(30 * 86400));
      assert.equal((await f.sessions.rotateRefreshToken(tokenHash, next, at(60))).rotated, true);
      assert.equal((await f.sessions.findRefreshToken(next.tokenHash))?.expiresAt.getTime(), at(3600).getTime());
    });
  });

  test(
    `${engine.name}: SessionStore: revokeUserSessions spares the excepted session; listLiveSessions shows only live ones`,
    { skip },
    async () => {
      await withStore(engine, async (f) => {
        const keep = await f.openSession({ lastUsedAt: at(5) });
        const other = await f.openSession({ lastUsedAt: at(3) });
        const idle = await f.openSession({ lastUsedAt: at(-40 * 86400) });
        const ended = await f.openSession({ endsIn: 30 });
        const live = await f.sessions.listLiveSessions(f.userId, at(60), at(60 - 30 * 86400));
        assert.deepEqual(
          live.map((s) => s.id),
          [keep.sessionId, other.sessionId],
          "most recently used first; idle and ended sessions are not live",
        );
        assert.equal(await f.sessions.revokeUserSessions(f.userId, "password_changed", at(61), keep.sessionId), 3);
        const after = await f.sessions.listLiveSessions(f.userId, at(62), at(62 - 30 * 86400));
        assert.deepEqual(
          after.map((s) => s.id),
          [keep.sessionId],
        );
        assert.equal((await f.sessions.findSession(ended.sessionId))?.revokedReason, "password_changed");
        assert.equal((await f.sessions.findSession(idle.sessionId))?.revokedAt?.getTime(), at(61).getTime());
      });
    },
  );

  test(
    `${engine.name}: SecurityEventStore: newest first, ties broken by id, cursor pages without gaps or repeats`,
    { skip },
    async () => {
      await withStore(engine, async (f) => {
        for (let i = 0; i < 7; i++) {
          // Pairs share a timestamp, so the tie-break is exercised.
          await f.events.record(
            { userId: f.userId, type: `e${i}`, ip: "192.0.2.1", userAgent: "ua" },
            at(Math.floor(i / 2)),
          );
        }
        await f.events.record({ userId: null, type: "someone-else", ip: null, userAgent: null }, at(100));
        const all = await f.events.listForUser(f.userId, 100);
        assert.equal(all.length, 7);
        for (let i = 1; i < all.length; i++) {
          const [a, b] = [all[i - 1]!, all[i]!];
          assert.ok(a.createdAt > b.createdAt || (a.createdAt.getTime() === b.createdAt.getTime() && a.id > b.id));
        }
        const seen: string[] = [];
        let before: { createdAt: Date; id: string } | undefined;
        for (;;) {
          const page = await f.events.listForUser(f.userId, 3, before);
          if (page.length === 0) break;
          seen.push(...page.map((e) => e.id));
          before = page.at(-1);
        }
        assert.deepEqual(
          seen,
          all.map((e) => e.id),
        );
      });
    },
  );
}
