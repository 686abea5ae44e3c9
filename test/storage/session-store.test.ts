/** SessionStore contract (the methods that exist in the core), on SQLite and PostgreSQL. */
import assert from "node:assert/strict";
import crypto from "node:crypto";
import { after, before, describe, test } from "node:test";
import type { SessionStore, UserRecord } from "../../src/domain/ports.js";
import { createSessionStore } from "../../src/storage/sessions.js";
import { insertUsers, openTestDatabase, type TestDatabase } from "../helpers/database.js";
import { engines } from "../helpers/engines.js";

const T0 = new Date("2026-01-15T10:00:00Z");
const at = (minutes: number) => new Date(T0.getTime() + minutes * 60_000);

for (const { engine, skip } of engines) {
  describe(`SessionStore on ${engine.name}`, { skip }, () => {
    let t: TestDatabase;
    let sessions: SessionStore;
    let user: UserRecord;
    let other: UserRecord;
    const open = async (userId: string, ip: string | null, createdAt = T0) => {
      const id = crypto.randomUUID();
      await sessions.createSession(
        { id, userId, createdAt, lastUsedAt: createdAt, expiresAt: at(60 * 24 * 90), ip, userAgent: "test-agent" },
        { tokenHash: crypto.randomBytes(32).toString("hex"), expiresAt: at(60 * 24 * 30) },
      );
      return id;
    };

    before(async () => {
      t = await openTestDatabase(engine);
      sessions = createSessionStore(t.database.db, t.database.engine);
      [user, other] = await insertUsers(t.database, "s1@example.com", "s2@example.com");
    });
    after(async () => t?.close());

    test("createSession stores the session (user, times, IP, user agent) and its first refresh token", async () => {
      const id = await open(user.id, "203.0.113.7");
      const s = await sessions.findSession(id);
      assert.deepEqual(s, {
        id,
        userId: user.id,
        createdAt: T0,
        lastUsedAt: T0,
        expiresAt: at(60 * 24 * 90),
        ip: "203.0.113.7",
        userAgent: "test-agent",
        revokedAt: null,
        revokedReason: null,
      });
      const tokens = await t.database.db
        .selectFrom("refresh_tokens")
        .selectAll()
        .where("session_id", "=", id)
        .execute();
      assert.equal(tokens.length, 1);
      assert.match(tokens[0]!.token_hash, /^[0-9a-f]{64}$/);
      assert.equal(tokens[0]!.used_at, null);
      assert.equal(await sessions.findSession(crypto.randomUUID()), null);
    });

    test("a session whose token cannot be stored is not created either (one transaction)", async () => {
      const id = await open(user.id, null);
      const [token] = await t.database.db
        .selectFrom("refresh_tokens")
        .select("token_hash")
        .where("session_id", "=", id)
        .execute();
      const second = crypto.randomUUID();
      await assert.rejects(
        sessions.createSession(
          { id: second, userId: user.id, createdAt: T0, lastUsedAt: T0, expiresAt: at(10), ip: null, userAgent: null },
          { tokenHash: token!.token_hash, expiresAt: at(10) },
        ),
      );
      assert.equal(await sessions.findSession(second), null);
    });

    test("revokeSession revokes once", async () => {
      const id = await open(user.id, null);
      assert.equal(await sessions.revokeSession(id, "logout", at(1)), true);
      assert.equal(await sessions.revokeSession(id, "logout", at(2)), false);
      const s = await sessions.findSession(id);
      assert.deepEqual(s!.revokedAt, at(1));
      assert.equal(s!.revokedReason, "logout");
    });

    test("revokeUserSessions revokes every live session of that user only, except the one named", async () => {
      const keep = await open(other.id, null);
      const a = await open(other.id, null);
      const b = await open(other.id, null);
      const bystander = await open(user.id, null);
      assert.equal(await sessions.revokeUserSessions(other.id, "password_changed", at(5), keep), 2);
      assert.equal((await sessions.findSession(keep))!.revokedAt, null);
      assert.equal((await sessions.findSession(a))!.revokedReason, "password_changed");
      assert.deepEqual((await sessions.findSession(b))!.revokedAt, at(5));
      assert.equal((await sessions.findSession(bystander))!.revokedAt, null);
      assert.equal(await sessions.revokeUserSessions(other.id, "deactivated", at(6)), 1);
      assert.equal(await sessions.revokeUserSessions(other.id, "deactivated", at(7)), 0);
    });

    test("hasSessionFromIp: that user, that IP, since that time", async () => {
      await open(user.id, "198.51.100.1", at(100));
      assert.equal(await sessions.hasSessionFromIp(user.id, "198.51.100.1", at(100)), true);
      assert.equal(await sessions.hasSessionFromIp(user.id, "198.51.100.1", at(101)), false);
      assert.equal(await sessions.hasSessionFromIp(user.id, "198.51.100.2", at(0)), false);
      assert.equal(await sessions.hasSessionFromIp(other.id, "198.51.100.1", at(0)), false);
    });
  });
}
