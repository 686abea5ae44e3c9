import assert from "node:assert/strict";
import { test } from "node:test";
import { authenticate } from "../../src/domain/sessions/authentication.js";
import { startStepUp, verifyStepUp } from "../../src/domain/sessions/step-up.js";
import { engines } from "../helpers/engines.js";
import { postJson, withBearer } from "../helpers/warden.js";
import { login as loginTokens } from "../helpers/login.js";
import { authenticatorCode, bearer } from "../mfa/mfa-helpers.js";
import { googleSignIn, me, newSubject, PASSWORD, startFederation } from "./fixtures.js";

const MFA_REQUIRED = {
  code: 403,
  message: "Step-up MFA verification required.",
  error: "mfa_required",
  error_description: "Step-up MFA verification required.",
};

for (const { engine, skip } of engines) {
  test(
    `a first password and unlinking are sensitive; email codes answer step-up on ${engine.name}`,
    { skip },
    async (t) => {
      const world = await startFederation(engine);
      const { w, google, smtp, clock } = world;
      try {
        await t.test(
          "a Google-made account sets its first password from a fresh session, not a stale one",
          async () => {
            const email = `first.pw.${newSubject()}@gmail.com`;
            const sub = newSubject();
            const credential = await google.mint({ sub, email, email_verified: true });
            const { token } = (await googleSignIn(w, { credential })).body;
            clock.advance(601);
            const stale = await withBearer(w, token, {
              method: "PATCH",
              url: "/api/v1/me",
              payload: { password: "my first real passphrase" },
            });
            assert.deepEqual([stale.status, stale.body], [403, MFA_REQUIRED]);
            const identity = (await withBearer(w, token, { method: "GET", url: "/api/v1/me/identities" })).body.data[0];
            const unlink = await withBearer(w, token, {
              method: "DELETE",
              url: `/api/v1/me/identities/${identity.id}`,
            });
            assert.deepEqual([unlink.status, unlink.body], [403, MFA_REQUIRED]);

            // Signing in again makes a fresh session, which may set the first password.
            const again = await googleSignIn(w, {
              credential: await google.mint({ sub, email, email_verified: true }),
            });
            assert.equal(again.status, 200, again.raw);
            const weak = await withBearer(w, again.body.token, {
              method: "PATCH",
              url: "/api/v1/me",
              payload: { password: "short" },
            });
            assert.equal(weak.status, 422);
            const set = await withBearer(w, again.body.token, {
              method: "PATCH",
              url: "/api/v1/me",
              payload: { password: "my first real passphrase" },
            });
            assert.equal(set.status, 200, set.raw);
            assert.equal(set.body.hasPassword, true);
            assert.ok((await postJson(w.app, "/api/auth", { email, password: "my first real passphrase" })).body.token);
            // From now on the usual rule holds: a change needs the current password.
            const next = await withBearer(w, again.body.token, {
              method: "PATCH",
              url: "/api/v1/me",
              payload: { password: "another fine passphrase" },
            });
            assert.deepEqual([next.status, Object.keys(next.body.errors ?? {})], [400, ["currentPassword"]]);
          },
        );

        await t.test(
          "an emailed code answers a step-up challenge; its verification token unlinks an identity",
          async () => {
            const email = `stepup.${newSubject()}@gmail.com`;
            await w.createUser(email, PASSWORD);
            const { token } = await loginTokens(w, email);
            const setup = await bearer(w, "POST", "/api/v1/me/mfa/totp/setup", token);
            const enable = await bearer(w, "POST", "/api/v1/me/mfa/totp/enable", token, {
              code: authenticatorCode(setup.body.secret, clock),
            });
            assert.equal(enable.status, 200, enable.raw);
            await smtp.nextMail(email); // MFA on
            const linked = await googleSignIn(w, {
              credential: await google.mint({ sub: newSubject(), email, email_verified: true }),
            });
            assert.equal(linked.body.mfa_required, true, "the Google sign-in meets the MFA challenge");
            await smtp.nextMail(email); // identity linked notice
            clock.advance(601);

            const auth = await authenticate(w.deps, `Bearer ${token}`);
            const started = await startStepUp(w.deps, auth);
            assert.ok(started && started.methods.includes("email_otp"));
            const challengeToken = started.challengeToken;

            const missing = await bearer(w, "POST", "/api/v1/mfa/email-otp/send", token, {});
            assert.equal(missing.status, 400);
            const wrong = await bearer(w, "POST", "/api/v1/mfa/email-otp/send", token, {
              challengeToken: "0".repeat(64),
            });
            assert.equal(wrong.status, 401);
            const sent = await bearer(w, "POST", "/api/v1/mfa/email-otp/send", token, { challengeToken });
            assert.deepEqual([sent.status, sent.body], [200, { sent: true }]);
            const code = /code is (\d{6})/.exec((await smtp.nextMail(email)).decoded)![1]!;

            const ctx = { ip: null, userAgent: null };
            const { verification_token } = await verifyStepUp(
              w.deps,
              auth,
              { challengeToken, type: "email_otp", code },
              ctx,
            );
            const [identity] = (await withBearer(w, token, { method: "GET", url: "/api/v1/me/identities" })).body.data;
            const gone = await withBearer(w, token, {
              method: "DELETE",
              url: `/api/v1/me/identities/${identity.id}`,
              headers: { "x-verification-token": verification_token },
            });
            assert.equal(gone.status, 204, gone.raw);
            assert.equal((await me(w, token)).hasPassword, true);
          },
        );
      } finally {
        await world.close();
      }
    },
  );
}
