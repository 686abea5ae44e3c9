/** StepUpStore contract: challenges and verification tokens of one user AND one session, each spent once. */
import assert from "node:assert/strict";
import crypto from "node:crypto";
import { after, describe, test } from "node:test";
import type { StepUpStore } from "../../src/domain/sessions/step-up-ports.js";
import { atSeconds as at, lazily, T0, type OwnedStoreHarness } from "./harness.js";

const hash = () => crypto.randomBytes(32).toString("hex");

export interface StepUpStoreHarness extends OwnedStoreHarness<StepUpStore> {
  /** A live session of the user, for rows bound to one. */
  newSessionId(userId: string): Promise<string>;
}

export function stepUpStoreContract(
  name: string,
  make: () => Promise<StepUpStoreHarness>,
  options: { skip?: string } = {},
) {
  describe(name, { skip: options.skip }, () => {
    const harness = lazily(make);
    after(harness.close);

    const owner = async () => {
      const h = await harness.open();
      const userId = await h.newUserId();
      return { userId, sessionId: await h.newSessionId(userId) };
    };

    test("a challenge is open only to its user and session, counts attempts, and is consumed once", async () => {
      const h = await harness.open();
      const me = await owner();
      const otherSession = { userId: me.userId, sessionId: await h.newSessionId(me.userId) };
      const tokenHash = hash();
      await h.store.createChallenge({ tokenHash, ...me, createdAt: T0, expiresAt: at(300) });
      assert.ok(await h.store.findOpenChallenge(tokenHash, me, at(1), 5));
      assert.equal(await h.store.findOpenChallenge(tokenHash, otherSession, at(1), 5), null);
      assert.equal(await h.store.recordAttempt(tokenHash, otherSession, at(1), 5), null);
      assert.equal(await h.store.recordAttempt(tokenHash, me, at(1), 2), 1);
      assert.equal(await h.store.recordAttempt(tokenHash, me, at(1), 2), 2);
      assert.equal(await h.store.recordAttempt(tokenHash, me, at(1), 2), null, "the budget is spent");
      assert.equal(await h.store.findOpenChallenge(tokenHash, me, at(1), 2), null);
      assert.equal(await h.store.recordAttempt(tokenHash, me, at(300), 5), null, "expired");
      const results = await Promise.all([
        h.store.consumeChallenge(tokenHash, at(2)),
        h.another().consumeChallenge(tokenHash, at(2)),
      ]);
      assert.deepEqual(results.sort(), [false, true]);
    });

    test("a verification token is spent once, by its user and session, before it expires", async () => {
      const h = await harness.open();
      const me = await owner();
      const stranger = await owner();
      const sameUserOtherSession = { userId: me.userId, sessionId: await h.newSessionId(me.userId) };
      const issue = async () => {
        const tokenHash = hash();
        await h.store.createVerificationToken({
          tokenHash,
          ...me,
          method: "totp",
          createdAt: T0,
          expiresAt: at(120),
        });
        return tokenHash;
      };
      const t1 = await issue();
      assert.equal(await h.store.consumeVerificationToken(t1, stranger, at(1)), false);
      assert.equal(await h.store.consumeVerificationToken(t1, sameUserOtherSession, at(1)), false);
      assert.equal(await h.store.consumeVerificationToken(t1, me, at(120)), false, "expired at 120 s");
      const t2 = await issue();
      const results = await Promise.all([
        h.store.consumeVerificationToken(t2, me, at(1)),
        h.another().consumeVerificationToken(t2, me, at(1)),
      ]);
      assert.deepEqual(results.sort(), [false, true]);
      assert.equal(await h.store.consumeVerificationToken(t2, me, at(2)), false);
    });
  });
}
