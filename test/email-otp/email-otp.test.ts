import assert from "node:assert/strict";
import { test } from "node:test";
import { sha256Hex } from "../../src/domain/lib/secret-box.js";
import { startWardenWithSmtp } from "../accounts/helpers.js";
import { linkToken, type TestSmtp } from "../accounts/smtp.js";
import { engines } from "../helpers/engines.js";
import { FixedClock, postJson, withBearer, type Warden } from "../helpers/warden.js";
import { PASSWORD } from "../helpers/login.js";
import { challenge, enrolledUser, verify } from "../mfa/mfa-helpers.js";

const send = (w: Warden, body: object) => postJson(w.app, "/api/auth/mfa/email-otp/send", body);

/** The 6 digits of the next code mail to `to`, read from what the SMTP server received. */
async function codeFrom(smtp: TestSmtp, to: string): Promise<string> {
  const mail = await smtp.nextMail(to);
  const match = /(?:code is|este) (\d{6})\b/.exec(mail.decoded);
  assert.ok(match, `no code in mail:\n${mail.decoded}`);
  return match[1]!;
}

for (const { engine, skip } of engines) {
  test(`email codes as a second factor on ${engine.name}`, { skip }, async (t) => {
    const clock = new FixedClock();
    const { w, smtp, close } = await startWardenWithSmtp({
      engine,
      clock,
      env: { LOGIN_RATE_LIMIT: "1000/60", MFA_RATE_LIMIT: "1000/60", PASSWORD_RESET_RATE_LIMIT: "1000/60" },
    });
    const db = w.deps.database.db;
    const events = async (userId: string, type: string) =>
      (
        await db
          .selectFrom("security_events")
          .select("id")
          .where("user_id", "=", userId)
          .where("type", "=", type)
          .execute()
      ).length;
    try {
      await t.test("offered in the challenge; a mailed code answers it once; stored only as a keyed hash", async () => {
        const { user } = await enrolledUser(w, clock, "otp@example.com");
        await smtp.nextMail("otp@example.com"); // the MFA-enabled notice
        const login = await postJson(w.app, "/api/auth", { email: "otp@example.com", password: PASSWORD });
        assert.deepEqual(login.body.mfa_methods, ["totp", "backup_code", "email_otp"]);
        const mfaToken = login.body.mfa_token;

        const sent = await send(w, { mfaToken });
        assert.deepEqual([sent.status, sent.body], [200, { sent: true }]);
        const code = await codeFrom(smtp, "otp@example.com");
        const row = await db
          .selectFrom("email_otp_codes")
          .selectAll()
          .where("user_id", "=", user.id)
          .executeTakeFirstOrThrow();
        assert.ok(!row.code_hash.includes(code) && row.code_hash !== sha256Hex(code));
        assert.ok(!w.logLines.some((line) => line.includes(code)), "the code never reaches the log");
        assert.equal(await events(user.id, "email_otp_sent"), 1);

        const ok = await verify(w, { mfaToken, type: "email_otp", code });
        assert.equal(ok.status, 200, ok.raw);
        assert.ok(ok.body.token && ok.body.refresh_token);
        const { amr } = JSON.parse(Buffer.from(ok.body.token.split(".")[1], "base64url").toString("utf8"));
        assert.deepEqual(amr, ["pwd", "otp", "mfa"], "an emailed code is an otp");

        // Single use: the same code against a new challenge of the same user is refused.
        const next = await challenge(w, "otp@example.com");
        const reuse = await verify(w, { mfaToken: next, type: "email_otp", code });
        assert.deepEqual([reuse.status, reuse.body.message], [401, "Invalid code."]);
      });

      await t.test("one code used twice at once: exactly one session", async () => {
        await enrolledUser(w, clock, "race@example.com");
        await smtp.nextMail("race@example.com");
        const mfaToken = await challenge(w, "race@example.com");
        assert.equal((await send(w, { mfaToken })).status, 200);
        const code = await codeFrom(smtp, "race@example.com");
        const results = await Promise.all([
          verify(w, { mfaToken, type: "email_otp", code }),
          verify(w, { mfaToken, type: "email_otp", code }),
        ]);
        assert.deepEqual(results.map((r) => r.status).sort(), [200, 401]);
        assert.equal(results.filter((r) => r.body.refresh_token).length, 1);
      });

      await t.test("a code answers only the challenge it was sent for", async () => {
        await enrolledUser(w, clock, "bound@example.com");
        await smtp.nextMail("bound@example.com");
        const first = await challenge(w, "bound@example.com");
        const second = await challenge(w, "bound@example.com");
        assert.equal((await send(w, { mfaToken: first })).status, 200);
        const code = await codeFrom(smtp, "bound@example.com");
        assert.equal((await verify(w, { mfaToken: second, type: "email_otp", code })).status, 401);
        assert.equal((await verify(w, { mfaToken: first, type: "email_otp", code })).status, 200);
      });

      await t.test("wrong codes count against the challenge's 5 attempts", async () => {
        await enrolledUser(w, clock, "guess@example.com");
        await smtp.nextMail("guess@example.com");
        const mfaToken = await challenge(w, "guess@example.com");
        assert.equal((await send(w, { mfaToken })).status, 200);
        const code = await codeFrom(smtp, "guess@example.com");
        const wrong = code === "000000" ? "000001" : "000000";
        const statuses = [];
        for (let i = 0; i < 5; i++)
          statuses.push((await verify(w, { mfaToken, type: "email_otp", code: wrong })).status);
        assert.deepEqual(statuses, [401, 401, 401, 401, 429]);
        const late = await verify(w, { mfaToken, type: "email_otp", code });
        assert.deepEqual([late.status, late.body.message], [429, "Too many failed attempts. Please log in again."]);
        const resend = await send(w, { mfaToken });
        assert.deepEqual([resend.status, resend.body.message], [401, "Invalid or expired MFA challenge."]);
      });

      await t.test("60 s between sends; a new send replaces the old code; 5 sends per hour", async () => {
        const { user } = await enrolledUser(w, clock, "spacing@example.com");
        await smtp.nextMail("spacing@example.com");
        let mfaToken = await challenge(w, "spacing@example.com");
        assert.equal((await send(w, { mfaToken })).status, 200);
        const old = await codeFrom(smtp, "spacing@example.com");
        clock.advance(30);
        const soon = await send(w, { mfaToken });
        assert.deepEqual(
          [soon.status, soon.body.message],
          [429, "Please wait a minute before asking for another code."],
        );
        assert.equal(soon.headers["retry-after"], "30");
        clock.advance(30);
        assert.equal((await send(w, { mfaToken })).status, 200);
        const fresh = await codeFrom(smtp, "spacing@example.com");
        if (old !== fresh) assert.equal((await verify(w, { mfaToken, type: "email_otp", code: old })).status, 401);
        assert.equal((await verify(w, { mfaToken, type: "email_otp", code: fresh })).status, 200);

        // Two sends so far this hour; three more pass (new challenges, a minute apart), the sixth does not.
        for (let i = 0; i < 3; i++) {
          clock.advance(61);
          mfaToken = await challenge(w, "spacing@example.com");
          assert.equal((await send(w, { mfaToken })).status, 200);
          await codeFrom(smtp, "spacing@example.com");
        }
        clock.advance(61);
        mfaToken = await challenge(w, "spacing@example.com");
        const capped = await send(w, { mfaToken });
        assert.deepEqual(
          [capped.status, capped.body.message],
          [429, "Too many codes were sent. Please try again later."],
        );
        assert.ok(Number(capped.headers["retry-after"]) > 0);
        assert.equal(await events(user.id, "email_otp_sent"), 5);
        // The limiter's window slides by weighting the previous hour, so it has fully refilled after two.
        clock.advance(7200);
        mfaToken = await challenge(w, "spacing@example.com");
        assert.equal((await send(w, { mfaToken })).status, 200, "the window has passed");
        await codeFrom(smtp, "spacing@example.com");
      });

      await t.test("withheld for EMAIL_OTP_COOLDOWN after a password reset (fallback policy)", async () => {
        await enrolledUser(w, clock, "reset@example.com");
        await smtp.nextMail("reset@example.com");
        const before = await challenge(w, "reset@example.com");
        assert.equal((await send(w, { mfaToken: before })).status, 200);
        await codeFrom(smtp, "reset@example.com");

        assert.equal((await postJson(w.app, "/api/auth/forgot-password", { email: "reset@example.com" })).status, 200);
        const token = linkToken(await smtp.nextMail("reset@example.com"), "/reset-password");
        const newPassword = "a new passphrase for reset";
        assert.equal((await postJson(w.app, "/api/auth/reset-password", { token, password: newPassword })).status, 200);
        await smtp.nextMail("reset@example.com"); // the reset notice

        const login = await postJson(w.app, "/api/auth", { email: "reset@example.com", password: newPassword });
        assert.deepEqual(login.body.mfa_methods, ["totp", "backup_code"]);
        const refused = await send(w, { mfaToken: login.body.mfa_token });
        assert.deepEqual(
          [refused.status, refused.body.message],
          [400, "Email codes are not available for this account."],
        );

        clock.advance(604_800 - 60);
        const stillWithheld = await postJson(w.app, "/api/auth", { email: "reset@example.com", password: newPassword });
        assert.ok(!stillWithheld.body.mfa_methods.includes("email_otp"));
        clock.advance(60);
        const after = await postJson(w.app, "/api/auth", { email: "reset@example.com", password: newPassword });
        assert.ok(after.body.mfa_methods.includes("email_otp"), "offered again a week later");
        assert.equal((await send(w, { mfaToken: after.body.mfa_token })).status, 200);
        const code = await codeFrom(smtp, "reset@example.com");
        assert.equal((await verify(w, { mfaToken: after.body.mfa_token, type: "email_otp", code })).status, 200);
      });

      await t.test("the mail is in the user's language; bad requests get the contract's answers", async () => {
        const { token } = await enrolledUser(w, clock, "ro@example.com");
        await smtp.nextMail("ro@example.com");
        const patched = await withBearer(w, token, {
          method: "PATCH",
          url: "/api/v1/me",
          payload: { locale: "ro-RO" },
        });
        assert.equal(patched.status, 200);
        const mfaToken = await challenge(w, "ro@example.com");
        assert.equal((await send(w, { mfaToken })).status, 200);
        const mail = await smtp.nextMail("ro@example.com");
        assert.match(mail.decoded, /Codul dumneavoastră de autentificare este \d{6}\. Este valabil 5 minute/);

        const missing = await send(w, {});
        assert.deepEqual(
          [missing.status, missing.body],
          [400, { code: 400, message: "Missing mfaToken.", error: "Missing mfaToken." }],
        );
        const unknown = await send(w, { mfaToken: "f".repeat(64) });
        assert.deepEqual([unknown.status, unknown.body.message], [401, "Invalid or expired MFA challenge."]);
        clock.advance(301);
        const expired = await send(w, { mfaToken });
        assert.equal(expired.status, 401);
      });
    } finally {
      await close();
    }
  });

  test(`EMAIL_OTP_MFA off and always on ${engine.name}`, { skip }, async () => {
    for (const policy of ["off", "always"] as const) {
      const clock = new FixedClock();
      const { w, smtp, close } = await startWardenWithSmtp({
        engine,
        clock,
        env: { EMAIL_OTP_MFA: policy, LOGIN_RATE_LIMIT: "1000/60", PASSWORD_RESET_RATE_LIMIT: "1000/60" },
      });
      try {
        const { user } = await enrolledUser(w, clock, "policy@example.com");
        // A reset just now: `always` offers the code anyway (Storno's behaviour), `off` never does.
        await w.deps.users.notePasswordReset(user.id, clock.now());
        const login = await postJson(w.app, "/api/auth", { email: "policy@example.com", password: PASSWORD });
        assert.equal(login.body.mfa_methods.includes("email_otp"), policy === "always", policy);
        const sent = await send(w, { mfaToken: login.body.mfa_token });
        assert.equal(sent.status, policy === "always" ? 200 : 400, policy);
        if (policy === "always") {
          await smtp.nextMail("policy@example.com");
          const code = await codeFrom(smtp, "policy@example.com");
          assert.equal((await verify(w, { mfaToken: login.body.mfa_token, type: "email_otp", code })).status, 200);
        } else {
          const refused = await verify(w, { mfaToken: login.body.mfa_token, type: "email_otp", code: "123456" });
          assert.equal(refused.status, 401);
        }
      } finally {
        await close();
      }
    }
  });
}
