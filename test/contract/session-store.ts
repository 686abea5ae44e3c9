/** SessionStore contract: sessions, their refresh-token families, rotation races, revocation. */
import assert from "node:assert/strict";
import crypto from "node:crypto";
import { after, describe, test } from "node:test";
import type { SessionStore, SuccessorToken } from "../../src/domain/sessions/ports.js";
import { atSeconds as at, lazily, newSession, T0, type OwnedStoreHarness } from "./harness.js";

const hash = () => crypto.randomBytes(32).toString("hex");
const DAY = 86400;
const successor = (expiresAt = at(30 * DAY)): SuccessorToken => ({
  tokenHash: hash(),
  expiresAt,
  successorEnc: "sealed",
});

export function sessionStoreContract(
  name: string,
  make: () => Promise<OwnedStoreHarness<SessionStore>>,
  options: { skip?: string } = {},
) {
  describe(name, { skip: options.skip }, () => {
    const harness = lazily(make);
    after(harness.close);

    /** A session with one refresh token. */
    async function openSession(
      userId: string,
      options: { endsIn?: number; tokenTtl?: number; createdAt?: Date; lastUsedAt?: Date; ip?: string | null } = {},
    ) {
      const { endsIn = 90 * DAY, tokenTtl = 30 * DAY, createdAt = T0, ip = "192.0.2.1" } = options;
      const lastUsedAt = options.lastUsedAt ?? createdAt;
      const { store } = await harness.open();
      const sessionId = crypto.randomUUID();
      const tokenHash = hash();
      await store.createSession(
        {
          id: sessionId,
          userId,
          createdAt,
          lastUsedAt,
          expiresAt: at(endsIn),
          ip,
          userAgent: "test-agent",
          authTime: createdAt,
          amr: ["pwd", "otp", "mfa"],
        },
        { tokenHash, expiresAt: at(tokenTtl) },
      );
      return { sessionId, tokenHash };
    }
    const fixture = async () => {
      const h = await harness.open();
      return { sessions: h.store, userId: await h.newUserId(), h };
    };

    test("findSessionWithUser: the session and its user in one read, as findSession reads the session; null when unknown", async () => {
      const { sessions, userId } = await fixture();
      const { sessionId } = await openSession(userId);
      const found = await sessions.findSessionWithUser(sessionId);
      assert.ok(found);
      assert.deepEqual(found.session, await sessions.findSession(sessionId));
      assert.equal(found.user.id, userId);
      assert.ok(found.user.createdAt instanceof Date && Array.isArray(found.user.roles));
      assert.equal(await sessions.findSessionWithUser(crypto.randomUUID()), null);
    });

    test("createSession stores the session (user, times, IP, user agent) and its first refresh token", async () => {
      const { sessions, userId } = await fixture();
      const { sessionId, tokenHash } = await openSession(userId, { ip: "203.0.113.7" });
      assert.deepEqual(await sessions.findSession(sessionId), {
        id: sessionId,
        userId,
        createdAt: T0,
        lastUsedAt: T0,
        expiresAt: at(90 * DAY),
        ip: "203.0.113.7",
        userAgent: "test-agent",
        revokedAt: null,
        revokedReason: null,
        authTime: T0,
        amr: ["pwd", "otp", "mfa"],
      });
      assert.deepEqual(await sessions.findRefreshToken(tokenHash), {
        tokenHash,
        sessionId,
        userId,
        createdAt: T0,
        expiresAt: at(30 * DAY),
        usedAt: null,
        successorHash: null,
        successorEnc: null,
      });
      assert.equal(await sessions.findSession(crypto.randomUUID()), null);
      assert.equal(await sessions.findRefreshToken(hash()), null);
    });

    test("a session whose token cannot be stored is not created either (one transaction)", async () => {
      const { sessions, userId } = await fixture();
      const { tokenHash } = await openSession(userId, { ip: null });
      const second = crypto.randomUUID();
      await assert.rejects(
        sessions.createSession(
          { ...newSession(second, userId, T0), expiresAt: at(600) },
          { tokenHash, expiresAt: at(600) },
        ),
      );
      assert.equal(await sessions.findSession(second), null);
    });

    // Rotation is a transaction: on PostgreSQL the pool runs these on several connections at once;
    // SQLite serialises writers (two SQLite connections on one event loop would deadlock, so one is used).
    test("of 30 concurrent rotations of one token exactly one wins", async () => {
      const { sessions, userId } = await fixture();
      const { sessionId, tokenHash } = await openSession(userId);
      const candidates = Array.from({ length: 30 }, () => successor());
      const results = await Promise.all(candidates.map((c) => sessions.rotateRefreshToken(tokenHash, c, at(60))));
      const winners = results.filter((r) => r.rotated);
      assert.equal(winners.length, 1);
      const winnerHash = candidates[results.indexOf(winners[0]!)]!.tokenHash;
      for (const r of results) {
        assert.equal(r.session?.id, sessionId, "each call sees the token's session");
        assert.equal(r.user?.id, userId, "and its user, read with it (the new access token's claims)");
      }
      for (const loser of results.filter((r) => !r.rotated)) {
        assert.equal(loser.token?.usedAt?.getTime(), at(60).getTime());
        assert.equal(loser.token?.successorHash, winnerHash, "every loser sees the one successor");
      }
      const stored = await Promise.all(candidates.map((c) => sessions.findRefreshToken(c.tokenHash)));
      assert.deepEqual(
        stored.filter(Boolean).map((t) => t!.tokenHash),
        [winnerHash],
        "exactly one successor was stored",
      );
      assert.equal(stored.find(Boolean)!.sessionId, sessionId);
      assert.equal((await sessions.findSession(sessionId))?.lastUsedAt.getTime(), at(60).getTime());
      // The successor is itself live and rotates once.
      assert.equal((await sessions.rotateRefreshToken(winnerHash, successor(), at(120))).rotated, true);
    });

    test("refuses unknown, expired, revoked-session and ended-session tokens without writing", async () => {
      const { sessions, userId } = await fixture();
      const unknown = await sessions.rotateRefreshToken(hash(), successor(), T0);
      assert.deepEqual(unknown, { rotated: false, token: null, session: null, user: null });

      const tried: SuccessorToken[] = [];
      const attempt = (tokenHash: string, now: Date) => {
        const next = successor();
        tried.push(next);
        return sessions.rotateRefreshToken(tokenHash, next, now);
      };

      const expired = await openSession(userId, { tokenTtl: 10 });
      const late = await attempt(expired.tokenHash, at(10));
      assert.equal(late.rotated, false);
      assert.equal(late.token?.usedAt, null, "an expired token is not marked spent");

      const revoked = await openSession(userId);
      assert.equal(await sessions.revokeSession(revoked.sessionId, "logout", at(1)), true);
      const afterRevoke = await attempt(revoked.tokenHash, at(3));
      assert.equal(afterRevoke.rotated, false);
      assert.equal(afterRevoke.session?.revokedReason, "logout");
      assert.equal(afterRevoke.token?.usedAt, null, "a token of a revoked session is not marked spent");

      const ended = await openSession(userId, { endsIn: 100, tokenTtl: 1000 });
      assert.equal((await attempt(ended.tokenHash, at(100))).rotated, false);

      for (const next of tried)
        assert.equal(await sessions.findRefreshToken(next.tokenHash), null, "no successor stored");
    });

    test("a successor never outlives its session", async () => {
      const { sessions, userId } = await fixture();
      const { tokenHash } = await openSession(userId, { endsIn: 3600, tokenTtl: 3600 });
      const next = successor(at(30 * DAY));
      assert.equal((await sessions.rotateRefreshToken(tokenHash, next, at(60))).rotated, true);
      assert.equal((await sessions.findRefreshToken(next.tokenHash))?.expiresAt.getTime(), at(3600).getTime());
    });

    test("revokeSession revokes once, with its time and reason", async () => {
      const { sessions, userId } = await fixture();
      const { sessionId } = await openSession(userId, { ip: null });
      assert.equal(await sessions.revokeSession(sessionId, "logout", at(60)), true);
      assert.equal(await sessions.revokeSession(sessionId, "logout", at(120)), false, "the second is a no-op");
      const s = await sessions.findSession(sessionId);
      assert.deepEqual(s!.revokedAt, at(60));
      assert.equal(s!.revokedReason, "logout");
    });

    test("concurrent revokeSession of one session: exactly one true", async () => {
      const { sessions, userId, h } = await fixture();
      const other = h.another();
      const { sessionId } = await openSession(userId);
      const results = await Promise.all(
        Array.from({ length: 6 }, (_, i) => (i % 2 ? other : sessions).revokeSession(sessionId, `r${i}`, at(60))),
      );
      assert.equal(results.filter(Boolean).length, 1);
    });

    test("revokeUserSessions revokes every live session of that user only, except the one named", async () => {
      const { sessions, userId, h } = await fixture();
      const bystanderId = await h.newUserId();
      const keep = await openSession(userId);
      const a = await openSession(userId);
      const b = await openSession(userId);
      const bystander = await openSession(bystanderId);
      assert.equal(await sessions.revokeUserSessions(userId, "password_changed", at(300), keep.sessionId), 2);
      assert.equal((await sessions.findSession(keep.sessionId))!.revokedAt, null);
      assert.equal((await sessions.findSession(a.sessionId))!.revokedReason, "password_changed");
      assert.deepEqual((await sessions.findSession(b.sessionId))!.revokedAt, at(300));
      assert.equal((await sessions.findSession(bystander.sessionId))!.revokedAt, null);
      assert.equal(await sessions.revokeUserSessions(userId, "deactivated", at(360)), 1);
      assert.equal(await sessions.revokeUserSessions(userId, "deactivated", at(420)), 0);
    });

    test("listLiveSessions shows only live ones, most recently used first; revokeUserSessions spares the excepted", async () => {
      const { sessions, userId } = await fixture();
      const keep = await openSession(userId, { lastUsedAt: at(5) });
      const other = await openSession(userId, { lastUsedAt: at(3) });
      const idle = await openSession(userId, { lastUsedAt: at(-40 * DAY) });
      const ended = await openSession(userId, { endsIn: 30 });
      const live = await sessions.listLiveSessions(userId, at(60), at(60 - 30 * DAY));
      assert.deepEqual(
        live.map((s) => s.id),
        [keep.sessionId, other.sessionId],
        "idle and ended sessions are not live",
      );
      assert.equal(await sessions.revokeUserSessions(userId, "password_changed", at(61), keep.sessionId), 3);
      const after = await sessions.listLiveSessions(userId, at(62), at(62 - 30 * DAY));
      assert.deepEqual(
        after.map((s) => s.id),
        [keep.sessionId],
      );
      assert.equal((await sessions.findSession(ended.sessionId))?.revokedReason, "password_changed");
      assert.equal((await sessions.findSession(idle.sessionId))?.revokedAt?.getTime(), at(61).getTime());
    });

    test("hasSessionFromIp: that user, that IP, since that time", async () => {
      const { sessions, userId, h } = await fixture();
      const otherId = await h.newUserId();
      await openSession(userId, { ip: "198.51.100.1", createdAt: at(6000) });
      assert.equal(await sessions.hasSessionFromIp(userId, "198.51.100.1", at(6000)), true);
      assert.equal(await sessions.hasSessionFromIp(userId, "198.51.100.1", at(6060)), false);
      assert.equal(await sessions.hasSessionFromIp(userId, "198.51.100.2", at(0)), false);
      assert.equal(await sessions.hasSessionFromIp(otherId, "198.51.100.1", at(0)), false);
    });
  });
}
