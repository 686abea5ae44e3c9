/** FactorStore contract, on SQLite and PostgreSQL. */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { systemRandom } from "../../src/deps.js";
import type { FactorStore } from "../../src/domain/factors/ports.js";
import { createFactorStore } from "../../src/storage/factors.js";
import { insertUsers, openTestDatabase, type TestDatabase } from "../helpers/database.js";
import { engines } from "../helpers/engines.js";

const NOW = new Date("2026-01-15T10:00:00Z");
const LATER = new Date("2026-01-15T11:00:00Z");
let n = 0;

for (const { engine, skip } of engines) {
  describe(`FactorStore on ${engine.name}`, { skip }, () => {
    let t: TestDatabase;
    let factors: FactorStore;
    const newUserId = async () => (await insertUsers(t.database, `factor${++n}@example.com`))[0]!.id;
    before(async () => {
      t = await openTestDatabase(engine);
      factors = createFactorStore(t.database.db, systemRandom);
    });
    after(async () => t?.close());

    test("a pending factor is confirmed once, only while it is the latest setup, one confirmed per type", async () => {
      const userId = await newUserId();
      const first = await factors.savePending({ userId, type: "totp", secretEnc: "sealed-1" }, NOW);
      const second = await factors.savePending({ userId, type: "totp", secretEnc: "sealed-2" }, NOW);
      assert.notEqual(first.id, second.id);
      const listed = await factors.listForUser(userId);
      assert.equal(listed.length, 1, "a second setup replaces the first");
      assert.equal(listed[0]!.secretEnc, "sealed-2");
      assert.equal(listed[0]!.state, "pending");
      assert.equal(await factors.confirm(first.id, LATER), false, "the replaced setup");
      assert.equal(await factors.confirm(second.id, LATER), true);
      assert.equal(await factors.confirm(second.id, LATER), false, "already confirmed");
      const [confirmed] = await factors.listForUser(userId);
      assert.equal(confirmed!.state, "confirmed");
      assert.deepEqual(confirmed!.confirmedAt, LATER);

      const third = await factors.savePending({ userId, type: "totp", secretEnc: "sealed-3" }, LATER);
      assert.equal(await factors.confirm(third.id, LATER), false, "a user has one confirmed TOTP");
      assert.equal(await factors.removeAll(userId, "totp"), 2);
      assert.deepEqual(await factors.listForUser(userId), []);
    });

    test("of concurrent confirmations of one pending factor, from two connections, exactly one wins", async () => {
      const userId = await newUserId();
      const other = createFactorStore(t.openAnother().db, systemRandom);
      const pending = await factors.savePending({ userId, type: "totp", secretEnc: "sealed" }, NOW);
      const results = await Promise.all(
        Array.from({ length: 6 }, (_, i) => (i % 2 ? other : factors).confirm(pending.id, LATER)),
      );
      assert.equal(results.filter(Boolean).length, 1);
    });

    test("advanceStep accepts only newer steps and marks the factor used", async () => {
      const userId = await newUserId();
      const factor = await factors.addConfirmed({ userId, type: "totp", secretEnc: "sealed" }, NOW);
      assert.equal(await factors.advanceStep(factor.id, 100, LATER), true);
      assert.equal(await factors.advanceStep(factor.id, 100, LATER), false);
      assert.equal(await factors.advanceStep(factor.id, 99, LATER), false);
      assert.equal(await factors.advanceStep(factor.id, 101, LATER), true);
      const [back] = await factors.listForUser(userId);
      assert.equal(back!.lastStep, 101);
      assert.deepEqual(back!.lastUsedAt, LATER);
    });

    test("advanceStep with concurrent callers from two connections: exactly one true per step", async () => {
      const userId = await newUserId();
      const factor = await factors.addConfirmed({ userId, type: "totp", secretEnc: "sealed" }, NOW);
      const other = createFactorStore(t.openAnother().db, systemRandom);
      for (const step of [5000, 5001, 5002]) {
        const results = await Promise.all(
          Array.from({ length: 6 }, (_, i) => (i % 2 ? other : factors).advanceStep(factor.id, step, LATER)),
        );
        assert.equal(results.filter(Boolean).length, 1, `step ${step}`);
      }
    });

    test("several confirmed factors of a type that allows them; data round-trips; remove is the owner's only", async () => {
      const userId = await newUserId();
      const stranger = await newUserId();
      const a = await factors.addConfirmed({ userId, type: "passkey", name: "Key A", data: { counter: 0 } }, NOW);
      const b = await factors.addConfirmed({ userId, type: "passkey", name: "Key B", data: { counter: 7 } }, LATER);
      const listed = await factors.listForUser(userId);
      assert.deepEqual(
        listed.map((f) => [f.name, f.data, f.state]),
        [
          ["Key A", { counter: 0 }, "confirmed"],
          ["Key B", { counter: 7 }, "confirmed"],
        ],
      );
      assert.equal(await factors.remove(stranger, a.id), false);
      assert.equal(await factors.remove(userId, a.id), true);
      assert.equal(await factors.remove(userId, a.id), false);
      await factors.touch(b.id, LATER);
      assert.deepEqual((await factors.listForUser(userId))[0]!.lastUsedAt, LATER);
      assert.equal(await factors.removeAll(userId), 1);
    });
  });
}
