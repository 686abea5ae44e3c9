/** CounterStore contract: the shared counts behind every rate limit. */
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import type { CounterStore } from "../../src/domain/security/ports.js";
import { lazily, type StoreHarness } from "./harness.js";

export function counterStoreContract(
  name: string,
  make: () => Promise<StoreHarness<CounterStore>>,
  options: { skip?: string } = {},
) {
  describe(name, { skip: options.skip }, () => {
    const harness = lazily(make);
    after(harness.close);
    const open = async () => (await harness.open()).store;

    test("an absent counter reads 0; increment returns the new value; get reads it", async () => {
      const a = await open();
      assert.equal(await a.get("absent", 60), 0);
      assert.equal(await a.increment("k1", 1, 60), 1);
      assert.equal(await a.increment("k1", 2, 60), 3);
      assert.equal(await a.get("k1", 60), 3);
    });

    test("a negative amount takes back", async () => {
      const a = await open();
      await a.increment("k2", 3, 60);
      assert.equal(await a.increment("k2", -1, 60), 2);
      assert.equal(await a.get("k2", 60), 2);
    });

    test("counters are apart by key", async () => {
      const a = await open();
      await a.increment("k3", 1, 60);
      assert.equal(await a.get("k3-other", 60), 0);
    });

    test("incrementAndGet adds to one counter and reads another, in the counters increment and get see", async () => {
      const a = await open();
      assert.deepEqual(await a.incrementAndGet("now-1", 1, 60, "before-1"), [1, 0]);
      assert.equal(await a.increment("before-1", 4, 60), 4);
      assert.deepEqual(await a.incrementAndGet("now-1", 2, 60, "before-1"), [3, 4]);
      assert.equal(await a.get("now-1", 60), 3);
      assert.equal(await a.increment("now-1", -1, 60), 2);
    });

    test("two handles see one count, and concurrent increments sum exactly", async () => {
      const h = await harness.open();
      const [a, b] = [h.store, h.another()];
      const results = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).increment("race", 1, 60)));
      assert.equal(await a.get("race", 60), 40);
      assert.equal(await b.get("race", 60), 40);
      assert.deepEqual(
        [...results].sort((x, y) => x - y),
        Array.from({ length: 40 }, (_, i) => i + 1),
        "every caller saw a distinct value",
      );
    });

    test("concurrent incrementAndGet calls from two handles sum exactly", async () => {
      const h = await harness.open();
      const [a, b] = [h.store, h.another()];
      await a.increment("race-2-before", 7, 60);
      const results = await Promise.all(
        Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).incrementAndGet("race-2", 1, 60, "race-2-before")),
      );
      assert.deepEqual(
        results.map(([current]) => current).sort((x, y) => x - y),
        Array.from({ length: 40 }, (_, i) => i + 1),
      );
      assert.ok(results.every(([, previous]) => previous === 7));
      assert.equal(await b.get("race-2", 60), 40);
    });
  });
}
