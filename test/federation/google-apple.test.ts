import assert from "node:assert/strict";
import crypto from "node:crypto";
import { test } from "node:test";
import { deactivateUser } from "../../src/domain/accounts/lifecycle.js";
import { engines } from "../helpers/engines.js";
import { postJson, withBearer } from "../helpers/warden.js";
import { login as loginTokens } from "../helpers/login.js";
import { authenticatorCode, bearer } from "../mfa/mfa-helpers.js";
import {
  APPLE_CLIENT,
  appleSignIn,
  googleSignIn,
  me,
  newSubject,
  PASSWORD,
  sessionCount,
  startFederation,
} from "./fixtures.js";

const amrOf = (jwt: string) => JSON.parse(Buffer.from(jwt.split(".")[1]!, "base64url").toString("utf8")).amr;
const INVALID_GOOGLE = { code: 401, message: "Invalid Google token." };
const INVALID_APPLE = { code: 401, message: "Invalid Apple token." };
const REGISTRATION_REQUIRED = {
  code: 403,
  message: "Account not found. Please register first.",
  error: "registration_required",
};

for (const { engine, skip } of engines) {
  test(`Google and Apple sign-in against a fake identity provider on ${engine.name}`, { skip }, async (t) => {
    const world = await startFederation(engine);
    const { w, google, apple, smtp, clock } = world;
    const db = w.deps.database.db;
    const gmail = (name: string) => `${name}.${crypto.randomBytes(3).toString("hex")}@gmail.com`;
    try {
      await t.test("a first sign-in creates a confirmed account without a password; the next finds it", async () => {
        const email = gmail("Ana");
        const sub = newSubject();
        const credential = await google.mint({
          sub,
          email: email.toUpperCase(),
          email_verified: true,
          given_name: "Ana",
          family_name: "Pop",
        });
        const first = await googleSignIn(w, { credential });
        assert.equal(first.status, 200, first.raw);
        assert.deepEqual(Object.keys(first.body).sort(), ["refresh_token", "token"]);
        assert.deepEqual(amrOf(first.body.token), ["fed"], "RFC 8176: federated");
        const profile = await me(w, first.body.token);
        assert.equal(profile.email, email.toLowerCase());
        assert.equal(profile.emailVerified, true);
        assert.equal(profile.hasPassword, false);
        assert.equal(profile.firstName, "Ana");
        assert.equal(profile.lastName, "Pop");

        const identities = await withBearer(w, first.body.token, { method: "GET", url: "/api/v1/me/identities" });
        assert.equal(identities.status, 200);
        assert.equal(identities.body.data.length, 1);
        assert.equal(identities.body.data[0].provider, "google");
        assert.equal(identities.body.data[0].email, email.toLowerCase());

        // `idToken` is accepted as well as `credential`; the same person gets the same account.
        const again = await googleSignIn(w, { idToken: await google.mint({ sub, email, email_verified: true }) });
        assert.equal(again.status, 200, again.raw);
        assert.equal((await me(w, again.body.token)).id, profile.id);

        // No password: the password login refuses exactly as for a wrong password (same hash work, see hasher).
        const pwd = await postJson(w.app, "/api/auth", { email, password: "!" });
        assert.deepEqual([pwd.status, pwd.body], [401, { code: 401, message: "Invalid credentials." }]);
        const empty = await postJson(w.app, "/api/auth", { email, password: PASSWORD });
        assert.equal(empty.status, 401);
      });

      await t.test("a verified Gmail address links onto the confirmed account and mails a notice", async () => {
        const email = gmail("bob");
        const user = await w.createUser(email, PASSWORD);
        const r = await googleSignIn(w, {
          credential: await google.mint({ sub: newSubject(), email, email_verified: true }),
        });
        assert.equal(r.status, 200, r.raw);
        const profile = await me(w, r.body.token);
        assert.equal(profile.id, user.id);
        assert.equal(profile.hasPassword, true);
        const mail = await smtp.nextMail(email);
        assert.match(mail.decoded, /Google sign-in was added to your Warden account/);
        // The password still works: linking adds a way in, it takes none away.
        assert.ok((await loginTokens(w, email)).token);
      });

      await t.test("a Workspace address (hd) links; a verified non-Gmail address without hd does not", async () => {
        const workspace = `carol.${crypto.randomBytes(3).toString("hex")}@firma.ro`;
        const carol = await w.createUser(workspace, PASSWORD);
        const linked = await googleSignIn(w, {
          credential: await google.mint({ sub: newSubject(), email: workspace, email_verified: true, hd: "firma.ro" }),
        });
        assert.equal(linked.status, 200, linked.raw);
        assert.equal((await me(w, linked.body.token)).id, carol.id);

        const other = `dan.${crypto.randomBytes(3).toString("hex")}@yahoo.com`;
        const dan = await w.createUser(other, PASSWORD);
        const refused = await googleSignIn(w, {
          credential: await google.mint({ sub: newSubject(), email: other, email_verified: true }),
        });
        assert.deepEqual(
          [refused.status, refused.body],
          [409, { code: 409, message: "An account with this email address already exists." }],
        );
        assert.equal(await sessionCount(w, dan.id), 0);
      });

      await t.test("email_verified false onto an existing account never yields a session on it", async () => {
        const email = gmail("victim");
        const victim = await w.createUser(email, PASSWORD);
        const sub = newSubject();
        for (const flag of [false, "false", undefined]) {
          const r = await googleSignIn(w, {
            credential: await google.mint({ sub, email, ...(flag === undefined ? {} : { email_verified: flag }) }),
          });
          assert.equal(r.status, 409, r.raw);
          assert.equal(r.body.token, undefined);
          assert.equal(r.body.mfa_token, undefined);
        }
        assert.equal(await sessionCount(w, victim.id), 0);
        const identities = await db.selectFrom("identities").select("id").where("subject", "=", sub).execute();
        assert.equal(identities.length, 0, "nothing was linked");
        // Nor does the unverified address create an account of its own.
        const fresh = await googleSignIn(w, {
          credential: await google.mint({ sub: newSubject(), email: gmail("nobody"), email_verified: false }),
        });
        assert.deepEqual(
          [fresh.status, fresh.body.message],
          [403, "The provider has not verified this email address."],
        );
      });

      await t.test("an unconfirmed account is taken over: its pending password no longer works", async () => {
        const email = gmail("squatted");
        const registered = await postJson(w.app, "/api/auth/register", { email, password: "squatter's passphrase" });
        assert.equal(registered.status, 201, registered.raw);
        await smtp.nextMail(email); // the confirmation mail the squatter could not open
        const r = await googleSignIn(w, {
          credential: await google.mint({ sub: newSubject(), email, email_verified: true }),
        });
        assert.equal(r.status, 200, r.raw);
        const profile = await me(w, r.body.token);
        assert.deepEqual([profile.emailVerified, profile.hasPassword], [true, false]);
        const old = await postJson(w.app, "/api/auth", { email, password: "squatter's passphrase" });
        assert.equal(old.status, 401);
      });

      await t.test("each refusal of a bad token is 401 Invalid Google token.", async () => {
        const base = { sub: newSubject(), email: gmail("eve"), email_verified: true };
        const cases: Array<[string, Promise<string>]> = [
          ["wrong audience", google.mint({ ...base, aud: "someone-else.apps.googleusercontent.com" })],
          ["wrong issuer", google.mint({ ...base, iss: "https://evil.example" })],
          ["expired beyond the leeway", google.mint(base, { issuedAt: -3700, expiresIn: 3600 })],
          ["issued in the future", google.mint(base, { issuedAt: 120 })],
          ["bad signature", google.mint(base, { forgeWithUnknownKey: true })],
          ["signed by the other provider", apple.mint({ ...base, aud: google.issuer })],
        ];
        for (const [name, token] of cases) {
          const r = await googleSignIn(w, { credential: await token });
          assert.deepEqual([r.status, r.body], [401, INVALID_GOOGLE], name);
        }
        const tampered = (await google.mint(base)).split(".");
        tampered[1] = Buffer.from(JSON.stringify({ ...base, sub: "admin" })).toString("base64url");
        assert.equal((await googleSignIn(w, { credential: tampered.join(".") })).status, 401);
        assert.equal((await googleSignIn(w, { credential: "not-a-jwt" })).status, 401);
        const none = `${Buffer.from('{"alg":"none"}').toString("base64url")}.${Buffer.from(JSON.stringify(base)).toString("base64url")}.`;
        assert.equal((await googleSignIn(w, { credential: none })).status, 401);

        // Within the 60 s leeway: expired 30 s ago still passes.
        const late = await googleSignIn(w, {
          credential: await google.mint(base, { issuedAt: -3630, expiresIn: 3600 }),
        });
        assert.equal(late.status, 200, late.raw);

        const missing = await googleSignIn(w, {});
        assert.deepEqual([missing.status, missing.body], [400, { code: 400, message: "Missing credential." }]);
        const events = await db
          .selectFrom("security_events")
          .select("detail")
          .where("type", "=", "federated_login_failure")
          .execute();
        assert.ok(events.length >= cases.length);
      });

      await t.test(
        "an unknown kid is refused, then accepted once the IdP publishes the key (JWKS refetched)",
        async () => {
          const base = { sub: newSubject(), email: gmail("rotate"), email_verified: true };
          assert.equal((await googleSignIn(w, { credential: await google.mint(base) })).status, 200);
          const kid = await google.prepareKey();
          const token = await google.mint(base, { kid });
          const before = google.jwksFetches;
          const refused = await googleSignIn(w, { credential: token });
          assert.deepEqual([refused.status, refused.body], [401, INVALID_GOOGLE]);
          assert.equal(google.jwksFetches, before + 1, "the unknown kid made Warden look again");
          google.publish(kid);
          const accepted = await googleSignIn(w, { credential: token });
          assert.equal(accepted.status, 200, accepted.raw);
          // The cached set now holds the new key: no further fetch for the next token.
          const fetches = google.jwksFetches;
          assert.equal((await googleSignIn(w, { credential: await google.mint(base) })).status, 200);
          assert.equal(google.jwksFetches, fetches);
        },
      );

      await t.test(
        "sign-up is refused with X-Platform: ios or ALLOW_SIGNUP off; an existing identity still signs in",
        async () => {
          const sub = newSubject();
          const credential = await google.mint({ sub, email: gmail("ios"), email_verified: true });
          const ios = await googleSignIn(w, { credential }, { "x-platform": "ios" });
          assert.deepEqual([ios.status, ios.body], [403, REGISTRATION_REQUIRED]);
          assert.equal((await googleSignIn(w, { credential })).status, 200);
          assert.equal((await googleSignIn(w, { credential }, { "x-platform": "ios" })).status, 200);
        },
      );

      await t.test("Apple: the body's email is ignored, the nonce is checked as sha256 hex", async () => {
        const victimEmail = gmail("apple-victim");
        const victim = await w.createUser(victimEmail, PASSWORD);
        const relay = `${crypto.randomBytes(5).toString("hex")}@privaterelay.appleid.com`;
        const nonce = crypto.randomBytes(16).toString("hex");
        const hashed = crypto.createHash("sha256").update(nonce).digest("hex");
        const token = await apple.mint({ sub: newSubject(), email: relay, email_verified: "true", nonce: hashed });

        const wrongNonce = await appleSignIn(w, { identityToken: token, nonce: nonce + "x", email: victimEmail });
        assert.deepEqual([wrongNonce.status, wrongNonce.body], [401, INVALID_APPLE]);
        const raw = await appleSignIn(w, { identityToken: token, nonce: hashed });
        assert.equal(raw.status, 401, "the hash itself is not the nonce");

        const r = await appleSignIn(w, {
          identityToken: token,
          nonce,
          email: victimEmail,
          fullName: { givenName: "Ioana", familyName: "Marin" },
        });
        assert.equal(r.status, 200, r.raw);
        const profile = await me(w, r.body.token);
        assert.equal(profile.email, relay);
        assert.notEqual(profile.id, victim.id);
        assert.deepEqual([profile.firstName, profile.lastName], ["Ioana", "Marin"]);
        assert.equal(await sessionCount(w, victim.id), 0);

        // A nonce sent for a token that carries none is a mismatch, not a pass.
        const bare = await apple.mint({ sub: newSubject(), email: relay, email_verified: true });
        assert.equal((await appleSignIn(w, { identityToken: bare, nonce })).status, 401);
        // No email in the token and no linked identity: nothing to create the account with.
        const noEmail = await appleSignIn(w, {
          identityToken: await apple.mint({ sub: newSubject() }),
          email: victimEmail,
        });
        assert.deepEqual([noEmail.status, noEmail.body], [400, { code: 400, message: "Email not available." }]);
        const missing = await appleSignIn(w, {});
        assert.deepEqual([missing.status, missing.body], [400, { code: 400, message: "Missing identityToken." }]);
        const google_aud = await appleSignIn(w, {
          identityToken: await apple.mint({ sub: newSubject(), email: relay, aud: "ro.other.app" }),
        });
        assert.equal(google_aud.status, 401);
        assert.equal(APPLE_CLIENT, "ro.storno.app");
      });

      await t.test("the MFA challenge applies to provider sign-ins; deactivated accounts are refused", async () => {
        const email = gmail("mfa");
        await w.createUser(email, PASSWORD);
        const { token } = await loginTokens(w, email);
        const setup = await bearer(w, "POST", "/api/v1/me/mfa/totp/setup", token);
        assert.equal(
          (
            await bearer(w, "POST", "/api/v1/me/mfa/totp/enable", token, {
              code: authenticatorCode(setup.body.secret, clock),
            })
          ).status,
          200,
        );
        clock.advance(30);
        const sub = newSubject();
        const r = await googleSignIn(w, { credential: await google.mint({ sub, email, email_verified: true }) });
        assert.equal(r.status, 200, r.raw);
        assert.equal(r.body.mfa_required, true);
        assert.equal(r.body.refresh_token, undefined);
        const verified = await postJson(w.app, "/api/auth/mfa/verify", {
          mfaToken: r.body.mfa_token,
          code: authenticatorCode(setup.body.secret, clock),
        });
        assert.equal(verified.status, 200, verified.raw);
        assert.deepEqual(amrOf(verified.body.token), ["fed", "otp", "mfa"], "the challenge kept the first factor");

        const user = (await w.deps.users.findByEmail(email))!;
        await deactivateUser(w.deps, user, { ip: null, userAgent: null });
        const inactive = await googleSignIn(w, { credential: await google.mint({ sub, email, email_verified: true }) });
        assert.deepEqual(
          [inactive.status, inactive.body.message],
          [403, "Your account has been deactivated. Please contact support."],
        );
      });

      await t.test("unlinking: never the last way in; another user's identity is 404", async () => {
        const email = gmail("unlink");
        const sub = newSubject();
        const signedIn = await googleSignIn(w, { credential: await google.mint({ sub, email, email_verified: true }) });
        const token = signedIn.body.token as string;
        const list = async () =>
          (await withBearer(w, token, { method: "GET", url: "/api/v1/me/identities" })).body.data as Array<{
            id: string;
            provider: string;
          }>;
        const [googleIdentity] = await list();
        const only = await withBearer(w, token, {
          method: "DELETE",
          url: `/api/v1/me/identities/${googleIdentity!.id}`,
        });
        assert.deepEqual([only.status, only.body], [409, { code: 409, message: "This is your only way to sign in." }]);

        // Apple vouches for the same address: the identity links onto this (confirmed) account.
        const viaApple = await appleSignIn(w, {
          identityToken: await apple.mint({ sub: newSubject(), email, email_verified: true }),
        });
        assert.equal(viaApple.status, 200, viaApple.raw);
        const both = await list();
        assert.deepEqual(both.map((i) => i.provider).sort(), ["apple", "google"]);

        // Two unlinks at once: the store locks the user, so exactly one of them goes.
        const results = await Promise.all(
          both.map((i) => withBearer(w, token, { method: "DELETE", url: `/api/v1/me/identities/${i.id}` })),
        );
        assert.deepEqual(results.map((r) => r.status).sort(), [204, 409]);
        assert.equal((await list()).length, 1);

        const stranger = await w.createUser(gmail("stranger"), PASSWORD);
        const strangerToken = (await loginTokens(w, stranger.email)).token;
        const [remaining] = await list();
        const foreign = await withBearer(w, strangerToken, {
          method: "DELETE",
          url: `/api/v1/me/identities/${remaining!.id}`,
        });
        assert.equal(foreign.status, 404);

        // With a password, the last identity may go.
        const withPassword = gmail("haspw");
        await w.createUser(withPassword, PASSWORD);
        const linked = await googleSignIn(w, {
          credential: await google.mint({ sub: newSubject(), email: withPassword, email_verified: true }),
        });
        const [own] = (await withBearer(w, linked.body.token, { method: "GET", url: "/api/v1/me/identities" })).body
          .data;
        const gone = await withBearer(w, linked.body.token, {
          method: "DELETE",
          url: `/api/v1/me/identities/${own.id}`,
        });
        assert.equal(gone.status, 204, gone.raw);
      });

      await t.test("two first sign-ins of one person at once make one account", async () => {
        const email = gmail("twice");
        const credential = await google.mint({ sub: newSubject(), email, email_verified: true });
        const [a, b] = await Promise.all([googleSignIn(w, { credential }), googleSignIn(w, { credential })]);
        assert.deepEqual([a.status, b.status], [200, 200], a.raw + b.raw);
        assert.equal((await me(w, a.body.token)).id, (await me(w, b.body.token)).id);
        const rows = await db.selectFrom("users").select("id").where("email", "=", email).execute();
        assert.equal(rows.length, 1);
      });
    } finally {
      await world.close();
    }
  });

  test(`provider sign-in limits and switches on ${engine.name}`, { skip }, async () => {
    const world = await startFederation(engine, { OAUTH_LOGIN_RATE_LIMIT: "3/60", ALLOW_SIGNUP: "false" });
    const { w, google } = world;
    try {
      const credential = await google.mint({ sub: newSubject(), email: "new.person@gmail.com", email_verified: true });
      const statuses = [];
      for (let i = 0; i < 4; i++) statuses.push((await googleSignIn(w, { credential })).status);
      assert.deepEqual(statuses, [403, 403, 403, 429], "ALLOW_SIGNUP=false refuses sign-up; the 4th is over the limit");
      const apple = await appleSignIn(w, { identityToken: "x" });
      assert.equal(apple.status, 429, "Apple shares the oauth_login bucket");
    } finally {
      await world.close();
    }
    const off = await startFederation(engine, { GOOGLE_CLIENT_IDS: "" });
    try {
      const r = await googleSignIn(off.w, { credential: await off.google.mint({ sub: "1" }) });
      assert.deepEqual([r.status, r.body.message], [404, "Sign-in with this provider is not enabled."]);
    } finally {
      await off.close();
    }
  });
}
