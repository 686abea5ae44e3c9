/** EmailTokenStore contract: confirmation and reset tokens sent by mail, each spent at most once. */
import assert from "node:assert/strict";
import crypto from "node:crypto";
import { after, describe, test } from "node:test";
import type { EmailTokenPurpose, EmailTokenStore } from "../../src/domain/accounts/ports.js";
import { atSeconds as later, lazily, T0 as NOW, type OwnedStoreHarness } from "./harness.js";

const hashOf = (name: string) => crypto.createHash("sha256").update(name).digest("hex");

export function emailTokenStoreContract(
  name: string,
  make: () => Promise<OwnedStoreHarness<EmailTokenStore>>,
  options: { skip?: string } = {},
) {
  describe(name, { skip: options.skip }, () => {
    const harness = lazily(make);
    after(harness.close);

    /** Stores a token named `label` (unique per test run) for `userId`; returns its hash. */
    const issue = async (userId: string, purpose: EmailTokenPurpose = "reset", ttlSeconds = 3600) => {
      const { store } = await harness.open();
      const tokenHash = hashOf(crypto.randomUUID());
      await store.create({ tokenHash, userId, purpose, createdAt: NOW, expiresAt: later(ttlSeconds) });
      return tokenHash;
    };

    test("findLive reads without spending; consume returns the token once", async () => {
      const h = await harness.open();
      const userId = await h.newUserId();
      const hash = await issue(userId, "confirm");
      const live = await h.store.findLive(hash, "confirm", later(1));
      assert.deepEqual(live, {
        tokenHash: hash,
        userId,
        purpose: "confirm",
        createdAt: NOW,
        expiresAt: later(3600),
        usedAt: null,
        newEmail: null,
      });
      assert.ok(await h.store.findLive(hash, "confirm", later(2)), "reading twice does not spend it");
      const spent = await h.store.consume(hash, "confirm", later(3));
      assert.equal(spent?.userId, userId);
      assert.equal(spent?.tokenHash, hash);
      assert.equal(await h.store.consume(hash, "confirm", later(4)), null);
      assert.equal(await h.store.findLive(hash, "confirm", later(4)), null);
    });

    test("an email_change token carries its new address, read back when it is spent", async () => {
      const h = await harness.open();
      const userId = await h.newUserId();
      const tokenHash = hashOf(crypto.randomUUID());
      const token = { tokenHash, userId, purpose: "email_change" as const, createdAt: NOW, expiresAt: later(60) };
      await h.store.create({ ...token, newEmail: "new@example.com" });
      assert.equal(await h.store.consume(tokenHash, "confirm", later(1)), null, "another purpose");
      const spent = await h.store.consume(tokenHash, "email_change", later(1));
      assert.equal(spent?.newEmail, "new@example.com");
    });

    test("of concurrent consumers of an email token, from two connections, exactly one wins", async () => {
      const h = await harness.open();
      const userId = await h.newUserId();
      const other = h.another();
      const hash = await issue(userId);
      const results = await Promise.all(
        Array.from({ length: 6 }, (_, i) => (i % 2 ? other : h.store).consume(hash, "reset", NOW)),
      );
      assert.equal(results.filter(Boolean).length, 1);
      assert.equal(await h.store.consume(hash, "reset", later(1)), null);
      assert.equal(await h.store.findLive(hash, "reset", later(1)), null);
    });

    test("an email token is refused once expired or for another purpose", async () => {
      const h = await harness.open();
      const userId = await h.newUserId();
      const hash = await issue(userId, "confirm", 60);
      assert.equal(await h.store.consume(hash, "reset", NOW), null);
      assert.equal(await h.store.findLive(hash, "reset", NOW), null);
      assert.equal(await h.store.consume(hash, "confirm", later(60)), null);
      assert.equal(await h.store.findLive(hash, "confirm", later(60)), null);
      assert.ok(await h.store.findLive(hash, "confirm", later(59)));
      assert.equal((await h.store.consume(hash, "confirm", later(59)))?.userId, userId);
    });

    test("revokeForUser spends the user's unused tokens of one purpose only", async () => {
      const h = await harness.open();
      const [userId, bystander] = [await h.newUserId(), await h.newUserId()];
      const r1 = await issue(userId);
      const r2 = await issue(userId);
      const c1 = await issue(userId, "confirm");
      const theirs = await issue(bystander);
      assert.ok(await h.store.consume(r1, "reset", NOW));
      assert.equal(await h.store.revokeForUser(userId, "reset", NOW), 1, "the spent one is not counted");
      assert.equal(await h.store.consume(r2, "reset", NOW), null);
      assert.ok(await h.store.consume(c1, "confirm", NOW));
      assert.ok(await h.store.consume(theirs, "reset", NOW), "another user's token stays live");
    });
  });
}
