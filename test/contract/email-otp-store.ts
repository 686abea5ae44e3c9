/** EmailOtpStore contract: one code per user, sends spaced by one conditional write, each code spent at most once. */
import assert from "node:assert/strict";
import crypto from "node:crypto";
import { after, describe, test } from "node:test";
import type { EmailOtpRecord, EmailOtpStore } from "../../src/domain/factors/email-otp/ports.js";
import { atSeconds as at, lazily, type OwnedStoreHarness } from "./harness.js";

const hash = () => crypto.randomBytes(32).toString("hex");

/** A code sent at `sentAt` (seconds after T0), valid 300 s. */
const code = (userId: string, sentAt = 0, overrides: Partial<EmailOtpRecord> = {}): Omit<EmailOtpRecord, "usedAt"> => ({
  userId,
  challengeHash: hash(),
  codeHash: hash(),
  sentAt: at(sentAt),
  expiresAt: at(sentAt + 300),
  ...overrides,
});

export function emailOtpStoreContract(
  name: string,
  make: () => Promise<OwnedStoreHarness<EmailOtpStore>>,
  options: { skip?: string } = {},
) {
  describe(name, { skip: options.skip }, () => {
    const harness = lazily(make);
    after(harness.close);

    test("replace stores the user's code and find reads it back; nobody else's changes", async () => {
      const h = await harness.open();
      const [userId, otherId] = [await h.newUserId(), await h.newUserId()];
      const mine = code(userId);
      const theirs = code(otherId);
      assert.equal(await h.store.replace(mine, at(-60)), true);
      assert.equal(await h.store.replace(theirs, at(-60)), true);
      assert.deepEqual(await h.store.find(userId), { ...mine, usedAt: null });
      assert.deepEqual(await h.store.find(otherId), { ...theirs, usedAt: null });
      assert.equal(await h.store.find(await h.newUserId()), null);
    });

    test("a new send replaces the code only when the last one was sent by `sentNoLaterThan`; it revives nothing spent", async () => {
      const h = await harness.open();
      const userId = await h.newUserId();
      const first = code(userId, 0);
      await h.store.replace(first, at(-60));
      // 30 s later, with 60 s spacing: refused, the first code stays.
      assert.equal(await h.store.replace(code(userId, 30), at(-30)), false);
      assert.deepEqual(await h.store.find(userId), { ...first, usedAt: null });
      assert.equal(await h.store.consume(userId, first.challengeHash, first.codeHash, at(10)), true);
      // 60 s later: the new code takes the place of the spent one, unused.
      const second = code(userId, 60);
      assert.equal(await h.store.replace(second, at(0)), true);
      assert.deepEqual(await h.store.find(userId), { ...second, usedAt: null });
      assert.equal(
        await h.store.consume(userId, first.challengeHash, first.codeHash, at(61)),
        false,
        "the old code is gone",
      );
    });

    test("of concurrent sends from two connections, at most one writes", async () => {
      const h = await harness.open();
      const other = h.another();
      for (const previous of [false, true]) {
        const userId = await h.newUserId();
        if (previous) await h.store.replace(code(userId, -120), at(-180));
        const sends = Array.from({ length: 6 }, (_, i) => code(userId, 0, { codeHash: `${i}`.repeat(64) }));
        const results = await Promise.all(sends.map((c, i) => (i % 2 ? other : h.store).replace(c, at(-60))));
        assert.equal(results.filter(Boolean).length, 1, `with${previous ? "" : "out"} an earlier code`);
        const winner = sends[results.indexOf(true)]!;
        assert.equal((await h.store.find(userId))?.codeHash, winner.codeHash);
      }
    });

    test("consume needs the user, the challenge, the code, an unexpired and unused row", async () => {
      const h = await harness.open();
      const [userId, otherId] = [await h.newUserId(), await h.newUserId()];
      const c = code(userId);
      await h.store.replace(c, at(-60));
      assert.equal(await h.store.consume(otherId, c.challengeHash, c.codeHash, at(1)), false);
      assert.equal(await h.store.consume(userId, hash(), c.codeHash, at(1)), false, "another challenge");
      assert.equal(await h.store.consume(userId, c.challengeHash, hash(), at(1)), false, "another code");
      assert.equal(await h.store.consume(userId, c.challengeHash, c.codeHash, at(300)), false, "expired");
      assert.equal(await h.store.consume(userId, c.challengeHash, c.codeHash, at(299)), true);
      assert.equal(await h.store.consume(userId, c.challengeHash, c.codeHash, at(299)), false, "single use");
      assert.deepEqual((await h.store.find(userId))?.usedAt, at(299));
    });

    test("one code used twice at once, from two connections: exactly one wins", async () => {
      const h = await harness.open();
      const other = h.another();
      const userId = await h.newUserId();
      const c = code(userId);
      await h.store.replace(c, at(-60));
      const results = await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          (i % 2 ? other : h.store).consume(userId, c.challengeHash, c.codeHash, at(5)),
        ),
      );
      assert.equal(results.filter(Boolean).length, 1);
    });

    test("deleteForUser removes the user's code and no one else's", async () => {
      const h = await harness.open();
      const [userId, otherId] = [await h.newUserId(), await h.newUserId()];
      await h.store.replace(code(userId), at(-60));
      const theirs = code(otherId);
      await h.store.replace(theirs, at(-60));
      await h.store.deleteForUser(userId);
      await h.store.deleteForUser(userId);
      assert.equal(await h.store.find(userId), null);
      assert.deepEqual(await h.store.find(otherId), { ...theirs, usedAt: null });
    });
  });
}
