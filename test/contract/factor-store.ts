/** FactorStore contract: a user's second factors, enrolment (pending -> confirmed) and single-use TOTP steps. */
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import type { FactorStore } from "../../src/domain/factors/ports.js";
import { atSeconds, lazily, type OwnedStoreHarness } from "./harness.js";

const NOW = atSeconds(0);
const LATER = atSeconds(3600);

export function factorStoreContract(
  name: string,
  make: () => Promise<OwnedStoreHarness<FactorStore>>,
  options: { skip?: string } = {},
) {
  describe(name, { skip: options.skip }, () => {
    const harness = lazily(make);
    after(harness.close);
    /** A TOTP factor in use, as an enrolment leaves it. */
    const confirmedTotp = async (h: OwnedStoreHarness<FactorStore>, userId: string) => {
      const pending = await h.store.savePending({ userId, type: "totp", secretEnc: "sealed" }, NOW);
      assert.equal(await h.store.confirm(pending.id, NOW), true);
      return pending;
    };

    test("a pending factor is confirmed once, only while it is the latest setup, one confirmed per type", async () => {
      const h = await harness.open();
      const userId = await h.newUserId();
      const first = await h.store.savePending({ userId, type: "totp", secretEnc: "sealed-1" }, NOW);
      const second = await h.store.savePending({ userId, type: "totp", secretEnc: "sealed-2" }, NOW);
      assert.notEqual(first.id, second.id);
      const listed = await h.store.listForUser(userId);
      assert.equal(listed.length, 1, "a second setup replaces the first");
      assert.equal(listed[0]!.secretEnc, "sealed-2");
      assert.equal(listed[0]!.state, "pending");
      assert.equal(await h.store.confirm(first.id, LATER), false, "the replaced setup");
      assert.equal(await h.store.confirm(second.id, LATER), true);
      assert.equal(await h.store.confirm(second.id, LATER), false, "already confirmed");
      const [confirmed] = await h.store.listForUser(userId);
      assert.equal(confirmed!.state, "confirmed");
      assert.deepEqual(confirmed!.confirmedAt, LATER);

      const third = await h.store.savePending({ userId, type: "totp", secretEnc: "sealed-3" }, LATER);
      assert.equal(await h.store.confirm(third.id, LATER), false, "a user has one confirmed TOTP");
      assert.equal(await h.store.removeAll(userId, "totp"), 2);
      assert.deepEqual(await h.store.listForUser(userId), []);
    });

    test("of concurrent confirmations of one pending factor, from two connections, exactly one wins", async () => {
      const h = await harness.open();
      const userId = await h.newUserId();
      const other = h.another();
      const pending = await h.store.savePending({ userId, type: "totp", secretEnc: "sealed" }, NOW);
      const results = await Promise.all(
        Array.from({ length: 6 }, (_, i) => (i % 2 ? other : h.store).confirm(pending.id, LATER)),
      );
      assert.equal(results.filter(Boolean).length, 1);
    });

    test("advanceStep accepts only newer steps and marks the factor used", async () => {
      const h = await harness.open();
      const userId = await h.newUserId();
      const factor = await confirmedTotp(h, userId);
      assert.equal(await h.store.advanceStep(factor.id, 100, LATER), true);
      assert.equal(await h.store.advanceStep(factor.id, 100, LATER), false);
      assert.equal(await h.store.advanceStep(factor.id, 99, LATER), false);
      assert.equal(await h.store.advanceStep(factor.id, 101, LATER), true);
      const [back] = await h.store.listForUser(userId);
      assert.equal(back!.lastStep, 101);
      assert.deepEqual(back!.lastUsedAt, LATER);
    });

    test("advanceStep with concurrent callers from two connections: exactly one true per step", async () => {
      const h = await harness.open();
      const userId = await h.newUserId();
      const factor = await confirmedTotp(h, userId);
      const other = h.another();
      for (const step of [5000, 5001, 5002]) {
        const results = await Promise.all(
          Array.from({ length: 6 }, (_, i) => (i % 2 ? other : h.store).advanceStep(factor.id, step, LATER)),
        );
        assert.equal(results.filter(Boolean).length, 1, `step ${step}`);
      }
    });

    test("listing is the user's own; removeAll takes one type, or every factor without one", async () => {
      const h = await harness.open();
      const userId = await h.newUserId();
      const stranger = await h.newUserId();
      await confirmedTotp(h, userId);
      await h.store.savePending({ userId, type: "other", secretEnc: "sealed-other" }, LATER);
      await h.store.savePending({ userId: stranger, type: "totp", secretEnc: "theirs" }, NOW);
      assert.deepEqual(
        (await h.store.listForUser(userId)).map((f) => [f.type, f.state, f.userId]),
        [
          ["totp", "confirmed", userId],
          ["other", "pending", userId],
        ],
        "oldest first",
      );
      assert.equal(await h.store.removeAll(userId, "totp"), 1);
      assert.deepEqual(
        (await h.store.listForUser(userId)).map((f) => f.type),
        ["other"],
      );
      assert.equal(await h.store.removeAll(userId), 1);
      assert.deepEqual(await h.store.listForUser(userId), []);
      assert.equal((await h.store.listForUser(stranger)).length, 1, "another user's factors stay");
    });
  });
}
