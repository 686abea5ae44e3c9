/** PasskeyStore contract: one owner per credential ID, and a counter advanced by one writer at a time. */
import assert from "node:assert/strict";
import crypto from "node:crypto";
import { after, describe, test } from "node:test";
import type { PasskeyRecord, PasskeyStore } from "../../src/domain/factors/passkeys/ports.js";
import { atSeconds as at, lazily, T0, type OwnedStoreHarness } from "./harness.js";

export const passkeyFixture = (userId: string, overrides: Partial<PasskeyRecord> = {}): PasskeyRecord => ({
  id: crypto.randomUUID(),
  userId,
  credentialId: crypto.randomBytes(16).toString("base64url"),
  publicKey: crypto.randomBytes(77).toString("base64url"),
  counter: 0,
  transports: ["internal", "hybrid"],
  deviceType: "singleDevice",
  isBackedUp: false,
  name: "Laptop",
  createdAt: T0,
  lastUsedAt: null,
  ...overrides,
});

export function passkeyStoreContract(
  name: string,
  make: () => Promise<OwnedStoreHarness<PasskeyStore>>,
  options: { skip?: string } = {},
) {
  describe(name, { skip: options.skip }, () => {
    const harness = lazily(make);
    after(harness.close);

    test("insert, find by credential ID, list and count per user", async () => {
      const h = await harness.open();
      const [userId, otherId] = [await h.newUserId(), await h.newUserId()];
      const first = passkeyFixture(userId, { deviceType: "multiDevice", isBackedUp: true });
      const second = passkeyFixture(userId, { createdAt: at(5) });
      assert.equal(await h.store.insert(first), true);
      assert.equal(await h.store.insert(second), true);
      await h.store.insert(passkeyFixture(otherId));
      assert.deepEqual(await h.store.findByCredentialId(first.credentialId), first);
      assert.deepEqual(await h.store.listForUser(userId), [first, second]);
      assert.equal(await h.store.countForUser(userId), 2);
      assert.equal(await h.store.findByCredentialId("nope"), null);
    });

    test("a credential ID has one owner: a second insert of it is refused, for anyone", async () => {
      const h = await harness.open();
      const [userId, otherId] = [await h.newUserId(), await h.newUserId()];
      const passkey = passkeyFixture(userId);
      assert.equal(await h.store.insert(passkey), true);
      assert.equal(await h.store.insert({ ...passkey, id: crypto.randomUUID() }), false);
      assert.equal(await h.store.insert({ ...passkey, id: crypto.randomUUID(), userId: otherId }), false);
      assert.equal(await h.store.countForUser(otherId), 0);
    });

    test("recordUse moves the counter only from the value read; two writers with one value: one wins", async () => {
      const h = await harness.open();
      const passkey = passkeyFixture(await h.newUserId(), { counter: 4 });
      await h.store.insert(passkey);
      assert.equal(await h.store.recordUse(passkey.id, 3, { counter: 9, isBackedUp: false }, at(1)), false);
      const results = await Promise.all([
        h.store.recordUse(passkey.id, 4, { counter: 5, isBackedUp: true }, at(2)),
        h.another().recordUse(passkey.id, 4, { counter: 5, isBackedUp: true }, at(2)),
      ]);
      assert.deepEqual(results.sort(), [false, true]);
      const after = await h.store.findByCredentialId(passkey.credentialId);
      assert.equal(after!.counter, 5);
      assert.equal(after!.isBackedUp, true);
      assert.deepEqual(after!.lastUsedAt, at(2));
    });

    test("rename only the owner's passkey, and read it back", async () => {
      const h = await harness.open();
      const [userId, otherId] = [await h.newUserId(), await h.newUserId()];
      const mine = passkeyFixture(userId);
      await h.store.insert(mine);
      assert.equal(await h.store.rename(otherId, mine.id, "Not yours"), null);
      const renamed = await h.store.rename(userId, mine.id, "Work laptop");
      assert.equal(renamed?.name, "Work laptop");
      assert.equal(renamed?.credentialId, mine.credentialId);
      assert.equal((await h.store.listForUser(userId))[0]!.name, "Work laptop");
    });

    test("delete only the owner's passkey; deleteAllForUser leaves others alone", async () => {
      const h = await harness.open();
      const [userId, otherId] = [await h.newUserId(), await h.newUserId()];
      const mine = passkeyFixture(userId);
      const theirs = passkeyFixture(otherId);
      await h.store.insert(mine);
      await h.store.insert(passkeyFixture(userId));
      await h.store.insert(theirs);
      assert.equal(await h.store.delete(userId, theirs.id), false);
      assert.equal(await h.store.delete(userId, mine.id), true);
      assert.equal(await h.store.delete(userId, mine.id), false);
      assert.equal(await h.store.deleteAllForUser(userId), 1);
      assert.equal(await h.store.countForUser(userId), 0);
      assert.equal(await h.store.countForUser(otherId), 1);
    });
  });
}
