/**
 * Issue 10, findings 2, 5 and 8: the per-account failure budget is reserved before the password
 * or code is checked (concurrent guesses never exceed it), wrong TOTP and backup codes spend it
 * too, and it never locks the owner out: a known device (signed cookie, or the network of a
 * recent session) passes, and a throttled owner is mailed a one-time unlock link.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { renderMail } from "../../src/mail/templates/index.js";
import { linkToken } from "../accounts/smtp.js";
import { startWardenWithSmtp } from "../accounts/helpers.js";
import { engines } from "../helpers/engines.js";
import { FixedClock, postJson, startWarden, type Warden } from "../helpers/warden.js";
import { authenticatorCode, enrolledUser } from "../mfa/mfa-helpers.js";

const PASSWORD = "correct horse battery staple";
const THROTTLED = "Too many failed login attempts for this account. Please try again later.";

let ipCounter = 0;
const freshIp = () => `10.77.${(++ipCounter >> 8) & 255}.${ipCounter & 255}`;

const login = (w: Warden, email: string, password: string, ip: string = freshIp(), cookie?: string) =>
  postJson(w.app, "/api/auth", { email, password }, cookie ? { cookie } : {}, { remoteAddress: ip });

/** The `name=value` part of the device cookie a response set. */
function deviceCookie(headers: Record<string, string | string[] | undefined>): string {
  const all = [headers["set-cookie"] ?? []].flat();
  const cookie = all.find((c) => c.startsWith("wd_"));
  assert.ok(cookie, `a device cookie was set: ${JSON.stringify(all)}`);
  return cookie.split(";")[0]!;
}

function countVerifications(w: Warden): { count: number } {
  const counter = { count: 0 };
  const verify = w.deps.hasher.verify.bind(w.deps.hasher);
  w.deps.hasher.verify = (hash, password, priority) => {
    counter.count++;
    return verify(hash, password, priority);
  };
  return counter;
}

for (const { engine, skip } of engines) {
  describe(`the account budget (${engine.name})`, { skip }, () => {
    test("60 concurrent wrong passwords from 60 IPs: exactly the budget's 5 are checked, the rest 429", async () => {
      const w = await startWarden({
        engine,
        env: { ACCOUNT_FAILURE_LIMIT: "5/3600", HASH_QUEUE_MAX_WAIT_MS: "60000" },
      });
      try {
        await w.createUser("target@example.com", PASSWORD);
        const hashes = countVerifications(w);
        const answers = await Promise.all(
          Array.from({ length: 60 }, (_, i) => login(w, "target@example.com", `guess ${i}`)),
        );
        assert.equal(answers.filter((r) => r.status === 401).length, 5, answers.map((r) => r.status).join(","));
        const refused = answers.filter((r) => r.status === 429);
        assert.equal(refused.length, 55);
        for (const r of refused) assert.equal(r.body.message, THROTTLED);
        assert.equal(hashes.count, 5);
        // Unknown emails are budgeted the same way: the answer does not tell whether the account exists.
        const unknown = await Promise.all(
          Array.from({ length: 8 }, (_, i) => login(w, "nobody@example.com", `guess ${i}`)),
        );
        assert.equal(unknown.filter((r) => r.status === 401).length, 5);
        assert.equal(unknown.filter((r) => r.status === 429).length, 3);
      } finally {
        await w.close();
      }
    });

    test("a right password gives its unit back: successes never spend the budget", async () => {
      const w = await startWarden({ engine, env: { ACCOUNT_FAILURE_LIMIT: "3/3600" } });
      try {
        await w.createUser("busy@example.com", PASSWORD);
        for (let i = 0; i < 6; i++) assert.equal((await login(w, "busy@example.com", PASSWORD)).status, 200);
        for (let i = 0; i < 3; i++) assert.equal((await login(w, "busy@example.com", "wrong")).status, 401);
        assert.equal((await login(w, "busy@example.com", "wrong")).status, 429);
      } finally {
        await w.close();
      }
    });

    test("the owner keeps a way in: device cookie, a recent session's /64, and the mailed one-time unlock link", async () => {
      const { w, smtp, close } = await startWardenWithSmtp({ engine, env: { ACCOUNT_FAILURE_LIMIT: "5/3600" } });
      try {
        await w.createUser("owner@example.com", PASSWORD);
        // The owner's browser logs in once: it gets an HttpOnly device cookie.
        const browser = await login(w, "owner@example.com", PASSWORD, "198.51.100.10");
        assert.equal(browser.status, 200);
        const setCookie = [browser.headers["set-cookie"]].flat().find((c) => c?.startsWith("wd_"))!;
        assert.match(setCookie, /; HttpOnly/);
        assert.match(setCookie, /; SameSite=Strict/);
        assert.match(setCookie, /; Path=\/api\/auth/);
        assert.match(setCookie, /; Secure/);
        const cookie = deviceCookie(browser.headers);
        // Another client of the owner logs in over IPv6.
        assert.equal((await login(w, "owner@example.com", PASSWORD, "2001:db8:aa:bb::1")).status, 200);

        // An attacker spends the budget from 21 addresses.
        for (let i = 0; i < 21; i++) await login(w, "owner@example.com", `guess ${i}`);
        assert.equal((await login(w, "owner@example.com", "guess again")).status, 429);

        // The owner on a new device and a new network: throttled, and told by mail.
        const newDevice = await login(w, "owner@example.com", PASSWORD, "203.0.113.50");
        assert.equal(newDevice.status, 429);
        assert.equal(newDevice.body.message, THROTTLED);
        const mail = await smtp.nextMail("owner@example.com");
        assert.match(mail.decoded, /many wrong passwords or codes/);
        const token = linkToken(mail, "/unlock-account");

        // The browser with its cookie, from a network never seen: in.
        assert.equal((await login(w, "owner@example.com", PASSWORD, "203.0.113.51", cookie)).status, 200);
        // A forged or foreign cookie is no key.
        const forged = cookie.replace(/.$/, (c) => (c === "a" ? "b" : "a"));
        assert.equal((await login(w, "owner@example.com", PASSWORD, "203.0.113.52", forged)).status, 429);
        // Another address in the /64 of the IPv6 session, no cookie: in.
        assert.equal((await login(w, "owner@example.com", PASSWORD, "2001:db8:aa:bb:ffff::9")).status, 200);
        // The attacker in another /64 is still throttled, and the owner got one mail, not one per refusal.
        assert.equal((await login(w, "owner@example.com", PASSWORD, "2001:db8:cc:dd::1")).status, 429);
        await w.deps.mailer.idle();
        assert.equal(smtp.received.filter((m) => m.to === "owner@example.com").length, 1);

        // The link lifts the throttle once and makes the browser that opened it a known device.
        const unlock = await postJson(w.app, "/api/auth/unlock", { token }, {}, { remoteAddress: "203.0.113.60" });
        assert.equal(unlock.status, 200, unlock.raw);
        assert.deepEqual(unlock.body, { message: "Sign-in is unlocked. You can log in now." });
        const unlockedCookie = deviceCookie(unlock.headers);
        const again = await postJson(w.app, "/api/auth/unlock", { token }, {}, { remoteAddress: "203.0.113.61" });
        assert.equal(again.status, 401, "single use");
        assert.equal((await login(w, "owner@example.com", PASSWORD, "203.0.113.62")).status, 200);
        assert.ok(unlockedCookie.startsWith("wd_"));
      } finally {
        await close();
      }
    });

    test("a signed-in owner steps up while strangers' guesses throttle the account: the session has its own budget, from any network", async () => {
      const clock = new FixedClock();
      // The per-address limit of second steps out of the way: the account budget is what is tested.
      const env = { ACCOUNT_FAILURE_LIMIT: "5/3600", MFA_RATE_LIMIT: "1000/60" };
      const w = await startWarden({ engine, clock, env });
      try {
        const { token, secret } = await enrolledUser(w, clock, "owner@example.com");
        for (let i = 0; i < 8; i++) await login(w, "owner@example.com", `guess ${i}`);
        assert.equal((await login(w, "owner@example.com", PASSWORD)).status, 429, "the account is throttled");

        // The owner's phone, on a network no session of hers used, confirms it is her.
        const phone = "203.0.113.77";
        const stepUp = async (code: string) => {
          const started = await postJson(
            w.app,
            "/api/v1/mfa/challenge",
            {},
            { authorization: `Bearer ${token}` },
            { remoteAddress: phone },
          );
          assert.equal(started.status, 200, started.raw);
          return postJson(
            w.app,
            "/api/v1/mfa/verify",
            { challengeToken: started.body.challenge_token, type: "totp", code },
            { authorization: `Bearer ${token}` },
            { remoteAddress: phone },
          );
        };
        clock.advance(30);
        const proved = await stepUp(authenticatorCode(secret, clock));
        assert.equal(proved.status, 200, proved.raw);
        assert.ok(proved.body.verification_token);

        // A thief holding that session's access token guesses within the session's own budget: 5.
        const guesses = [];
        for (let i = 0; i < 7; i++) guesses.push((await stepUp(String(100000 + i))).body.message);
        assert.deepEqual(guesses, [...Array(5).fill("Invalid verification."), THROTTLED, THROTTLED]);
      } finally {
        await w.close();
      }
    });

    test("wrong TOTP and backup codes spend the account budget and are refused once it is spent", async () => {
      const clock = new FixedClock();
      const w = await startWarden({ engine, clock, env: { ACCOUNT_FAILURE_LIMIT: "10/3600" } });
      try {
        await enrolledUser(w, clock, "mfa@example.com");
        // 30 challenges (each after a right password, which gives its unit back), answered from 150 addresses.
        const challenges: string[] = [];
        for (let i = 0; i < 30; i++) {
          const r = await login(w, "mfa@example.com", PASSWORD);
          assert.equal(r.status, 200, r.raw);
          challenges.push(r.body.mfa_token);
        }
        let ip = 0;
        const answers = await Promise.all(
          challenges.flatMap((mfaToken, c) =>
            Array.from({ length: 5 }, (_, k) =>
              postJson(
                w.app,
                "/api/auth/mfa/verify",
                { mfaToken, code: String(100000 + c * 5 + k), type: k % 2 ? "backup_code" : "totp" },
                {},
                { remoteAddress: `10.88.${++ip >> 8}.${ip & 255}` },
              ),
            ),
          ),
        );
        const checked = answers.filter((r) =>
          ["Invalid code.", "Too many failed attempts. Please log in again."].includes(r.body.message),
        );
        const throttled = answers.filter((r) => r.body.message === THROTTLED);
        assert.equal(checked.length, 10, answers.map((r) => `${r.status} ${r.body.message}`).join("\n"));
        assert.equal(throttled.length, 140);
        // The budget is spent for passwords too: a new device cannot even try.
        assert.equal((await login(w, "mfa@example.com", PASSWORD)).status, 429);
      } finally {
        await w.close();
      }
    });
  });
}

test("the unlock mail exists in English and Romanian and carries its link", () => {
  const base = {
    kind: "account_unlock" as const,
    to: "a@example.com",
    userId: "u",
    firstName: null,
    occurredAt: new Date("2026-01-15T10:00:00Z"),
    ip: "203.0.113.9",
    link: "http://warden.test/unlock-account?token=abc",
    linkTtlHours: 24,
  };
  const en = renderMail({ ...base, locale: "en" }, { productName: "Warden", appUrl: "http://warden.test" });
  const ro = renderMail({ ...base, locale: "ro" }, { productName: "Warden", appUrl: "http://warden.test" });
  assert.match(en.subject, /slowed down/);
  assert.match(en.text, /Unlock sign-in:\nhttp:\/\/warden\.test\/unlock-account\?token=abc/);
  assert.match(ro.subject, /încetinite/);
  assert.match(ro.text, /Deblocați autentificarea:\nhttp:\/\/warden\.test\/unlock-account\?token=abc/);
  assert.match(ro.text, /203\.0\.113\.9/);
});
