import assert from "node:assert/strict";
import { test } from "node:test";
import { engines } from "../helpers/engines.js";
import { FixedClock, postJson, startWarden, withBearer } from "../helpers/warden.js";
import { bearer, challenge, verify } from "../mfa/mfa-helpers.js";
import { login as loginTokens, PASSWORD } from "../helpers/login.js";
import {
  authenticator,
  GENEROUS_LIMITS,
  loginOptions,
  passkeyLogin,
  registerPasskey,
  RP_ID,
  userWithPasskey,
} from "./passkey-helpers.js";

const decodeJwt = (token: string) => JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString("utf8"));

for (const { engine, skip } of engines) {
  test(`passkeys over HTTP on ${engine.name}`, { skip }, async (t) => {
    const clock = new FixedClock();
    const w = await startWarden({ engine, clock, env: GENEROUS_LIMITS });
    try {
      await t.test("register, list, status, then sign in without a password", async () => {
        const user = await w.createUser("alice@example.com", PASSWORD);
        const { token } = await loginTokens(w, "alice@example.com");
        const device = authenticator();

        const options = await bearer(w, "POST", "/api/v1/passkey/register/options", token);
        assert.equal(options.status, 200, options.raw);
        assert.deepEqual(options.body.rp, { name: "Warden", id: RP_ID });
        assert.equal(options.body.user.name, "alice@example.com");
        assert.equal(Buffer.from(options.body.user.id, "base64url").toString(), user.id);
        assert.equal(Buffer.from(options.body.challenge, "base64url").length, 32);
        assert.deepEqual(
          options.body.pubKeyCredParams.map((p: { alg: number }) => p.alg),
          [-7, -257],
        );
        assert.equal(options.body.timeout, 60000);
        assert.equal(options.body.attestation, "none");
        assert.deepEqual(options.body.excludeCredentials, []);
        assert.equal(options.body.authenticatorSelection.residentKey, "preferred");
        assert.equal(options.body.authenticatorSelection.userVerification, "preferred");

        const created = await bearer(w, "POST", "/api/v1/passkey/register", token, {
          name: "Laptop",
          // Storno's clients may send `response` instead of `credential`.
          response: device.create(options.body),
        });
        assert.equal(created.status, 201, created.raw);
        assert.equal(created.body.name, "Laptop");
        assert.equal(created.body.lastUsedAt, null);

        const listed = await bearer(w, "GET", "/api/v1/me/passkeys", token);
        assert.deepEqual(listed.body, [created.body]);
        assert.deepEqual((await bearer(w, "GET", "/api/v1/me/mfa/status", token)).body, {
          totpEnabled: false,
          backupCodesRemaining: 0,
          passkeysCount: 1,
        });
        assert.equal((await bearer(w, "GET", "/api/v1/me", token)).body.mfaEnabled, true);
        const again = await bearer(w, "POST", "/api/v1/passkey/register/options", token);
        assert.deepEqual(
          again.body.excludeCredentials.map((c: { id: string }) => c.id),
          [device.keys.map((k) => k.credentialId.toString("base64url"))[0]],
        );

        // The body's email is ignored: discoverable credentials name nobody.
        const login = await loginOptions(w);
        assert.equal(login.rpId, RP_ID);
        assert.equal(login.userVerification, "required");
        assert.equal(login.timeout, 60000);
        assert.ok(login.sessionId);
        const signedIn = await passkeyLogin(w, { sessionId: login.sessionId, credential: device.get(login) });
        assert.equal(signedIn.status, 200, signedIn.raw);
        assert.deepEqual(Object.keys(signedIn.body).sort(), ["refresh_token", "token"]);
        assert.equal(decodeJwt(signedIn.body.token).sub, user.id);
        assert.deepEqual(decodeJwt(signedIn.body.token).amr, ["hwk", "mfa"], "a user-verified device-bound key");
        const me = await bearer(w, "GET", "/api/v1/me/passkeys", signedIn.body.token);
        assert.equal(me.body[0].lastUsedAt, clock.now().toISOString());
      });

      await t.test("a password login of a passkey user is challenged, and a passkey answers it", async () => {
        const device = authenticator({ userVerified: false });
        await userWithPasskey(w, "bert@example.com", device);
        const mfaToken = await challenge(w, "bert@example.com");
        const login = await postJson(w.app, "/api/auth", { email: "bert@example.com", password: PASSWORD });
        assert.deepEqual(login.body.mfa_methods, ["passkey", "email_otp"]);

        const missing = await postJson(w.app, "/api/auth/mfa/passkey/options", {});
        assert.equal(missing.status, 400);
        assert.equal(missing.body.message, "Missing mfaToken.");
        const bogus = await postJson(w.app, "/api/auth/mfa/passkey/options", { mfaToken: "0".repeat(64) });
        assert.equal(bogus.status, 401);
        assert.equal(bogus.body.message, "Invalid or expired MFA challenge.");

        const options = await postJson(w.app, "/api/auth/mfa/passkey/options", { mfaToken });
        assert.equal(options.status, 200, options.raw);
        assert.deepEqual(
          options.body.allowCredentials.map((c: { id: string }) => c.id),
          [device.keys[0]!.credentialId.toString("base64url")],
        );
        const noCredential = await verify(w, { mfaToken, type: "passkey" });
        assert.equal(noCredential.status, 400);
        assert.equal(noCredential.body.message, "Missing credential.");
        // Without UV: as a second factor after the password, possession is what counts.
        const ok = await verify(w, { mfaToken, type: "passkey", credential: device.get(options.body) });
        assert.equal(ok.status, 200, ok.raw);
        assert.deepEqual(decodeJwt(ok.body.token).amr, ["pwd", "hwk", "mfa"]);
        assert.ok(ok.body.token && ok.body.refresh_token);
        const replay = await verify(w, { mfaToken, type: "passkey", credential: device.get(options.body) });
        assert.equal(replay.status, 401, "the challenge is spent");
      });

      await t.test("passwordless login refuses an assertion without user verification", async () => {
        const device = authenticator();
        await userWithPasskey(w, "carol@example.com", device);
        const login = await loginOptions(w);
        const r = await passkeyLogin(w, {
          sessionId: login.sessionId,
          credential: device.get(login, { userVerified: false }),
        });
        assert.equal(r.status, 401);
        assert.equal(r.body.message, "Assertion verification failed.");
      });

      await t.test("wrong origin and wrong RP ID are refused at registration and at login", async () => {
        const device = authenticator();
        const { token } = await userWithPasskey(w, "dora@example.com", device);
        const options = await bearer(w, "POST", "/api/v1/passkey/register/options", token);
        const evilOrigin = await bearer(w, "POST", "/api/v1/passkey/register", token, {
          credential: authenticator().create(options.body, { origin: "https://evil.test" }),
        });
        assert.equal(evilOrigin.status, 400);
        assert.match(evilOrigin.body.message, /^Attestation verification failed: .*origin/);
        const options2 = await bearer(w, "POST", "/api/v1/passkey/register/options", token);
        const evilRp = await bearer(w, "POST", "/api/v1/passkey/register", token, {
          credential: authenticator().create(options2.body, { rpId: "evil.test" }),
        });
        assert.equal(evilRp.status, 400);
        assert.match(evilRp.body.message, /^Attestation verification failed: .*RP ID/);

        for (const overrides of [{ origin: "https://evil.test" }, { rpId: "evil.test" }]) {
          const login = await loginOptions(w);
          const r = await passkeyLogin(w, { sessionId: login.sessionId, credential: device.get(login, overrides) });
          assert.equal(r.status, 401, JSON.stringify(overrides));
        }
        // The relying party is configuration, not the request: another Host changes nothing.
        const viaOtherHost = await loginOptions(w, { host: "evil.test", origin: "https://evil.test" });
        assert.equal(viaOtherHost.rpId, RP_ID);
      });

      await t.test("a challenge is single use, expires after 300 s, and serves only its ceremony", async () => {
        const device = authenticator();
        const { token } = await userWithPasskey(w, "erin@example.com", device);

        const login = await loginOptions(w);
        assert.equal(
          (await passkeyLogin(w, { sessionId: login.sessionId, credential: device.get(login) })).status,
          200,
        );
        const reused = await passkeyLogin(w, { sessionId: login.sessionId, credential: device.get(login) });
        assert.equal(reused.status, 400);
        assert.equal(reused.body.message, "Challenge expired or not found.");

        const late = await loginOptions(w);
        clock.advance(301);
        const expired = await passkeyLogin(w, { sessionId: late.sessionId, credential: device.get(late) });
        assert.equal(expired.status, 400);
        assert.equal(expired.body.message, "Challenge expired or not found.");

        // The session is now older than REAUTH_MAX_AGE; log in again for a fresh one.
        const fresh = await loginOptions(w);
        const signedIn = await passkeyLogin(w, { sessionId: fresh.sessionId, credential: device.get(fresh) });
        assert.equal(signedIn.status, 200, signedIn.raw);
        const registration = await bearer(w, "POST", "/api/v1/passkey/register/options", signedIn.body.token);
        assert.equal(registration.status, 200, registration.raw);
        const another = await loginOptions(w);
        const crossed = await passkeyLogin(w, {
          sessionId: another.sessionId,
          credential: device.get(another, { challenge: registration.body.challenge }),
        });
        assert.equal(crossed.status, 400, "a registration challenge does not sign anyone in");
        // And a login challenge does not register a passkey.
        const asRegistration = await bearer(w, "POST", "/api/v1/passkey/register", signedIn.body.token, {
          credential: authenticator().create({ ...registration.body, challenge: another.challenge }),
        });
        assert.equal(asRegistration.status, 400);
        assert.equal(asRegistration.body.message, "Challenge expired or not found.");
        // The login challenge's own sessionId must come with it.
        const other = await loginOptions(w);
        const swapped = await passkeyLogin(w, { sessionId: other.sessionId, credential: device.get(another) });
        assert.equal(swapped.status, 400);
        assert.equal((await passkeyLogin(w, { credential: device.get(other) })).body.message, "Missing session ID.");
        void token;
      });

      await t.test("a counter that goes backwards is refused, except for a synced passkey at 0", async () => {
        const device = authenticator();
        await userWithPasskey(w, "fay@example.com", device);
        const first = await loginOptions(w);
        assert.equal(
          (await passkeyLogin(w, { sessionId: first.sessionId, credential: device.get(first) })).status,
          200,
        );
        const second = await loginOptions(w);
        assert.equal(
          (await passkeyLogin(w, { sessionId: second.sessionId, credential: device.get(second) })).status,
          200,
        );
        const cloned = await loginOptions(w);
        const r = await passkeyLogin(w, {
          sessionId: cloned.sessionId,
          credential: device.get(cloned, { counter: 1 }),
        });
        assert.equal(r.status, 401, "counter 1 after 2: a cloned authenticator");

        const synced = authenticator({ synced: true });
        await userWithPasskey(w, "gus@example.com", synced);
        for (let i = 0; i < 3; i++) {
          const options = await loginOptions(w);
          const ok = await passkeyLogin(w, { sessionId: options.sessionId, credential: synced.get(options) });
          assert.equal(ok.status, 200, ok.raw);
        }
      });

      await t.test("another user's passkey does not answer my MFA challenge", async () => {
        const mine = authenticator();
        const theirs = authenticator();
        await userWithPasskey(w, "hal@example.com", mine);
        await userWithPasskey(w, "ivy@example.com", theirs);
        const mfaToken = await challenge(w, "hal@example.com");
        const options = await postJson(w.app, "/api/auth/mfa/passkey/options", { mfaToken });
        const r = await verify(w, { mfaToken, type: "passkey", credential: theirs.get(options.body) });
        assert.equal(r.status, 401);
        assert.equal(r.body.message, "Assertion verification failed.");
      });

      await t.test("delete is sensitive, and another user's passkey is not found", async () => {
        const device = authenticator();
        const { token, passkey } = await userWithPasskey(w, "jo@example.com", device);
        const other = await userWithPasskey(w, "kim@example.com", authenticator());
        const foreign = await withBearer(w, token, {
          method: "DELETE",
          url: `/api/v1/me/passkeys/${other.passkey.id}`,
        });
        assert.equal(foreign.status, 404);
        assert.equal(foreign.body.message, "Passkey not found.");

        clock.advance(601);
        const stale = await withBearer(w, token, { method: "DELETE", url: `/api/v1/me/passkeys/${passkey.id}` });
        assert.equal(stale.status, 403);
        assert.deepEqual(stale.body, {
          code: 403,
          message: "Step-up MFA verification required.",
          error: "mfa_required",
          error_description: "Step-up MFA verification required.",
        });
        const staleOptions = await bearer(w, "POST", "/api/v1/passkey/register/options", token);
        assert.equal(staleOptions.status, 403, "adding a passkey needs a recent authentication too");

        const options = await loginOptions(w);
        const fresh = await passkeyLogin(w, { sessionId: options.sessionId, credential: device.get(options) });
        const gone = await withBearer(w, fresh.body.token, {
          method: "DELETE",
          url: `/api/v1/me/passkeys/${passkey.id}`,
        });
        assert.equal(gone.status, 204, gone.raw);
        assert.equal((await bearer(w, "GET", "/api/v1/me/mfa/status", fresh.body.token)).body.passkeysCount, 0);
        const after = await loginOptions(w);
        assert.equal(
          (await passkeyLogin(w, { sessionId: after.sessionId, credential: device.get(after) })).status,
          401,
        );
      });

      await t.test("the same credential cannot be registered twice", async () => {
        const device = authenticator();
        const { token } = await userWithPasskey(w, "lee@example.com", device);
        const options = await bearer(w, "POST", "/api/v1/passkey/register/options", token);
        const firstId = device.keys[0]!.credentialId.toString("base64url");
        const again = await bearer(w, "POST", "/api/v1/passkey/register", token, {
          credential: device.create(options.body, { credentialId: firstId }),
        });
        assert.equal(again.status, 409);
        assert.equal(again.body.message, "This passkey is already registered.");
        // A credential whose outer id is not the attested one is refused, not stored under either id.
        const options2 = await bearer(w, "POST", "/api/v1/passkey/register/options", token);
        const relabelled = { ...device.create(options2.body), id: firstId, rawId: firstId };
        const mismatch = await bearer(w, "POST", "/api/v1/passkey/register", token, { credential: relabelled });
        assert.equal(mismatch.status, 400);
        assert.match(mismatch.body.message, /^Attestation verification failed: the credential ID/);
        assert.equal((await bearer(w, "GET", "/api/v1/me/passkeys", token)).body.length, 1);
        const missing = await bearer(w, "POST", "/api/v1/passkey/register", token, {});
        assert.equal(missing.status, 400);
        assert.equal(missing.body.message, "Invalid response type.");
      });
    } finally {
      await w.close();
    }
  });
}

test("passkey login and its options share OAUTH_LOGIN_RATE_LIMIT per IP", async () => {
  const w = await startWarden({ env: { OAUTH_LOGIN_RATE_LIMIT: "3/60" } });
  try {
    const statuses: number[] = [];
    for (const url of ["/api/auth/passkey/login/options", "/api/auth/passkey/login", "/api/auth/passkey/login/options"])
      statuses.push((await postJson(w.app, url, {})).status);
    assert.deepEqual(statuses, [200, 400, 200]);
    const limited = await postJson(w.app, "/api/auth/passkey/login", {});
    assert.equal(limited.status, 429);
    assert.ok(limited.headers["retry-after"]);
    const elsewhere = await postJson(w.app, "/api/auth/passkey/login/options", {}, {}, { remoteAddress: "10.1.2.3" });
    assert.equal(elsewhere.status, 200, "counted per IP");
  } finally {
    await w.close();
  }
});
