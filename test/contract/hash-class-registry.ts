/**
 * HashClassRegistry contract: the kinds of legacy password hash imported, one sample each, shared
 * by every instance so each can time them at start. A kind is recorded once; the first sample
 * stands.
 */
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import type { HashClassRegistry } from "../../src/hashing/passwords.js";
import { lazily, type StoreHarness } from "./harness.js";

let kinds = 0;
/** A kind name of this run, so tests sharing the registry do not see each other's. */
const newKind = (label: string) => `${label}-${++kinds}-${process.pid}`;

export function hashClassRegistryContract(
  name: string,
  make: () => Promise<StoreHarness<HashClassRegistry>>,
  options: { skip?: string } = {},
) {
  describe(name, { skip: options.skip }, () => {
    const harness = lazily(make);
    after(harness.close);

    test("a new database knows no kind of legacy hash", async () => {
      const fresh = await make();
      try {
        assert.deepEqual(await fresh.store.list(), []);
      } finally {
        await fresh.close();
      }
    });

    test("a kind added by one instance is listed with its sample by every instance", async () => {
      const h = await harness.open();
      const [a, b] = [newKind("argon2i:v=19,m=65536,t=4,p=1"), newKind("bcrypt:12")];
      await h.store.add(b, "$2y$12$sample-b");
      await h.another().add(a, "$argon2i$sample-a");
      for (const registry of [h.store, h.another()]) {
        const mine = (await registry.list())
          .filter((k) => k.name === a || k.name === b)
          .sort((x, y) => (x.name < y.name ? -1 : 1));
        assert.deepEqual(mine, [
          { name: a, sample: "$argon2i$sample-a" },
          { name: b, sample: "$2y$12$sample-b" },
        ]);
      }
    });

    test("adding a known kind again is harmless and keeps the first sample", async () => {
      const h = await harness.open();
      const kind = newKind("bcrypt:10");
      await h.store.add(kind, "$2y$10$first");
      await h.store.add(kind, "$2y$10$second");
      assert.deepEqual(
        (await h.store.list()).filter((k) => k.name === kind),
        [{ name: kind, sample: "$2y$10$first" }],
      );
    });

    test("two instances adding the same kind at once both succeed and record it once", async () => {
      const h = await harness.open();
      const kind = newKind("bcrypt:13");
      await Promise.all([h.store.add(kind, "$2y$13$one"), h.another().add(kind, "$2y$13$two")]);
      const recorded = (await h.store.list()).filter((k) => k.name === kind);
      assert.equal(recorded.length, 1);
      assert.ok(["$2y$13$one", "$2y$13$two"].includes(recorded[0]!.sample));
    });
  });
}
