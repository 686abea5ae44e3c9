/** MfaChallengeStore contract: a login waiting for its second factor, its attempt budget, spent once. */
import assert from "node:assert/strict";
import crypto from "node:crypto";
import { after, describe, test } from "node:test";
import type { MfaChallengeStore } from "../../src/domain/factors/ports.js";
import { atSeconds as at, lazily, T0, type OwnedStoreHarness } from "./harness.js";

export function mfaChallengeStoreContract(
  name: string,
  make: () => Promise<OwnedStoreHarness<MfaChallengeStore>>,
  options: { skip?: string } = {},
) {
  describe(name, { skip: options.skip }, () => {
    const harness = lazily(make);
    after(harness.close);

    /** An open challenge of `userId`, ending 300 s after T0. */
    const issue = async (userId: string) => {
      const { store } = await harness.open();
      const tokenHash = crypto.randomBytes(32).toString("hex");
      await store.create({
        tokenHash,
        userId,
        createdAt: T0,
        expiresAt: at(300),
        ip: "192.0.2.1",
        userAgent: "ua",
        amr: ["fed"],
      });
      return tokenHash;
    };

    test("create then find: fresh challenge with no attempts, not consumed, with its first factor's amr", async () => {
      const h = await harness.open();
      const userId = await h.newUserId();
      const hash = await issue(userId);
      assert.deepEqual(await h.store.find(hash), {
        tokenHash: hash,
        userId,
        createdAt: T0,
        expiresAt: at(300),
        failedAttempts: 0,
        consumedAt: null,
        ip: "192.0.2.1",
        userAgent: "ua",
        amr: ["fed"],
      });
      assert.equal(await h.store.find("0".repeat(64)), null);
    });

    test("revokeForUser kills every open challenge of that user and no other", async () => {
      const h = await harness.open();
      const [userId, otherId] = [await h.newUserId(), await h.newUserId()];
      const a = await issue(userId);
      const b = await issue(userId);
      const theirs = await issue(otherId);
      await h.store.revokeForUser(userId, at(10));
      assert.deepEqual((await h.store.find(a))!.consumedAt, at(10));
      assert.deepEqual((await h.store.find(b))!.consumedAt, at(10));
      assert.equal((await h.store.find(theirs))!.consumedAt, null);
      await h.store.revokeForUser(userId, at(20));
      assert.deepEqual((await h.store.find(a))!.consumedAt, at(10), "an already consumed challenge keeps its time");
      assert.equal(await h.store.recordAttempt(a, at(30), 5), null, "a revoked challenge takes no answer");
    });

    test("recordAttempt counts up to the budget, then refuses; never on spent, expired or unknown challenges", async () => {
      const h = await harness.open();
      const userId = await h.newUserId();
      const hash = await issue(userId);
      assert.deepEqual(await h.store.recordAttempt(hash, at(1), 3), { userId, attempts: 1, amr: ["fed"] });
      assert.deepEqual(await h.store.recordAttempt(hash, at(2), 3), { userId, attempts: 2, amr: ["fed"] });
      assert.deepEqual(await h.store.recordAttempt(hash, at(3), 3), { userId, attempts: 3, amr: ["fed"] });
      assert.equal(await h.store.recordAttempt(hash, at(4), 3), null, "the budget is spent");
      assert.equal((await h.store.find(hash))!.failedAttempts, 3);

      const expiring = await issue(userId);
      assert.equal(await h.store.recordAttempt(expiring, at(300), 3), null, "expired at expiresAt");
      assert.equal((await h.store.find(expiring))!.failedAttempts, 0);

      const spent = await issue(userId);
      assert.equal(await h.store.consume(spent, at(5)), true);
      assert.equal(await h.store.recordAttempt(spent, at(6), 3), null);
      assert.equal(await h.store.recordAttempt("f".repeat(64), at(6), 3), null);
    });

    test("20 concurrent answers from two connections against a budget of 5: exactly 5 are let through", async () => {
      const h = await harness.open();
      const userId = await h.newUserId();
      const other = h.another();
      const hash = await issue(userId);
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => (i % 2 ? other : h.store).recordAttempt(hash, at(10), 5)),
      );
      const admitted = results.filter((r) => r !== null);
      assert.deepEqual(
        admitted.map((r) => r!.attempts).sort((x, y) => x - y),
        [1, 2, 3, 4, 5],
        "each admitted answer saw a distinct count",
      );
      assert.equal((await h.store.find(hash))!.failedAttempts, 5);
    });

    test("consume spends an open challenge once; never an expired one", async () => {
      const h = await harness.open();
      const userId = await h.newUserId();
      const hash = await issue(userId);
      assert.equal(await h.store.consume(hash, at(299)), true);
      assert.equal(await h.store.consume(hash, at(299)), false);
      assert.deepEqual((await h.store.find(hash))!.consumedAt, at(299));
      const expired = await issue(userId);
      assert.equal(await h.store.consume(expired, at(300)), false);
      assert.equal((await h.store.find(expired))!.consumedAt, null);
    });

    test("one challenge consumed at once from two connections: exactly one winner", async () => {
      const h = await harness.open();
      const userId = await h.newUserId();
      const other = h.another();
      const hash = await issue(userId);
      const results = await Promise.all(
        Array.from({ length: 6 }, (_, i) => (i % 2 ? other : h.store).consume(hash, at(10))),
      );
      assert.equal(results.filter(Boolean).length, 1);
    });
  });
}
