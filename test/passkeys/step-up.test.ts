import assert from "node:assert/strict";
import { test } from "node:test";
import { engines } from "../helpers/engines.js";
import { FixedClock, postJson, startWarden, withBearer, type Warden } from "../helpers/warden.js";
import { authenticatorCode, bearer, enrolledUser } from "../mfa/mfa-helpers.js";
import { login as loginTokens, PASSWORD } from "../helpers/login.js";
import { authenticator, GENEROUS_LIMITS, userWithPasskey } from "./passkey-helpers.js";

const REAUTH_MAX_AGE = 600;

const stepUpChallenge = async (w: Warden, token: string) => {
  const r = await bearer(w, "POST", "/api/v1/mfa/challenge", token);
  assert.equal(r.status, 200, r.raw);
  return r.body;
};
const stepUpVerify = (w: Warden, token: string, body: object) => bearer(w, "POST", "/api/v1/mfa/verify", token, body);
/** A sensitive operation to spend verification tokens on: starting a passkey registration. */
const sensitive = (w: Warden, token: string, headers: Record<string, string> = {}, body?: object) =>
  withBearer(w, token, {
    method: "POST",
    url: "/api/v1/passkey/register/options",
    headers,
    ...(body ? { payload: body } : {}),
  });

for (const { engine, skip } of engines) {
  test(`step-up verification over HTTP on ${engine.name}`, { skip }, async (t) => {
    const clock = new FixedClock();
    const w = await startWarden({ engine, clock, env: GENEROUS_LIMITS });
    try {
      await t.test("a user without a second factor has nothing to step up with", async () => {
        await w.createUser("plain@example.com", PASSWORD);
        const { token } = await loginTokens(w, "plain@example.com");
        assert.deepEqual(await stepUpChallenge(w, token), { mfa_required: false });
      });

      await t.test("TOTP step-up: a verification token opens one sensitive operation of its session", async () => {
        const { token, secret } = await enrolledUser(w, clock, "tess@example.com");
        clock.advance(REAUTH_MAX_AGE + 1);
        const refused = await sensitive(w, token);
        assert.equal(refused.status, 403);
        assert.equal(refused.body.error, "mfa_required");

        const challenge = await stepUpChallenge(w, token);
        assert.equal(challenge.mfa_required, true);
        assert.match(challenge.challenge_token, /^[0-9a-f]{64}$/);
        assert.deepEqual(challenge.methods, ["totp", "backup_code", "email_otp"]);

        assert.equal(
          (await stepUpVerify(w, token, { type: "totp", code: "123456" })).body.message,
          "Missing challengeToken.",
        );
        assert.equal(
          (await stepUpVerify(w, token, { challengeToken: challenge.challenge_token, type: "totp" })).body.message,
          "Missing code.",
        );
        const wrong = await stepUpVerify(w, token, {
          challengeToken: challenge.challenge_token,
          type: "totp",
          code: "000000",
        });
        assert.equal(wrong.status, 401);
        assert.equal(wrong.body.message, "Invalid verification.");
        const ok = await stepUpVerify(w, token, {
          challengeToken: challenge.challenge_token,
          type: "totp",
          code: authenticatorCode(secret, clock),
        });
        assert.equal(ok.status, 200, ok.raw);
        const verification = ok.body.verification_token as string;
        assert.ok(verification.length >= 43);

        // At rest only its hash.
        const rows = await w.deps.database.db.selectFrom("verification_tokens").select("token_hash").execute();
        assert.ok(rows.length > 0 && rows.every((r) => r.token_hash !== verification));

        const spentChallenge = await stepUpVerify(w, token, {
          challengeToken: challenge.challenge_token,
          type: "totp",
          code: authenticatorCode(secret, clock),
        });
        assert.equal(spentChallenge.status, 401);
        assert.equal(spentChallenge.body.message, "Invalid or expired challenge.");

        assert.equal((await sensitive(w, token, { "x-verification-token": verification })).status, 200);
        assert.equal((await sensitive(w, token, { "x-verification-token": verification })).status, 403, "single use");
      });

      await t.test(
        "the token is bound to its session, lives 120 s, and is read from either body spelling",
        async () => {
          const { token, backupCodes } = await enrolledUser(w, clock, "uma@example.com");
          const issue = async (code: string) => {
            const c = await stepUpChallenge(w, token);
            const r = await stepUpVerify(w, token, { challengeToken: c.challenge_token, type: "backup", code });
            assert.equal(r.status, 200, r.raw);
            return r.body.verification_token as string;
          };
          clock.advance(REAUTH_MAX_AGE + 1);

          // A second session of the same user (fresh, so use it only for what freshness cannot bypass).
          const login = await postJson(w.app, "/api/auth", { email: "uma@example.com", password: PASSWORD });
          const second = await postJson(w.app, "/api/auth/mfa/verify", {
            mfaToken: login.body.mfa_token,
            type: "backup_code",
            code: backupCodes[9],
          });
          assert.equal(second.status, 200, second.raw);
          const foreignChallenge = await stepUpChallenge(w, second.body.token);
          const crossed = await stepUpVerify(w, token, {
            challengeToken: foreignChallenge.challenge_token,
            type: "backup",
            code: backupCodes[8],
          });
          assert.equal(crossed.status, 401, "a step-up challenge serves only the session that asked");
          clock.advance(REAUTH_MAX_AGE + 1);

          const forOtherSession = await issue(backupCodes[0]!);
          assert.equal(
            (await sensitive(w, second.body.token, { "x-verification-token": forOtherSession })).status,
            403,
            "another session cannot spend it",
          );
          assert.equal((await sensitive(w, token, {}, { verification_token: forOtherSession })).status, 200);

          const camel = await issue(backupCodes[1]!);
          assert.equal((await sensitive(w, token, {}, { verificationToken: camel })).status, 200);

          const late = await issue(backupCodes[2]!);
          clock.advance(121);
          assert.equal((await sensitive(w, token, { "x-verification-token": late })).status, 403, "expired");
        },
      );

      await t.test("one verification token presented twice at once: exactly one request passes", async () => {
        const { token, backupCodes } = await enrolledUser(w, clock, "vic@example.com");
        clock.advance(REAUTH_MAX_AGE + 1);
        for (let round = 0; round < 3; round++) {
          const c = await stepUpChallenge(w, token);
          const r = await stepUpVerify(w, token, {
            challengeToken: c.challenge_token,
            type: "backup_code",
            code: backupCodes[round],
          });
          const headers = { "x-verification-token": r.body.verification_token };
          const results = await Promise.all([sensitive(w, token, headers), sensitive(w, token, headers)]);
          assert.deepEqual(results.map((x) => x.status).sort(), [200, 403]);
        }
      });

      await t.test("passkey step-up: options bound to the challenge, then a token that deletes a passkey", async () => {
        const device = authenticator({ userVerified: false });
        const { token, passkey } = await userWithPasskey(w, "wes@example.com", device);
        clock.advance(REAUTH_MAX_AGE + 1);
        const challenge = await stepUpChallenge(w, token);
        assert.deepEqual(challenge.methods, ["passkey", "email_otp"]);
        const missing = await bearer(w, "POST", "/api/v1/mfa/passkey/options", token, {});
        assert.equal(missing.status, 400);
        assert.equal(missing.body.message, "Missing challengeToken.");
        const bogus = await bearer(w, "POST", "/api/v1/mfa/passkey/options", token, { challengeToken: "0".repeat(64) });
        assert.equal(bogus.status, 401);
        assert.equal(bogus.body.message, "Invalid or expired challenge.");
        const options = await bearer(w, "POST", "/api/v1/mfa/passkey/options", token, {
          challengeToken: challenge.challenge_token,
        });
        assert.equal(options.status, 200, options.raw);
        assert.equal(options.body.allowCredentials.length, 1);

        assert.equal(
          (await stepUpVerify(w, token, { challengeToken: challenge.challenge_token, type: "passkey" })).body.message,
          "Missing credential.",
        );
        const ok = await stepUpVerify(w, token, {
          challengeToken: challenge.challenge_token,
          type: "passkey",
          credential: device.get(options.body),
        });
        assert.equal(ok.status, 200, ok.raw);
        const deleted = await withBearer(w, token, {
          method: "DELETE",
          url: `/api/v1/me/passkeys/${passkey.id}`,
          headers: { "x-verification-token": ok.body.verification_token },
        });
        assert.equal(deleted.status, 204, deleted.raw);
      });

      await t.test("a passkey challenge of one ceremony does not answer another", async () => {
        const device = authenticator();
        const { token } = await userWithPasskey(w, "xan@example.com", device);
        const challenge = await stepUpChallenge(w, token);
        // Options for a login MFA challenge of the same user, answered to the step-up challenge.
        const login = await postJson(w.app, "/api/auth", { email: "xan@example.com", password: PASSWORD });
        const mfaOptions = await postJson(w.app, "/api/auth/mfa/passkey/options", { mfaToken: login.body.mfa_token });
        const r = await stepUpVerify(w, token, {
          challengeToken: challenge.challenge_token,
          type: "passkey",
          credential: device.get(mfaOptions.body),
        });
        assert.equal(r.status, 401);
        assert.equal(r.body.message, "Invalid verification.");
      });
    } finally {
      await w.close();
    }
  });
}
