/** SigningKeyStore contract: the first key made once, rotation, and pruning of retired keys. */
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import type { SigningKeyRecord, SigningKeyStore } from "../../src/domain/sessions/ports.js";
import { lazily, T0 } from "./harness.js";

const at = (minutes: number) => new Date(T0.getTime() + minutes * 60_000);
const key = (kid: string, createdAt = T0): SigningKeyRecord => ({
  kid,
  publicJwk: JSON.stringify({ kty: "RSA", n: kid, e: "AQAB" }),
  privateKeyEnc: `v1.sealed.${kid}`,
  createdAt,
  retiredAt: null,
});

/** Other processes holding the same store, ready to race: each racer `i` uses kid `${op}-${i}`. */
export interface SigningKeyRacers {
  /** Runs `op` in every racer at once; returns what each `insertFirst` answered ("true" for a rotate). */
  race(op: "first" | "rotate", at: Date): Promise<string[]>;
  close(): Promise<unknown>;
}

export interface SigningKeyHarness {
  store: SigningKeyStore;
  /** `count` racers on their own connections (threads: key rotation is a transaction). */
  racers(count: number): Promise<SigningKeyRacers>;
  close(): Promise<void>;
}

/** The suite's tests build on each other (first key, rotation, pruning), in order, on one store. */
export function signingKeyStoreContract(
  name: string,
  make: () => Promise<SigningKeyHarness>,
  options: { skip?: string } = {},
) {
  describe(name, { skip: options.skip }, () => {
    let racers: SigningKeyRacers | undefined;
    const harness = lazily(make);
    after(async () => {
      await racers?.close();
      await harness.close();
    });
    const open = async () => {
      const h = await harness.open();
      racers ??= await h.racers(3);
      return { store: h.store, racers };
    };

    test("insertFirst from three connections at once: exactly one key", async () => {
      const { store, racers } = await open();
      const results = await racers.race("first", T0);
      assert.deepEqual([...results].sort(), ["false", "false", "true"]);
      const keys = await store.list();
      assert.equal(keys.length, 1);
      assert.equal(await store.insertFirst(key("d")), false, "never a second first key");
    });

    test("list returns the record as stored", async () => {
      const { store } = await open();
      const [only] = await store.list();
      assert.ok(only);
      assert.equal(only.retiredAt, null);
      assert.equal(only.privateKeyEnc, `v1.sealed.${only.kid}`);
      assert.deepEqual(JSON.parse(only.publicJwk), { kty: "RSA", n: only.kid, e: "AQAB" });
      assert.deepEqual(only.createdAt, T0);
    });

    test("rotate retires the signer and adds the new key; list is oldest first", async () => {
      const { store } = await open();
      const [first] = await store.list();
      await store.rotate(key("second", at(10)), at(10));
      const keys = await store.list();
      assert.deepEqual(
        keys.map((k) => k.kid),
        [first!.kid, "second"],
      );
      assert.deepEqual(keys[0]!.retiredAt, at(10));
      assert.equal(keys[1]!.retiredAt, null);
    });

    test("concurrent rotations from three connections leave exactly one unretired key", async () => {
      const { store, racers } = await open();
      await racers.race("rotate", at(20));
      const keys = await store.list();
      assert.equal(keys.length, 5, "every rotation added its key");
      assert.equal(keys.filter((k) => k.retiredAt === null).length, 1);
    });

    test("deleteRetiredBefore removes only keys retired before the cutoff, never the signer", async () => {
      const { store } = await open();
      const deleted = await store.deleteRetiredBefore(at(15));
      assert.equal(deleted, 1, "only the key retired at minute 10");
      assert.ok(
        (await store.list()).every((k) => k.retiredAt?.getTime() !== at(10).getTime()),
        "the key retired at minute 10 is gone",
      );
      const keys = await store.list();
      assert.equal(keys.filter((k) => k.retiredAt === null).length, 1);
      assert.equal(await store.deleteRetiredBefore(at(1000)), keys.length - 1);
      assert.equal((await store.list()).length, 1);
    });

    test("revoke: a retired key is marked revoked; the signer only with a replacement, in the same transaction", async () => {
      const { store } = await open();
      await store.rotate(key("r1", at(30)), at(30));
      await store.rotate(key("r2", at(40)), at(40));
      assert.deepEqual(await store.revoke("r1", at(41)), { outcome: "revoked", replacedBy: null });
      const r1 = (await store.list()).find((k) => k.kid === "r1")!;
      assert.deepEqual([r1.retiredAt, r1.revokedAt], [at(40), at(41)]);
      assert.deepEqual(await store.revoke("r1", at(42)), { outcome: "already_revoked" });
      assert.deepEqual(await store.revoke("nope", at(42)), { outcome: "unknown" });

      assert.deepEqual(await store.revoke("r2", at(43)), { outcome: "needs_replacement" });
      assert.equal((await store.list()).find((k) => k.kid === "r2")!.revokedAt, null, "nothing changed");
      // Two operators revoke the signer at once (two pooled connections on PostgreSQL), each with
      // a replacement: one wins, one signer remains.
      const results = await Promise.all([
        store.revoke("r2", at(44), key("r3a", at(44))),
        store.revoke("r2", at(44), key("r3b", at(44))),
      ]);
      assert.deepEqual(results.map((r) => r.outcome).sort(), ["already_revoked", "revoked"]);
      const signers = (await store.list()).filter((k) => k.retiredAt === null);
      assert.equal(signers.length, 1);
      assert.equal(
        signers[0]!.kid,
        (results.find((r) => r.outcome === "revoked") as { replacedBy: string }).replacedBy,
      );
      const r2 = (await store.list()).find((k) => k.kid === "r2")!;
      assert.deepEqual([r2.retiredAt, r2.revokedAt], [at(44), at(44)]);
    });
  });
}
