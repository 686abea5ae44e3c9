/** MfaChallengeStore contract (the methods that exist in the core), on SQLite and PostgreSQL. */
import assert from "node:assert/strict";
import crypto from "node:crypto";
import { after, before, describe, test } from "node:test";
import type { MfaChallengeStore, UserRecord } from "../../src/domain/ports.js";
import { createMfaChallengeStore } from "../../src/storage/mfa-challenges.js";
import { insertUsers, openTestDatabase, type TestDatabase } from "../helpers/database.js";
import { engines } from "../helpers/engines.js";

const T0 = new Date("2026-01-15T10:00:00Z");
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

for (const { engine, skip } of engines) {
  describe(`MfaChallengeStore on ${engine.name}`, { skip }, () => {
    let t: TestDatabase;
    let challenges: MfaChallengeStore;
    let user: UserRecord;
    let other: UserRecord;
    const issue = async (userId: string) => {
      const tokenHash = crypto.randomBytes(32).toString("hex");
      await challenges.create({
        tokenHash,
        userId,
        createdAt: T0,
        expiresAt: at(300),
        ip: "192.0.2.1",
        userAgent: "ua",
      });
      return tokenHash;
    };

    before(async () => {
      t = await openTestDatabase(engine);
      challenges = createMfaChallengeStore(t.database.db);
      [user, other] = await insertUsers(t.database, "m1@example.com", "m2@example.com");
    });
    after(async () => t?.close());

    test("create then find: fresh challenge with no attempts, not consumed", async () => {
      const hash = await issue(user.id);
      assert.deepEqual(await challenges.find(hash), {
        tokenHash: hash,
        userId: user.id,
        createdAt: T0,
        expiresAt: at(300),
        failedAttempts: 0,
        consumedAt: null,
        ip: "192.0.2.1",
        userAgent: "ua",
      });
      assert.equal(await challenges.find("0".repeat(64)), null);
    });

    test("revokeForUser kills every open challenge of that user and no other", async () => {
      const a = await issue(user.id);
      const b = await issue(user.id);
      const theirs = await issue(other.id);
      await challenges.revokeForUser(user.id, at(10));
      assert.deepEqual((await challenges.find(a))!.consumedAt, at(10));
      assert.deepEqual((await challenges.find(b))!.consumedAt, at(10));
      assert.equal((await challenges.find(theirs))!.consumedAt, null);
      await challenges.revokeForUser(user.id, at(20));
      assert.deepEqual((await challenges.find(a))!.consumedAt, at(10), "an already consumed challenge keeps its time");
    });
  });
}
