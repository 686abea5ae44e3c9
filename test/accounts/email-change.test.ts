/**
 * Changing the sign-in address (POST /api/v1/me/email, then the link mailed to the new address),
 * through a real SMTP server, on both engines: nothing changes before the link is opened; the
 * old address is told twice (asked, done); the old address's reset link dies; the link works once;
 * only the newest link works; a stale session must step up; an address taken in the meantime is
 * a 409; two links opened at once change the address once.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { engines } from "../helpers/engines.js";
import { login, PASSWORD, postLogin } from "../helpers/login.js";
import { FixedClock, postJson, type Warden } from "../helpers/warden.js";
import { authenticatorCode, enrolledUser } from "../mfa/mfa-helpers.js";
import { hidden, PageBrowser, signInWithCode } from "../helpers/page-browser.js";
import { post, startWardenWithSmtp } from "./helpers.js";
import { linkToken } from "./smtp.js";

const askFor = (w: Warden, token: string, email: string, headers: Record<string, string> = {}) =>
  postJson(w.app, "/api/v1/me/email", { email }, { authorization: `Bearer ${token}`, ...headers });

for (const { engine, skip } of engines) {
  test(
    `${engine.name}: a new sign-in address: asked, mailed, confirmed once; the old address told and its links dead`,
    { skip },
    async () => {
      const clock = new FixedClock();
      const { w, smtp, close } = await startWardenWithSmtp({ engine, clock });
      try {
        await w.createUser("ana@example.com", PASSWORD);
        const { token } = await login(w, "ana@example.com");
        // A reset link mailed to the old address before the change.
        await post(w.app, "/api/auth/forgot-password", { email: "ana@example.com" });
        const oldReset = linkToken(await smtp.nextMail("ana@example.com"), "/reset-password");

        // Refused before anything is sent: not an address, the same address, one taken.
        await w.createUser("bob@example.com", PASSWORD);
        const invalid = await askFor(w, token, "not an address");
        assert.equal(invalid.status, 400);
        assert.deepEqual(invalid.body.errors, { email: ["This value is not a valid email address."] });
        const same = await askFor(w, token, " ANA@example.com ");
        assert.deepEqual(same.body.errors, { email: ["This is already your email address."] });
        const taken = await askFor(w, token, "bob@example.com");
        assert.equal(taken.status, 409);
        assert.deepEqual(taken.body, { code: 409, message: "An account with this email address already exists." });

        const asked = await askFor(w, token, "Ana.New@Example.com");
        assert.equal(asked.status, 202, asked.raw);
        assert.deepEqual(asked.body, {
          message: "We have emailed a link to the new address. Your email address changes when it is opened.",
        });
        const link = await smtp.nextMail("ana.new@example.com");
        assert.match(link.decoded, /Confirm your new email address/);
        const changeToken = linkToken(link, "/confirm-email-change");
        const notice = await smtp.nextMail("ana@example.com");
        assert.match(notice.decoded, /asked to change its sign-in address/);
        assert.doesNotMatch(notice.decoded, /ana\.new@example\.com/, "the notice does not name the new address");
        // Nothing changed yet.
        assert.equal((await postLogin(w, "ana@example.com", PASSWORD)).status, 200);
        assert.equal((await postLogin(w, "ana.new@example.com", PASSWORD)).status, 401);

        // The link opens a hosted page with a button (a mail scanner's GET changes nothing)...
        const page = new PageBrowser(w);
        const opened = await page.get(`/confirm-email-change?token=${changeToken}`);
        assert.equal(opened.statusCode, 200);
        assert.match(opened.body, /<h1>Confirm your new email address<\/h1>/);
        assert.equal((await postLogin(w, "ana@example.com", PASSWORD)).status, 200, "opening the page changes nothing");
        // ...whose form posts the token: the address changes.
        const confirmed = await page.post("/confirm-email-change", {
          _csrf: await page.csrfOf(`/confirm-email-change?token=${changeToken}`),
          token: changeToken,
        });
        assert.equal(confirmed.statusCode, 200, confirmed.body);
        assert.match(confirmed.body, /Your email address has been changed\. Sign in with the new one from now on\./);
        const done = await smtp.nextMail("ana@example.com");
        assert.match(done.decoded, /was changed from this one to a new address/);

        assert.equal((await postLogin(w, "ana@example.com", PASSWORD)).status, 401, "the old address signs in no more");
        const signedIn = await login(w, "ana.new@example.com");
        const profile = await w.app.inject({ url: "/api/v1/me", headers: { authorization: `Bearer ${token}` } });
        assert.equal(profile.statusCode, 200, "the session that asked goes on");
        assert.equal(profile.json().email, "ana.new@example.com");
        assert.equal(profile.json().emailVerified, true);

        // The link works once (through the API as well); the old address's reset link is dead.
        const again = await post(w.app, "/api/auth/confirm-email-change", { token: changeToken });
        assert.equal(again.status, 401);
        const reset = await post(w.app, "/api/auth/reset-password", {
          token: oldReset,
          password: "a whole new phrase",
        });
        assert.equal(reset.status, 401, "a reset link mailed to the old address no longer works");
        // The old address is free for a new account.
        const register = await post(w.app, "/api/auth/register", { email: "ana@example.com", password: PASSWORD });
        assert.equal(register.status, 201, register.raw);

        const events = await w.app.inject({
          url: "/api/v1/me/security-events",
          headers: { authorization: `Bearer ${signedIn.token}` },
        });
        const types = (events.json().data as Array<{ type: string }>).map((e) => e.type);
        assert.ok(types.includes("email_change_requested") && types.includes("email_changed"), types.join(","));
      } finally {
        await close();
      }
    },
  );

  test(
    `${engine.name}: a new address needs a fresh session; only the newest link works; a taken address is a 409 at the link; two links at once change it once`,
    { skip },
    async () => {
      const clock = new FixedClock();
      const { w, smtp, close } = await startWardenWithSmtp({ engine, clock });
      try {
        await w.createUser("cleo@example.com", PASSWORD);
        const { token } = await login(w, "cleo@example.com");
        clock.advance(w.deps.config.REAUTH_MAX_AGE + 1);
        const stale = await askFor(w, token, "cleo.new@example.com");
        assert.equal(stale.status, 403);
        assert.equal(stale.body.error, "mfa_required");
        assert.equal(smtp.received.length, 0, "nothing mailed");

        const fresh = (await login(w, "cleo@example.com")).token;
        assert.equal((await askFor(w, fresh, "first@example.com")).status, 202);
        const first = linkToken(await smtp.nextMail("first@example.com"), "/confirm-email-change");
        assert.equal((await askFor(w, fresh, "second@example.com")).status, 202);
        const second = linkToken(await smtp.nextMail("second@example.com"), "/confirm-email-change");
        assert.equal((await post(w.app, "/api/auth/confirm-email-change", { token: first })).status, 401, "superseded");

        // Someone registers the new address before Cleo opens the link.
        assert.equal(
          (await post(w.app, "/api/auth/register", { email: "second@example.com", password: PASSWORD })).status,
          201,
        );
        const late = await post(w.app, "/api/auth/confirm-email-change", { token: second });
        assert.equal(late.status, 409, late.raw);
        assert.equal((await postLogin(w, "cleo@example.com", PASSWORD)).status, 200, "her address unchanged");

        // A third request, its link opened twice at once: one change.
        assert.equal((await askFor(w, fresh, "third@example.com")).status, 202);
        const third = linkToken(await smtp.nextMail("third@example.com"), "/confirm-email-change");
        const both = await Promise.all(
          [1, 2].map(() => post(w.app, "/api/auth/confirm-email-change", { token: third })),
        );
        assert.deepEqual(both.map((r) => r.status).sort(), [200, 401]);
        assert.equal((await postLogin(w, "third@example.com", PASSWORD)).status, 200);

        // Three requests an hour per account.
        const fourth = await askFor(w, fresh, "fourth@example.com");
        assert.equal(fourth.status, 429, fourth.raw);
        assert.ok(Number(fourth.headers["retry-after"]) > 0);

        // A registration of the new address racing the link: one of the two gets it, never a 500
        // (on PostgreSQL the unique index's refusal aborted the link's transaction: 500 in 13 of 30).
        let current = "third@example.com";
        for (let i = 0; i < 12; i++) {
          clock.advance(3601);
          const { token: now } = await login(w, current);
          const target = `race${i}@example.com`;
          assert.equal((await askFor(w, now, target)).status, 202);
          const link = linkToken(await smtp.nextMail(target), "/confirm-email-change");
          const [registered, changed] = await Promise.all([
            post(w.app, "/api/auth/register", { email: target, password: PASSWORD }),
            post(w.app, "/api/auth/confirm-email-change", { token: link }),
          ]);
          const outcome = `${registered.status}/${changed.status}`;
          assert.ok(["201/409", "409/200"].includes(outcome), `${outcome}: ${changed.raw}`);
          if (changed.status === 200) current = target;
        }
      } finally {
        await close();
      }
    },
  );
}

test("the account page: a new address asked for with a form (refusals next to it), then through 'Confirm it is you' when the session is old", async () => {
  const clock = new FixedClock();
  const { w, smtp, close } = await startWardenWithSmtp({ clock });
  try {
    const { secret } = await enrolledUser(w, clock, "dana@example.com");
    clock.advance(30);
    const page = await signInWithCode(w, clock, "dana@example.com", secret);

    const account = await page.get("/account");
    assert.match(account.body, /<h2 id="email-title">Email address<\/h2>/);
    assert.match(account.body, /You sign in with dana@example\.com\./);
    const csrf = hidden(account.body, "_csrf");
    const invalid = await page.post("/account/email", { _csrf: csrf, email: "dana at example" });
    assert.equal(invalid.statusCode, 400);
    assert.match(invalid.body, /id="email-error"><span>This value is not a valid email address\./);
    assert.match(invalid.body, /id="email" name="email" type="email" value="dana at example"/);

    const sent = await page.post("/account/email", { _csrf: csrf, email: "dana.new@example.com" });
    assert.equal(sent.statusCode, 303, sent.body);
    assert.equal(sent.headers.location, "/account?notice=email-change-sent");
    assert.match((await smtp.nextMail("dana.new@example.com")).decoded, /Confirm your new email address/);

    // Ten minutes on: the second factor again first, then the link goes out.
    clock.advance(w.deps.config.REAUTH_MAX_AGE + 1);
    const stale = await page.post("/account/email", { _csrf: csrf, email: "dana.other@example.com" });
    assert.equal(stale.statusCode, 403);
    assert.match(stale.body, /<h1>Confirm it is you<\/h1>/);
    assert.equal(hidden(stale.body, "action"), "email-change");
    assert.equal(hidden(stale.body, "target"), "dana.other@example.com");
    const proved = await page.post("/account/confirm", {
      _csrf: hidden(stale.body, "_csrf"),
      challenge_token: hidden(stale.body, "challenge_token"),
      methods: hidden(stale.body, "methods"),
      action: "email-change",
      target: "dana.other@example.com",
      type: "totp",
      code: authenticatorCode(secret, clock),
    });
    assert.equal(proved.statusCode, 303, proved.body);
    const link = linkToken(await smtp.nextMail("dana.other@example.com"), "/confirm-email-change");
    assert.equal((await post(w.app, "/api/auth/confirm-email-change", { token: link })).status, 200);
    const after = await page.get("/account?notice=email-change-sent");
    assert.match(after.body, /You sign in with dana\.other@example\.com\./);
  } finally {
    await close();
  }
});
