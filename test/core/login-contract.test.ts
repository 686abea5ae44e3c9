/**
 * The seed (shared/seed/login-endpoint.txt), example by example, byte for byte, on both engines.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { sha256Hex } from "../../src/domain/lib/secret-box.js";
import { engines } from "../helpers/engines.js";
import { freshIp } from "../helpers/login.js";
import { postJson, startWarden, type Warden } from "../helpers/warden.js";
import { turnOnTotp } from "../mfa/mfa-helpers.js";

const PASSWORD = "your-secure-password";
const INVALID = '{"code":401,"message":"Invalid credentials."}';
const NOT_CONFIRMED = '{"code":403,"message":"Please confirm your email address before logging in."}';
const INACTIVE = '{"code":403,"message":"Your account has been deactivated. Please contact support."}';

/** Each call from its own address, so the per-IP limit never interferes with what a test is about. */
const login = (w: Warden, body: unknown) => postJson(w.app, "/api/auth", body, {}, { remoteAddress: freshIp() });

async function sendRaw(w: Warden, payload: string | undefined, contentType?: string) {
  const response = await w.app.inject({
    method: "POST",
    url: "/api/auth",
    payload,
    headers: contentType ? { "content-type": contentType } : {},
    remoteAddress: freshIp(),
  });
  return { status: response.statusCode, body: JSON.parse(response.body) as Record<string, unknown> };
}

for (const { engine, skip } of engines) {
  describe(`POST /api/auth on ${engine.name}`, { skip }, () => {
    let w: Warden;
    test("setup", async () => {
      w = await startWarden({ engine });
      await w.createUser("user@example.com", PASSWORD);
      await w.createUser("unconfirmed@example.com", PASSWORD, { confirmed: false });
      await w.createUser("inactive@example.com", PASSWORD, { active: false });
      await w.createUser("both@example.com", PASSWORD, { active: false, confirmed: false });
    });

    test("200: exactly token and refresh_token", async () => {
      const r = await login(w, { email: "user@example.com", password: PASSWORD });
      assert.equal(r.status, 200, r.raw);
      assert.deepEqual(Object.keys(r.body), ["token", "refresh_token"]);
      assert.match(r.body.token, /^eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6/); // {"alg":"RS256","typ":"JWT","kid":
      assert.ok(Buffer.from(r.body.refresh_token, "base64url").length >= 32, "at least 256 bits");
      assert.match(String(r.headers["content-type"]), /^application\/json/);
    });

    test("the refresh token is stored only as its SHA-256, tied to a session with user, times, IP and user agent", async () => {
      const r = await postJson(
        w.app,
        "/api/auth",
        { email: "user@example.com", password: PASSWORD },
        { "user-agent": "seed-client/1.0" },
        { remoteAddress: "198.51.100.44" },
      );
      assert.equal(r.status, 200);
      const db = w.deps.database.db;
      const token = await db
        .selectFrom("refresh_tokens")
        .selectAll()
        .where("token_hash", "=", sha256Hex(r.body.refresh_token))
        .executeTakeFirstOrThrow();
      const session = await db
        .selectFrom("sessions")
        .selectAll()
        .where("id", "=", token.session_id)
        .executeTakeFirstOrThrow();
      const user = await w.deps.users.findByEmail("user@example.com");
      assert.equal(session.user_id, user!.id);
      assert.equal(session.ip, "198.51.100.44");
      assert.equal(session.user_agent, "seed-client/1.0");
      assert.equal(session.last_used_at, session.created_at);
      assert.equal(token.expires_at - token.created_at, 2_592_000_000, "REFRESH_TOKEN_TTL");
      const everything = JSON.stringify([
        await db.selectFrom("refresh_tokens").selectAll().execute(),
        await db.selectFrom("sessions").selectAll().execute(),
      ]);
      assert.equal(everything.includes(r.body.refresh_token), false, "the token itself is stored nowhere");
    });

    test("emails are matched case-insensitively and trimmed", async () => {
      const r = await login(w, { email: "  USER@Example.COM ", password: PASSWORD });
      assert.equal(r.status, 200, r.raw);
    });

    test("401 for a wrong password and for an unknown email, byte for byte", async () => {
      const wrong = await login(w, { email: "user@example.com", password: "not-the-password" });
      const unknown = await login(w, { email: "nobody@example.com", password: PASSWORD });
      assert.equal(wrong.status, 401);
      assert.equal(wrong.raw, INVALID);
      assert.equal(unknown.status, 401);
      assert.equal(unknown.raw, INVALID);
    });

    test("403 email not confirmed, byte for byte", async () => {
      const r = await login(w, { email: "unconfirmed@example.com", password: PASSWORD });
      assert.equal(r.status, 403);
      assert.equal(r.raw, NOT_CONFIRMED);
    });

    test("403 account deactivated, byte for byte (deactivation wins over a missing confirmation)", async () => {
      const r = await login(w, { email: "inactive@example.com", password: PASSWORD });
      assert.equal(r.status, 403);
      assert.equal(r.raw, INACTIVE);
      assert.equal((await login(w, { email: "both@example.com", password: PASSWORD })).raw, INACTIVE);
    });

    test("a 403 only after the password checked out: a wrong password gets the 401 like anyone", async () => {
      for (const email of ["unconfirmed@example.com", "inactive@example.com", "both@example.com"]) {
        const r = await login(w, { email, password: "wrong-password" });
        assert.equal(r.status, 401, email);
        assert.equal(r.raw, INVALID);
      }
    });

    test("200 MFA challenge for a user with TOTP on: 64 hex characters, methods, no tokens", async () => {
      const user = await w.createUser("mfa@example.com", PASSWORD);
      const sealed = w.deps.box.encrypt("totp", "JBSWY3DPEHPK3PXP");
      assert.equal(await turnOnTotp(w, user.id, sealed), true);
      const r = await login(w, { email: "mfa@example.com", password: PASSWORD });
      assert.equal(r.status, 200, r.raw);
      assert.deepEqual(Object.keys(r.body), ["mfa_required", "mfa_token", "mfa_methods"]);
      assert.equal(r.body.mfa_required, true);
      assert.match(r.body.mfa_token, /^[0-9a-f]{64}$/);
      assert.deepEqual(r.body.mfa_methods, ["totp", "email_otp"]);
      const challenge = await w.deps.mfaChallenges.find(sha256Hex(r.body.mfa_token));
      assert.equal(challenge?.userId, user.id, "bound to the user, stored as a hash");
      assert.equal(challenge.expiresAt.getTime() - challenge.createdAt.getTime(), 300_000, "valid 5 minutes");
      assert.equal(challenge.consumedAt, null);
      assert.doesNotMatch(r.raw, /refresh_token|"token"/);
      // Each login gets a fresh challenge.
      const again = await login(w, { email: "mfa@example.com", password: PASSWORD });
      assert.notEqual(again.body.mfa_token, r.body.mfa_token);
      // A wrong password still gets the plain 401, not a challenge.
      assert.equal((await login(w, { email: "mfa@example.com", password: "wrong" })).raw, INVALID);
    });

    const badRequests: Array<[string, string | undefined, string | undefined]> = [
      ["a missing password", "application/json", '{"email":"user@example.com"}'],
      ["a missing email", "application/json", `{"password":"${PASSWORD}"}`],
      ["a number as password", "application/json", '{"email":"user@example.com","password":123456}'],
      ["an array as email", "application/json", `{"email":["user@example.com"],"password":"${PASSWORD}"}`],
      ["an object as password", "application/json", '{"email":"user@example.com","password":{"value":"x"}}'],
      ["null as password", "application/json", '{"email":"user@example.com","password":null}'],
      ["an empty password", "application/json", '{"email":"user@example.com","password":""}'],
      ["malformed JSON", "application/json", '{"email":"user@example.com",'],
      ["a JSON array body", "application/json", "[]"],
      ["text/plain", "text/plain", `{"email":"user@example.com","password":"${PASSWORD}"}`],
      ["a form body", "application/x-www-form-urlencoded", `email=user%40example.com&password=${PASSWORD}`],
      [
        "a body over 16 KB",
        "application/json",
        JSON.stringify({ email: "user@example.com", password: "x".repeat(16 * 1024) }),
      ],
      ["an empty JSON body", "application/json", ""],
      ["no body and no content type", undefined, undefined],
    ];
    for (const [what, contentType, payload] of badRequests) {
      test(`400 with the contract body for ${what}`, async () => {
        const r = await sendRaw(w, payload, contentType);
        assert.equal(r.status, 400, JSON.stringify(r.body));
        assert.equal(r.body.code, 400);
        assert.equal(typeof r.body.message, "string");
      });
    }

    test("400 bodies name the field: errors {field: [sentence]}", async () => {
      const r = await sendRaw(w, '{"email":"user@example.com","password":123}', "application/json");
      assert.deepEqual(r.body, {
        code: 400,
        message: "Validation failed.",
        errors: { password: ["This value should be of type string."] },
      });
      const missing = await sendRaw(w, "{}", "application/json");
      assert.deepEqual(Object.keys(missing.body.errors as object).sort(), ["email", "password"]);
    });

    test("a body of exactly 16 KB is still read", async () => {
      const envelope = JSON.stringify({ email: "user@example.com", password: "" });
      const body = JSON.stringify({ email: "user@example.com", password: "p".repeat(16 * 1024 - envelope.length) });
      assert.equal(Buffer.byteLength(body), 16 * 1024);
      const r = await sendRaw(w, body, "application/json");
      // The schema caps passwords at 4096 characters: a validation error, not a size refusal.
      assert.equal(r.status, 400);
      assert.equal(r.body.message, "Validation failed.");
    });

    test("teardown", async () => {
      await w.close();
    });
  });
}
