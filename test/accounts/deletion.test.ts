/**
 * Account deletion leaves no way back in: every factor, linked identity, pending code and mailed
 * link goes with the account, and the same Google account afterwards is a first sign-in.
 */
import assert from "node:assert/strict";
import crypto from "node:crypto";
import { test } from "node:test";
import { linkToken } from "./smtp.js";
import { engines } from "../helpers/engines.js";
import { postJson, withBearer } from "../helpers/warden.js";
import { googleSignIn, me, newSubject, PASSWORD, startFederation } from "../federation/fixtures.js";
import { authenticator, loginOptions, passkeyLogin, registerPasskey } from "../passkeys/passkey-helpers.js";
import { authenticatorCode, enrolledUser, verify } from "../mfa/mfa-helpers.js";
import type { FederationWorld } from "../federation/fixtures.js";

const gmail = (name: string) => `${name}.${crypto.randomBytes(3).toString("hex")}@gmail.com`;
const REGISTRATION_REQUIRED = {
  code: 403,
  message: "Account not found. Please register first.",
  error: "registration_required",
};

/** A user with a password who signed in with Google once (the verified Gmail address linked the identity). */
async function linkedToGoogle(world: FederationWorld, email: string, sub: string) {
  const linked = await googleSignIn(world.w, {
    credential: await world.google.mint({ sub, email, email_verified: true }),
  });
  assert.equal(linked.status, 200, linked.raw);
  await world.smtp.nextMail(email); // the identity_linked notice
  return linked.body;
}

const deleteMe = (world: FederationWorld, token: string) =>
  withBearer(world.w, token, { method: "DELETE", url: "/api/v1/me", payload: { password: PASSWORD } });

for (const { engine, skip } of engines) {
  test(`account deletion leaves no way back in on ${engine.name}`, { skip }, async () => {
    const world = await startFederation(engine, { PASSWORD_RESET_RATE_LIMIT: "1000/60" });
    const { w, google, smtp, clock } = world;
    const db = w.deps.database.db;
    try {
      const email = gmail("leaving");
      const { user, token, secret } = await enrolledUser(w, clock, email);
      await smtp.nextMail(email); // the MFA-enabled notice
      const device = authenticator();
      await registerPasskey(w, token, device);
      const sub = newSubject();
      // With TOTP on, the Google sign-in links the identity and waits for the second factor.
      const { mfa_token: mfaToken } = await linkedToGoogle(world, email, sub);
      assert.ok(mfaToken);
      const sent = await postJson(w.app, "/api/auth/mfa/email-otp/send", { mfaToken });
      assert.equal(sent.status, 200, sent.raw);
      const code = /code is (\d{6})\b/.exec((await smtp.nextMail(email)).decoded)![1]!;
      assert.equal((await postJson(w.app, "/api/auth/forgot-password", { email })).status, 200);
      const resetToken = linkToken(await smtp.nextMail(email), "/reset-password");

      const deleted = await deleteMe(world, token);
      assert.equal(deleted.status, 204, deleted.raw);

      const rowsOf = async (table: "identities" | "passkeys" | "factors" | "backup_codes" | "email_otp_codes") =>
        (await db.selectFrom(table).select("user_id").where("user_id", "=", user.id).execute()).length;
      for (const table of ["identities", "passkeys", "factors", "backup_codes", "email_otp_codes"] as const) {
        assert.equal(await rowsOf(table), 0, `${table} of the deleted account`);
      }
      const liveLinks = await db
        .selectFrom("email_tokens")
        .select("user_id")
        .where("user_id", "=", user.id)
        .where("used_at", "is", null)
        .execute();
      assert.deepEqual(liveLinks, [], "mailed links are spent");

      // Every way in the account had is closed.
      const answers = {
        emailCode: await verify(w, { mfaToken, type: "email_otp", code }),
        totp: await verify(w, { mfaToken, code: authenticatorCode(secret, clock) }),
        reset: await postJson(w.app, "/api/auth/reset-password", {
          token: resetToken,
          password: "a new lantern at dusk",
        }),
        password: await postJson(w.app, "/api/auth", { email, password: PASSWORD }),
      };
      assert.deepEqual(
        Object.fromEntries(Object.entries(answers).map(([k, r]) => [k, r.status])),
        { emailCode: 401, totp: 401, reset: 401, password: 401 },
        JSON.stringify(Object.fromEntries(Object.entries(answers).map(([k, r]) => [k, r.body]))),
      );
      const options = await loginOptions(w);
      const passkey = await passkeyLogin(w, { sessionId: options.sessionId, credential: device.get(options) });
      assert.equal(passkey.status, 401, passkey.raw);

      // The same Google account is a stranger now: a first sign-in makes a new, empty account.
      const again = await googleSignIn(w, { credential: await google.mint({ sub, email, email_verified: true }) });
      assert.equal(again.status, 200, again.raw);
      assert.ok(again.body.token, "no second factor: the new account has none");
      const fresh = await me(w, again.body.token);
      assert.notEqual(fresh.id, user.id);
      assert.equal(fresh.email, email);
      assert.deepEqual([fresh.hasPassword, fresh.mfaEnabled], [false, false]);
      const identities = await db.selectFrom("identities").select("user_id").where("subject", "=", sub).execute();
      assert.deepEqual(identities, [{ user_id: fresh.id }]);
    } finally {
      await world.close();
    }
  });

  test(
    `with ALLOW_SIGNUP=false a deleted account's Google sign-in is refused on ${engine.name}`,
    { skip },
    async () => {
      const world = await startFederation(engine, { ALLOW_SIGNUP: "false" });
      const { w, google } = world;
      try {
        const email = gmail("gone");
        const user = await w.createUser(email, PASSWORD);
        const sub = newSubject();
        const { token } = await linkedToGoogle(world, email, sub);
        assert.equal((await deleteMe(world, token)).status, 204);

        const again = await googleSignIn(w, { credential: await google.mint({ sub, email, email_verified: true }) });
        assert.deepEqual([again.status, again.body], [403, REGISTRATION_REQUIRED]);
        const rows = await w.deps.database.db.selectFrom("users").select("id").where("email", "=", email).execute();
        assert.deepEqual(rows, []);
        assert.ok((await w.deps.users.findById(user.id))?.deletedAt, "the old account stays deleted");
      } finally {
        await world.close();
      }
    },
  );
}
