/** BackupCodeStore contract: a user's set of keyed code hashes, each spent at most once. */
import assert from "node:assert/strict";
import crypto from "node:crypto";
import { after, describe, test } from "node:test";
import type { BackupCodeStore } from "../../src/domain/factors/backup-codes/ports.js";
import { atSeconds as at, lazily, type OwnedStoreHarness } from "./harness.js";

const codeHashes = (count: number) => Array.from({ length: count }, () => crypto.randomBytes(32).toString("hex"));

export function backupCodeStoreContract(
  name: string,
  make: () => Promise<OwnedStoreHarness<BackupCodeStore>>,
  options: { skip?: string } = {},
) {
  describe(name, { skip: options.skip }, () => {
    const harness = lazily(make);
    after(harness.close);

    test("replaceAll stores the set; consume spends a code once; countUnused counts what is left", async () => {
      const h = await harness.open();
      const userId = await h.newUserId();
      assert.equal(await h.store.countUnused(userId), 0);
      const codes = codeHashes(10);
      await h.store.replaceAll(userId, codes, at(0));
      assert.equal(await h.store.countUnused(userId), 10);
      assert.equal(await h.store.consume(userId, codes[3]!, at(10)), true);
      assert.equal(await h.store.consume(userId, codes[3]!, at(20)), false, "a spent code is refused");
      assert.equal(await h.store.countUnused(userId), 9);
      assert.equal(await h.store.consume(userId, codeHashes(1)[0]!, at(30)), false, "an unknown code is refused");
      assert.equal(await h.store.countUnused(userId), 9);
    });

    test("a code is only its owner's", async () => {
      const h = await harness.open();
      const [owner, stranger] = [await h.newUserId(), await h.newUserId()];
      const codes = codeHashes(2);
      await h.store.replaceAll(owner, codes, at(0));
      assert.equal(await h.store.consume(stranger, codes[0]!, at(10)), false);
      assert.equal(await h.store.countUnused(owner), 2);
      assert.equal(await h.store.consume(owner, codes[0]!, at(10)), true);
    });

    test("replaceAll drops the old set, spent or not; deleteAll drops everything of that user only", async () => {
      const h = await harness.open();
      const [userId, bystander] = [await h.newUserId(), await h.newUserId()];
      const old = codeHashes(3);
      await h.store.replaceAll(userId, old, at(0));
      await h.store.replaceAll(bystander, codeHashes(4), at(0));
      assert.equal(await h.store.consume(userId, old[0]!, at(1)), true);
      const fresh = codeHashes(5);
      await h.store.replaceAll(userId, fresh, at(2));
      assert.equal(await h.store.countUnused(userId), 5);
      assert.equal(await h.store.consume(userId, old[1]!, at(3)), false, "a code of the old set no longer works");
      assert.equal(await h.store.consume(userId, fresh[0]!, at(3)), true);
      await h.store.replaceAll(userId, [], at(4));
      assert.equal(await h.store.countUnused(userId), 0, "an empty set replaces too");
      await h.store.replaceAll(userId, codeHashes(2), at(5));
      await h.store.deleteAll(userId);
      assert.equal(await h.store.countUnused(userId), 0);
      assert.equal(await h.store.countUnused(bystander), 4);
    });

    test("one code consumed at once from two connections: exactly one winner", async () => {
      const h = await harness.open();
      const userId = await h.newUserId();
      const other = h.another();
      const codes = codeHashes(3);
      await h.store.replaceAll(userId, codes, at(0));
      for (const code of codes) {
        const results = await Promise.all(
          Array.from({ length: 6 }, (_, i) => (i % 2 ? other : h.store).consume(userId, code, at(10))),
        );
        assert.equal(results.filter(Boolean).length, 1);
      }
      assert.equal(await h.store.countUnused(userId), 0);
    });
  });
}
