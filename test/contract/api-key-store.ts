/** ApiKeyStore contract: keys found by hash only, per-user ownership, conditional revoke and rotate, lastUsedAt once per interval. */
import assert from "node:assert/strict";
import crypto from "node:crypto";
import { after, describe, test } from "node:test";
import type { ApiKeyRecord, ApiKeyStore } from "../../src/domain/api-keys/ports.js";
import { atSeconds as at, lazily, T0, type OwnedStoreHarness } from "./harness.js";

export const apiKeyFixture = (userId: string, overrides: Partial<ApiKeyRecord> = {}): ApiKeyRecord => ({
  id: crypto.randomUUID(),
  userId,
  name: "CI",
  tokenHash: crypto.randomBytes(32).toString("hex"),
  tokenPrefix: `af_${crypto.randomBytes(5).toString("hex").slice(0, 9)}`,
  scopes: ["invoices:read", "invoices:write"],
  createdAt: T0,
  expiresAt: null,
  lastUsedAt: null,
  revokedAt: null,
  ...overrides,
});

/** The key alone, from the one lookup the store offers by hash. */
const keyOf = async (store: ApiKeyStore, tokenHash: string) => (await store.findWithOwner(tokenHash))?.key ?? null;

export function apiKeyStoreContract(
  name: string,
  make: () => Promise<OwnedStoreHarness<ApiKeyStore>>,
  options: { skip?: string } = {},
) {
  describe(name, { skip: options.skip }, () => {
    const harness = lazily(make);
    after(harness.close);

    test("insert, find by hash with its owner (every field back), find and list per owner, newest first", async () => {
      const h = await harness.open();
      const [userId, otherId] = [await h.newUserId(), await h.newUserId()];
      const first = apiKeyFixture(userId, { expiresAt: at(3600) });
      const second = apiKeyFixture(userId, { createdAt: at(5), scopes: ["invoices:read"] });
      const theirs = apiKeyFixture(otherId);
      for (const key of [first, second, theirs]) await h.store.insert(key);
      const found = await h.store.findWithOwner(first.tokenHash);
      assert.deepEqual(found?.key, first);
      assert.equal(found?.user.id, userId);
      assert.deepEqual(found?.user.roles, ["ROLE_USER"], "the owner as a full user record");
      assert.equal(await keyOf(h.store, crypto.randomBytes(32).toString("hex")), null);
      assert.deepEqual(await h.store.findForUser(userId, second.id), second);
      assert.equal(await h.store.findForUser(userId, theirs.id), null, "another user's key is not found");
      assert.deepEqual(await h.store.listForUser(userId), [second, first]);
      assert.deepEqual(await h.store.listForUser(await h.newUserId()), []);
    });

    test("a hash belongs to one key: a second insert of it fails", async () => {
      const h = await harness.open();
      const key = apiKeyFixture(await h.newUserId());
      await h.store.insert(key);
      await assert.rejects(h.store.insert({ ...key, id: crypto.randomUUID() }));
    });

    test("update renames or rescopes only the owner's key", async () => {
      const h = await harness.open();
      const [userId, otherId] = [await h.newUserId(), await h.newUserId()];
      const key = apiKeyFixture(userId);
      await h.store.insert(key);
      assert.equal(await h.store.update(otherId, key.id, { name: "stolen" }), null);
      const renamed = await h.store.update(userId, key.id, { name: "CI (staging)" });
      assert.deepEqual(renamed, { ...key, name: "CI (staging)" });
      const rescoped = await h.store.update(userId, key.id, { scopes: ["invoices:read"] });
      assert.deepEqual(rescoped, { ...key, name: "CI (staging)", scopes: ["invoices:read"] });
      assert.deepEqual(await h.store.update(userId, key.id, {}), rescoped, "an empty patch changes nothing");
      assert.equal(await h.store.update(userId, crypto.randomUUID(), { name: "x" }), null);
    });

    test("revoke: the owner's live key, once; revokeAllForUser counts only live keys of that user", async () => {
      const h = await harness.open();
      const [userId, otherId] = [await h.newUserId(), await h.newUserId()];
      const [a, b, c] = [apiKeyFixture(userId), apiKeyFixture(userId), apiKeyFixture(userId)];
      const theirs = apiKeyFixture(otherId);
      for (const key of [a, b, c, theirs]) await h.store.insert(key);
      assert.equal(await h.store.revoke(otherId, a.id, at(1)), false, "not the owner");
      assert.equal(await h.store.revoke(userId, a.id, at(1)), true);
      assert.equal(await h.store.revoke(userId, a.id, at(2)), false, "already revoked");
      assert.deepEqual((await keyOf(h.store, a.tokenHash))!.revokedAt, at(1), "the first revocation's time stays");
      assert.equal(await h.store.revokeAllForUser(userId, at(3)), 2);
      assert.equal(await h.store.revokeAllForUser(userId, at(4)), 0);
      assert.deepEqual((await keyOf(h.store, b.tokenHash))!.revokedAt, at(3));
      assert.equal((await keyOf(h.store, theirs.tokenHash))!.revokedAt, null, "another user's key lives");
    });

    test("rotate: the old key dies and the successor appears together; of two racing rotations one wins", async () => {
      const h = await harness.open();
      const userId = await h.newUserId();
      const key = apiKeyFixture(userId);
      await h.store.insert(key);
      const [one, two] = [apiKeyFixture(userId, { createdAt: at(1) }), apiKeyFixture(userId, { createdAt: at(1) })];
      // Both through one store: PostgreSQL's pool runs them on two connections at once; SQLite's one
      // connection takes them in turn. (Two SQLite connections in one process would deadlock on the
      // write lock, which separate processes of a cluster wait out with busy_timeout.)
      const results = await Promise.all([
        h.store.rotate(userId, key.id, one, at(1)),
        h.store.rotate(userId, key.id, two, at(1)),
      ]);
      assert.deepEqual([...results].sort(), [false, true]);
      const winner = results[0] ? one : two;
      const loser = results[0] ? two : one;
      assert.deepEqual((await keyOf(h.store, key.tokenHash))!.revokedAt, at(1));
      assert.deepEqual(await keyOf(h.store, winner.tokenHash), winner);
      assert.equal(await keyOf(h.store, loser.tokenHash), null, "the loser inserted nothing");
      assert.equal(await h.store.rotate(userId, key.id, apiKeyFixture(userId), at(2)), false, "a revoked key");
      assert.equal(
        await h.store.rotate(await h.newUserId(), winner.id, apiKeyFixture(userId), at(2)),
        false,
        "another user's key",
      );
    });

    test("touchLastUsed writes only when the stored time is older than staleBefore", async () => {
      const h = await harness.open();
      const key = apiKeyFixture(await h.newUserId());
      await h.store.insert(key);
      const lastUsed = async () => (await keyOf(h.store, key.tokenHash))!.lastUsedAt;
      await h.store.touchLastUsed(key.id, at(10), at(-50));
      assert.deepEqual(await lastUsed(), at(10), "never used: written");
      await h.store.touchLastUsed(key.id, at(30), at(-30));
      assert.deepEqual(await lastUsed(), at(10), "used within the interval: not written");
      await h.store.touchLastUsed(key.id, at(80), at(20));
      assert.deepEqual(await lastUsed(), at(80));
    });
  });
}
