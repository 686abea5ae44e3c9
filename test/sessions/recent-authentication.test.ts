/** Sessions know how they were authenticated; sensitive operations need a recent authentication. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { engines } from "../helpers/engines.js";
import { FixedClock, postJson, startWarden, withBearer, type Warden } from "../helpers/warden.js";
import { login as loginTokens, PASSWORD, postLogin } from "../helpers/login.js";
import { authenticatorCode, bearer, challenge, enrolledUser } from "../mfa/mfa-helpers.js";
import { authenticator, GENEROUS_LIMITS, userWithPasskey } from "../passkeys/passkey-helpers.js";

const MFA_REQUIRED = {
  code: 403,
  message: "Step-up MFA verification required.",
  error: "mfa_required",
  error_description: "Step-up MFA verification required.",
};

const claimsOf = (jwt: string) => JSON.parse(Buffer.from(jwt.split(".")[1]!, "base64url").toString("utf8"));
const call = (
  w: Warden,
  method: "POST" | "PATCH" | "DELETE",
  url: string,
  token: string,
  body?: object,
  headers = {},
) => withBearer(w, token, { method, url, headers, ...(body ? { payload: body } : {}) });

for (const { engine, skip } of engines) {
  test(`${engine.name}: access tokens carry auth_time and amr; refresh keeps them`, { skip }, async () => {
    const clock = new FixedClock();
    const w = await startWarden({ engine, clock });
    try {
      await w.createUser("pwd@example.com", PASSWORD);
      const loginAt = Math.floor(clock.now().getTime() / 1000);
      const tokens = await loginTokens(w, "pwd@example.com");
      assert.equal(claimsOf(tokens.token).auth_time, loginAt);
      assert.deepEqual(claimsOf(tokens.token).amr, ["pwd"]);
      clock.advance(120);
      const refreshed = await postJson(w.app, "/api/auth/token/refresh", { refresh_token: tokens.refresh_token });
      assert.equal(refreshed.status, 200, refreshed.raw);
      assert.equal(claimsOf(refreshed.body.token).auth_time, loginAt, "refreshing is not authenticating");
      assert.equal(claimsOf(refreshed.body.token).iat, loginAt + 120);
      assert.deepEqual(claimsOf(refreshed.body.token).amr, ["pwd"]);

      const { secret, backupCodes } = await enrolledUser(w, clock, "two@example.com");
      const mfaToken = await challenge(w, "two@example.com");
      const verified = await postJson(w.app, "/api/auth/mfa/verify", {
        mfaToken,
        code: authenticatorCode(secret, clock),
      });
      assert.equal(verified.status, 200, verified.raw);
      assert.deepEqual(claimsOf(verified.body.token).amr, ["pwd", "otp", "mfa"]);
      assert.equal(claimsOf(verified.body.token).auth_time, Math.floor(clock.now().getTime() / 1000));
      const withBackup = await postJson(w.app, "/api/auth/mfa/verify", {
        mfaToken: await challenge(w, "two@example.com"),
        type: "backup",
        code: backupCodes[0],
      });
      assert.deepEqual(claimsOf(withBackup.body.token).amr, ["pwd", "otp", "mfa"], "a backup code is an otp too");
    } finally {
      await w.close();
    }
  });

  test(
    `${engine.name}: sensitive operations pass in a fresh session, get 403 mfa_required in a stale one, take the password where asked`,
    { skip },
    async () => {
      const clock = new FixedClock();
      const w = await startWarden({ engine, clock });
      try {
        await w.createUser("stale@example.com", PASSWORD);
        const { token } = await loginTokens(w, "stale@example.com");
        const fresh = await call(w, "POST", "/api/v1/me/mfa/totp/setup", token);
        assert.equal(fresh.status, 200, fresh.raw);

        clock.advance(600);
        assert.equal((await call(w, "POST", "/api/v1/me/mfa/totp/setup", token)).status, 200, "600 s is still recent");
        clock.advance(1);
        const stale = await call(w, "POST", "/api/v1/me/mfa/totp/setup", token);
        assert.equal(stale.status, 403);
        assert.deepEqual(stale.body, MFA_REQUIRED);
        const enable = await call(w, "POST", "/api/v1/me/mfa/totp/enable", token, { code: "123456" });
        assert.deepEqual(enable.body, MFA_REQUIRED);
        // A made-up verification token, in any of its three places, is refused.
        for (const offered of [
          { headers: { "x-verification-token": "made-up" } },
          { body: { code: "123456", verification_token: "made-up" } },
          { body: { code: "123456", verificationToken: "made-up" } },
        ]) {
          const r = await call(
            w,
            "POST",
            "/api/v1/me/mfa/totp/enable",
            token,
            offered.body ?? { code: "1" },
            offered.headers,
          );
          assert.deepEqual(r.body, MFA_REQUIRED);
        }

        // Where the endpoint takes the current password, the right one is enough in a stale session...
        const change = await call(w, "PATCH", "/api/v1/me", token, {
          currentPassword: PASSWORD,
          newPassword: "a brand new passphrase",
        });
        assert.equal(change.status, 200, change.raw);
        // ...and a wrong one is refused as before, in a fresh session too.
        const relogin = await postLogin(w, "stale@example.com", "a brand new passphrase");
        const freshToken: string = relogin.body.token;
        const wrong = await call(w, "DELETE", "/api/v1/me", freshToken, { password: "not the password" });
        assert.equal(wrong.status, 422, wrong.raw);
        clock.advance(3000);
        const deleted = await call(w, "DELETE", "/api/v1/me", freshToken, { password: "a brand new passphrase" });
        assert.equal(deleted.status, 204, deleted.raw);
      } finally {
        await w.close();
      }
    },
  );

  test(
    `${engine.name}: in a stale session, TOTP setup and enable each take a step-up verification token`,
    { skip },
    async () => {
      const clock = new FixedClock();
      const w = await startWarden({ engine, clock, env: GENEROUS_LIMITS });
      try {
        const device = authenticator({ userVerified: false });
        const { token } = await userWithPasskey(w, "steps@example.com", device);
        clock.advance(601);
        /** One passkey step-up: the verification token it buys. */
        const stepUp = async () => {
          const started = await bearer(w, "POST", "/api/v1/mfa/challenge", token);
          const challengeToken = started.body.challenge_token;
          const options = await bearer(w, "POST", "/api/v1/mfa/passkey/options", token, { challengeToken });
          const verified = await bearer(w, "POST", "/api/v1/mfa/verify", token, {
            challengeToken,
            type: "passkey",
            credential: device.get(options.body),
          });
          assert.equal(verified.status, 200, verified.raw);
          return verified.body.verification_token as string;
        };

        assert.deepEqual((await call(w, "POST", "/api/v1/me/mfa/totp/setup", token)).body, MFA_REQUIRED);
        const setup = await call(w, "POST", "/api/v1/me/mfa/totp/setup", token, undefined, {
          "x-verification-token": await stepUp(),
        });
        assert.equal(setup.status, 200, setup.raw);
        const code = authenticatorCode(setup.body.secret, clock);
        assert.deepEqual((await call(w, "POST", "/api/v1/me/mfa/totp/enable", token, { code })).body, MFA_REQUIRED);
        const enabled = await call(w, "POST", "/api/v1/me/mfa/totp/enable", token, {
          code,
          verification_token: await stepUp(),
        });
        assert.equal(enabled.status, 200, enabled.raw);
        assert.equal(enabled.body.backupCodes.length, 10);
      } finally {
        await w.close();
      }
    },
  );

  test(`${engine.name}: REAUTH_MAX_AGE sets how recent is recent`, { skip }, async () => {
    const clock = new FixedClock();
    const w = await startWarden({ engine, clock, env: { REAUTH_MAX_AGE: "60" } });
    try {
      await w.createUser("short@example.com", PASSWORD);
      const { token } = await loginTokens(w, "short@example.com");
      clock.advance(61);
      assert.deepEqual((await call(w, "POST", "/api/v1/me/mfa/totp/setup", token)).body, MFA_REQUIRED);
      const again = await loginTokens(w, "short@example.com");
      assert.equal((await call(w, "POST", "/api/v1/me/mfa/totp/setup", again.token)).status, 200);
    } finally {
      await w.close();
    }
  });
}
