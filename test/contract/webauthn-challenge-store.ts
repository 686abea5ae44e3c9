/** WebAuthnChallengeStore contract: a challenge is spent once, only by its ceremony, user and binding. */
import assert from "node:assert/strict";
import crypto from "node:crypto";
import { after, describe, test } from "node:test";
import type { Ceremony, WebAuthnChallengeStore } from "../../src/domain/factors/passkeys/ports.js";
import { atSeconds as at, lazily, T0, type OwnedStoreHarness } from "./harness.js";

const hash = () => crypto.randomBytes(32).toString("hex");

export function webAuthnChallengeStoreContract(
  name: string,
  make: () => Promise<OwnedStoreHarness<WebAuthnChallengeStore>>,
  options: { skip?: string } = {},
) {
  describe(name, { skip: options.skip }, () => {
    const harness = lazily(make);
    after(harness.close);

    const issue = async (ceremony: Ceremony, userId: string | null, bindingHash: string | null) => {
      const { store } = await harness.open();
      const challengeHash = hash();
      await store.create({ challengeHash, ceremony, userId, bindingHash, createdAt: T0, expiresAt: at(300) });
      return challengeHash;
    };

    test("consume needs the same ceremony, user and binding, and succeeds once", async () => {
      const h = await harness.open();
      const [userId, otherId] = [await h.newUserId(), await h.newUserId()];
      const binding = hash();
      const c = await issue("mfa", userId, binding);
      for (const wrong of [
        { ceremony: "step_up" as const, userId, bindingHash: binding },
        { ceremony: "mfa" as const, userId: otherId, bindingHash: binding },
        { ceremony: "mfa" as const, userId: null, bindingHash: binding },
        { ceremony: "mfa" as const, userId, bindingHash: hash() },
      ])
        assert.equal(await h.store.consume(c, wrong, at(1)), false, JSON.stringify(wrong));
      assert.equal(await h.store.consume(c, { ceremony: "mfa", userId, bindingHash: binding }, at(1)), true);
      assert.equal(await h.store.consume(c, { ceremony: "mfa", userId, bindingHash: binding }, at(2)), false);
    });

    test("a login challenge has no user; an expired challenge is refused and later deleted", async () => {
      const h = await harness.open();
      const binding = hash();
      const login = await issue("login", null, binding);
      assert.equal(
        await h.store.consume(login, { ceremony: "login", userId: null, bindingHash: binding }, at(300)),
        false,
      );
      assert.ok((await h.store.deleteExpired(at(301))) >= 1);
      assert.equal(
        await h.store.consume(login, { ceremony: "login", userId: null, bindingHash: binding }, at(1)),
        false,
      );
    });

    test("two concurrent consumers, two connections: exactly one wins", async () => {
      const h = await harness.open();
      const userId = await h.newUserId();
      const binding = hash();
      const c = await issue("registration", userId, binding);
      const expected = { ceremony: "registration" as const, userId, bindingHash: binding };
      const results = await Promise.all([h.store.consume(c, expected, at(1)), h.another().consume(c, expected, at(1))]);
      assert.deepEqual(results.sort(), [false, true]);
    });
  });
}
