/**
 * An account without a password (made through Google or Apple) deletes itself on a recent
 * authentication: a fresh session or a step-up verification token. An account with a password
 * still has to give it.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { engines } from "../helpers/engines.js";
import { withBearer, type Warden } from "../helpers/warden.js";
import { login as loginTokens } from "../helpers/login.js";
import { authenticatorCode, bearer } from "../mfa/mfa-helpers.js";
import { appleSignIn, googleSignIn, me, newSubject, PASSWORD, startFederation } from "./fixtures.js";

const MFA_REQUIRED = {
  code: 403,
  message: "Step-up MFA verification required.",
  error: "mfa_required",
  error_description: "Step-up MFA verification required.",
};
const PASSWORD_REQUIRED = {
  code: 400,
  message: "Validation failed.",
  errors: { password: ["This value is required."] },
};

const deleteMe = (w: Warden, token: string, body?: object, headers: Record<string, string> = {}) =>
  withBearer(w, token, { method: "DELETE", url: "/api/v1/me", headers, ...(body ? { payload: body } : {}) });

/** The account behind `token` is gone: its own token now gets 403 (deactivated or deleted). */
const isDeleted = async (w: Warden, token: string) =>
  (await withBearer(w, token, { method: "GET", url: "/api/v1/me" })).status === 403;

for (const { engine, skip } of engines) {
  test(
    `an account without a password deletes itself on a recent authentication on ${engine.name}`,
    { skip },
    async (t) => {
      const world = await startFederation(engine, { REAUTH_RATE_LIMIT: "1000/60" });
      const { w, google, apple, smtp, clock } = world;
      /** A new account made by a first Google sign-in: no password. */
      const googleUser = async (name: string) => {
        const email = `${name}.${newSubject()}@gmail.com`;
        const signedIn = await googleSignIn(w, {
          credential: await google.mint({ sub: newSubject(), email, email_verified: true }),
        });
        assert.equal(signedIn.status, 200, signedIn.raw);
        assert.equal((await me(w, signedIn.body.token)).hasPassword, false);
        return { email, token: signedIn.body.token as string };
      };
      try {
        await t.test("a fresh session is enough, with no body or an empty one", async () => {
          const { token } = await googleUser("fresh");
          const deleted = await deleteMe(w, token);
          assert.equal(deleted.status, 204, deleted.raw);
          assert.ok(await isDeleted(w, token));

          const email = `apple.${newSubject()}@example.com`;
          const fromApple = await appleSignIn(w, {
            identityToken: await apple.mint({ sub: newSubject(), email, email_verified: true }),
          });
          assert.equal(fromApple.status, 200, fromApple.raw);
          const appleDeleted = await deleteMe(w, fromApple.body.token, {});
          assert.equal(appleDeleted.status, 204, appleDeleted.raw);
          assert.ok(await isDeleted(w, fromApple.body.token));
        });

        await t.test("a stale session without a step-up token is refused, and the account stays", async () => {
          const { token } = await googleUser("stale");
          clock.advance(601);
          for (const [body, headers] of [
            [undefined, {}],
            [{}, {}],
            [{ password: "anything at all" }, {}],
            [{ verification_token: "made-up" }, {}],
            [undefined, { "x-verification-token": "made-up" }],
          ] as const) {
            const refused = await deleteMe(w, token, body, headers);
            assert.deepEqual([refused.status, refused.body], [403, MFA_REQUIRED], JSON.stringify(body ?? headers));
          }
          assert.equal((await me(w, token)).active, true, "still there");
        });

        await t.test("a stale session deletes with a step-up verification token", async () => {
          const { email, token } = await googleUser("stepped");
          const setup = await bearer(w, "POST", "/api/v1/me/mfa/totp/setup", token);
          assert.equal(setup.status, 200, setup.raw);
          const enable = await bearer(w, "POST", "/api/v1/me/mfa/totp/enable", token, {
            code: authenticatorCode(setup.body.secret, clock),
          });
          assert.equal(enable.status, 200, enable.raw);
          await smtp.nextMail(email); // MFA on
          clock.advance(601);
          assert.deepEqual((await deleteMe(w, token)).body, MFA_REQUIRED);

          const started = await bearer(w, "POST", "/api/v1/mfa/challenge", token);
          assert.equal(started.body.mfa_required, true, started.raw);
          const verified = await bearer(w, "POST", "/api/v1/mfa/verify", token, {
            challengeToken: started.body.challenge_token,
            type: "totp",
            code: authenticatorCode(setup.body.secret, clock),
          });
          assert.equal(verified.status, 200, verified.raw);
          const deleted = await deleteMe(w, token, undefined, {
            "x-verification-token": verified.body.verification_token,
          });
          assert.equal(deleted.status, 204, deleted.raw);
          assert.ok(await isDeleted(w, token));
        });

        await t.test("an account with a password still needs it, fresh session and step-up token or not", async () => {
          const email = `pw.${newSubject()}@example.com`;
          await w.createUser(email, PASSWORD);
          const { token } = await loginTokens(w, email);
          for (const body of [undefined, {}, { verification_token: "made-up" }]) {
            const refused = await deleteMe(w, token, body);
            assert.deepEqual([refused.status, refused.body], [400, PASSWORD_REQUIRED], JSON.stringify(body));
          }
          const wrong = await deleteMe(w, token, { password: "not the password" });
          assert.equal(wrong.status, 422, wrong.raw);
          assert.equal((await me(w, token)).active, true, "still there");
          const deleted = await deleteMe(w, token, { password: PASSWORD });
          assert.equal(deleted.status, 204, deleted.raw);
        });
      } finally {
        await world.close();
      }
    },
  );
}
