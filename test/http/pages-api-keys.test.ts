/** API keys on /account, through inject(): create (a sensitive operation), shown once, listed by prefix, revoked. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { SCOPES_FILE } from "../api-keys/fixtures.js";
import { engines } from "../helpers/engines.js";
import { PASSWORD } from "../helpers/login.js";
import { hidden, PageBrowser, signInWithCode } from "../helpers/page-browser.js";
import { FixedClock, startWarden, type Warden } from "../helpers/warden.js";
import { authenticatorCode, enrolledUser } from "../mfa/mfa-helpers.js";

const KEY = /\baf_[0-9a-f]{64}\b/g;

async function signIn(w: Warden, email: string) {
  const browser = new PageBrowser(w);
  const signedIn = await browser.post("/login", {
    _csrf: await browser.csrfOf("/login"),
    email,
    password: PASSWORD,
  });
  return { browser, signedIn };
}

const asKey = (w: Warden, key: string) => w.app.inject({ url: "/api/v1/me", headers: { authorization: key } });

for (const { engine, skip } of engines) {
  test(
    `${engine.name}: API keys on /account: created, shown once, listed by prefix, revoked after a confirmation`,
    { skip },
    async () => {
      const w = await startWarden({ engine, env: { API_KEY_SCOPES_FILE: SCOPES_FILE } });
      try {
        await w.createUser("ana@example.com", PASSWORD);
        const { browser, signedIn } = await signIn(w, "ana@example.com");
        assert.equal(signedIn.statusCode, 303, signedIn.body);

        const account = await browser.get("/account");
        assert.match(account.body, /<h2 id="api-keys-title">API keys<\/h2>/);
        assert.match(account.body, /No API keys yet\./);
        assert.match(account.body, /<label for="scope-0">Read invoices <code>invoices:read<\/code>/);
        assert.doesNotMatch(account.body, /admin:all/, "a scope this user may not grant is not offered");
        const csrf = hidden(account.body, "_csrf");

        // Nothing filled in: both problems next to their fields, in the announced summary, before any step-up.
        const empty = await browser.post("/account/api-keys/create", { _csrf: csrf, name: " " });
        assert.equal(empty.statusCode, 400);
        assert.match(empty.body, /class="summary" role="alert"/);
        assert.match(empty.body, /<a href="#apiKeyName">Give the key a name\.<\/a>/);
        assert.match(empty.body, /<a href="#apiKeyScopes">Choose at least one scope\.<\/a>/);
        assert.match(empty.body, /id="apiKeyName-error"/);
        assert.match(empty.body, /id="apiKeyName" name="name"[^>]*aria-describedby="apiKeyName-hint apiKeyName-error"/);
        assert.match(empty.body, /id="apiKeyScopes" tabindex="-1" aria-describedby="apiKeyScopes-error"/);
        // A scope the catalogue keeps for admins: refused by the domain, next to the scopes, the name kept.
        const forbidden = await browser.post("/account/api-keys/create", {
          _csrf: csrf,
          name: "Too much",
          scopes: ["invoices:read", "admin:all"],
        });
        assert.equal(forbidden.statusCode, 403);
        assert.match(forbidden.body, /id="apiKeyScopes-error"><span>You cannot grant one of those scopes\./);
        assert.match(forbidden.body, /id="apiKeyName" name="name" type="text" value="Too much"/);
        assert.match(forbidden.body, /id="scope-0" name="scopes" value="invoices:read" checked/);

        const created = await browser.post("/account/api-keys/create", {
          _csrf: csrf,
          name: "CI deploys",
          scopes: ["invoices:read", "invoices:write"],
        });
        assert.equal(created.statusCode, 200, created.body);
        assert.equal(created.headers["cache-control"], "no-store");
        assert.match(created.body, /Copy the key now/);
        const keys = created.body.match(KEY) ?? [];
        assert.equal(keys.length, 1, "the key, once");
        const key = keys[0]!;
        assert.equal((await asKey(w, key)).statusCode, 200, "the key works");

        const listed = await browser.get("/account");
        assert.equal(listed.statusCode, 200);
        assert.doesNotMatch(listed.body, KEY, "never shown again");
        assert.match(
          listed.body,
          new RegExp(`<strong>CI deploys</strong> <code class="prefix">${key.slice(0, 12)}…</code>`),
        );
        assert.match(listed.body, /<dd>invoices:read, invoices:write<\/dd>/);
        assert.match(listed.body, /API key created/, "in the security log");

        // Revoke: the first post asks, the second revokes.
        const [id] = (await w.deps.apiKeys.listForUser((await w.deps.users.findByEmail("ana@example.com"))!.id)).map(
          (k) => k.id,
        );
        const asked = await browser.post("/account/api-keys/revoke", { _csrf: csrf, id: id! });
        assert.equal(asked.statusCode, 200);
        assert.match(asked.body, new RegExp(`Revoke “CI deploys” \\(${key.slice(0, 12)}…\\)\\?`));
        assert.match(asked.body, /name="confirm" value="yes"/);
        assert.equal((await asKey(w, key)).statusCode, 200, "asking revokes nothing");
        const revoked = await browser.post("/account/api-keys/revoke", { _csrf: csrf, id: id!, confirm: "yes" });
        assert.equal(revoked.statusCode, 303);
        assert.equal(revoked.headers.location, "/account?notice=api-key-revoked");
        const after = await browser.get("/account?notice=api-key-revoked");
        assert.match(after.body, /role="status">The API key was revoked\./);
        assert.doesNotMatch(after.body, new RegExp(key.slice(0, 12)), "gone from the list");
        assert.equal((await asKey(w, key)).statusCode, 403, "and dead");
        // Again (a second tab): nothing to do, no error.
        const again = await browser.post("/account/api-keys/revoke", { _csrf: csrf, id: id!, confirm: "yes" });
        assert.equal(again.statusCode, 303);

        // In Romanian.
        const ro = await browser.get("/account?lang=ro");
        assert.match(ro.body, /<h2 id="api-keys-title">Chei API<\/h2>/);
        assert.match(ro.body, /Creează cheia/);
      } finally {
        await w.close();
      }
    },
  );

  test(
    `${engine.name}: a stale session confirms it is you before a new API key; without a second factor, signs in again`,
    { skip },
    async () => {
      const clock = new FixedClock();
      const w = await startWarden({ engine, clock, env: { API_KEY_SCOPES_FILE: SCOPES_FILE } });
      try {
        const { secret } = await enrolledUser(w, clock, "mfa@example.com");
        const browser = await signInWithCode(w, clock, "mfa@example.com", secret);

        clock.advance(w.deps.config.REAUTH_MAX_AGE + 1);
        const csrf = await browser.csrfOf("/account");
        const asked = await browser.post("/account/api-keys/create", {
          _csrf: csrf,
          name: "Nightly export",
          scopes: "invoices:read",
        });
        assert.equal(asked.statusCode, 403);
        assert.match(asked.body, /<h1>Confirm it is you<\/h1>/);
        assert.doesNotMatch(asked.body, KEY, "no key before the proof");
        assert.equal(hidden(asked.body, "action"), "api-key-create");

        const wrong = await browser.post("/account/confirm", {
          _csrf: hidden(asked.body, "_csrf"),
          challenge_token: hidden(asked.body, "challenge_token"),
          methods: hidden(asked.body, "methods"),
          action: "api-key-create",
          target: hidden(asked.body, "target").replaceAll("&quot;", '"'),
          type: "totp",
          code: "000000",
        });
        assert.equal(wrong.statusCode, 401);
        assert.match(wrong.body, /id="totp-error"/);

        const proved = await browser.post("/account/confirm", {
          _csrf: hidden(wrong.body, "_csrf"),
          challenge_token: hidden(wrong.body, "challenge_token"),
          methods: hidden(wrong.body, "methods"),
          action: "api-key-create",
          target: hidden(wrong.body, "target").replaceAll("&quot;", '"'),
          type: "totp",
          code: authenticatorCode(secret, clock),
        });
        assert.equal(proved.statusCode, 200, proved.body);
        const [key] = proved.body.match(KEY) ?? [];
        assert.ok(key, "the key, shown once after the proof");
        assert.match(proved.body, /The key “Nightly export”/);
        assert.equal((await asKey(w, key)).statusCode, 200);

        // No second factor to prove: a fresh sign-in is the only way, and no key is made.
        await w.createUser("plain@example.com", PASSWORD);
        const plain = await signIn(w, "plain@example.com");
        clock.advance(w.deps.config.REAUTH_MAX_AGE + 1);
        const late = await plain.browser.post("/account/api-keys/create", {
          _csrf: await plain.browser.csrfOf("/account"),
          name: "Late",
          scopes: "invoices:read",
        });
        assert.equal(late.statusCode, 403);
        assert.match(late.body, /For your security, sign in again before you change this\./);
        assert.match(late.body, /href="\/login\?prompt=login&amp;redirect_to=%2Faccount"/);
        const plainUser = (await w.deps.users.findByEmail("plain@example.com"))!;
        assert.equal((await w.deps.apiKeys.listForUser(plainUser.id)).length, 0);
      } finally {
        await w.close();
      }
    },
  );

  test(
    `${engine.name}: a key's expiry chosen on the form; replacing a key after a confirmation (through "Confirm it is you" when the session is stale); an expired key is not replaced`,
    { skip },
    async () => {
      const clock = new FixedClock();
      const w = await startWarden({ engine, clock, env: { API_KEY_SCOPES_FILE: SCOPES_FILE } });
      try {
        const { secret } = await enrolledUser(w, clock, "mfa@example.com");
        const user = (await w.deps.users.findByEmail("mfa@example.com"))!;
        const browser = await signInWithCode(w, clock, "mfa@example.com", secret);

        // The form offers an expiry, 90 days checked.
        const account = await browser.get("/account");
        assert.match(account.body, /<legend>Expires<\/legend>/);
        assert.match(
          account.body,
          /id="expires-90" name="expires" value="90" checked>\s*<label for="expires-90">In 90 days<\/label>/,
        );
        assert.match(account.body, /<label for="expires-never">Never<\/label>/);
        const csrf = hidden(account.body, "_csrf");
        const made = await browser.post("/account/api-keys/create", {
          _csrf: csrf,
          name: "Monthly report",
          scopes: "invoices:read",
          expires: "30",
        });
        assert.equal(made.statusCode, 200, made.body);
        const [monthly] = made.body.match(KEY) ?? [];
        const [row] = await w.deps.apiKeys.listForUser(user.id);
        assert.equal(row!.expiresAt?.toISOString(), new Date(clock.now().getTime() + 30 * 86_400_000).toISOString());
        const odd = await browser.post("/account/api-keys/create", {
          _csrf: csrf,
          name: "Odd",
          scopes: "invoices:read",
          expires: "7",
        });
        assert.equal(odd.statusCode, 400, "only the choices offered");

        // Replace: the first post asks, the second shows the new key once; the old one is dead.
        const asked = await browser.post("/account/api-keys/rotate", { _csrf: csrf, id: row!.id });
        assert.equal(asked.statusCode, 200);
        assert.match(asked.body, /<h1>Replace the API key<\/h1>/);
        assert.match(asked.body, /Replace “Monthly report” \(af_[0-9a-f]{9}…\) by a new key/);
        assert.equal((await asKey(w, monthly!)).statusCode, 200, "asking replaces nothing");
        const replaced = await browser.post("/account/api-keys/rotate", { _csrf: csrf, id: row!.id, confirm: "yes" });
        assert.equal(replaced.statusCode, 200, replaced.body);
        assert.equal(replaced.headers["cache-control"], "no-store");
        assert.match(replaced.body, /<h1>Your replacement API key<\/h1>/);
        assert.match(replaced.body, /The API key was replaced: the old one no longer works\./);
        const [replacement] = replaced.body.match(KEY) ?? [];
        assert.equal((await asKey(w, replacement!)).statusCode, 200);
        assert.equal((await asKey(w, monthly!)).statusCode, 403, "the old key died");
        const live = (await w.deps.apiKeys.listForUser(user.id)).filter((k) => !k.revokedAt);
        assert.deepEqual(
          live.map((k) => [k.name, k.expiresAt?.toISOString()]),
          [["Monthly report", row!.expiresAt?.toISOString()]],
          "same name and expiry",
        );

        // A stale session proves a second factor first; the replacement happens after the proof.
        clock.advance(w.deps.config.REAUTH_MAX_AGE + 1);
        const stale = await browser.post("/account/api-keys/rotate", {
          _csrf: await browser.csrfOf("/account"),
          id: live[0]!.id,
          confirm: "yes",
        });
        assert.equal(stale.statusCode, 403);
        assert.match(stale.body, /<h1>Confirm it is you<\/h1>/);
        assert.equal(hidden(stale.body, "action"), "api-key-rotate");
        assert.equal((await asKey(w, replacement!)).statusCode, 200, "nothing replaced before the proof");
        const proved = await browser.post("/account/confirm", {
          _csrf: hidden(stale.body, "_csrf"),
          challenge_token: hidden(stale.body, "challenge_token"),
          methods: hidden(stale.body, "methods"),
          action: "api-key-rotate",
          target: hidden(stale.body, "target"),
          type: "totp",
          code: authenticatorCode(secret, clock),
        });
        assert.equal(proved.statusCode, 200, proved.body);
        const [third] = proved.body.match(KEY) ?? [];
        assert.equal((await asKey(w, third!)).statusCode, 200);
        assert.equal((await asKey(w, replacement!)).statusCode, 403);

        // Past its expiry (and the page session's life: a new sign-in) a key is listed as expired
        // with no "Replace"; a post anyway is refused beside it.
        clock.advance(31 * 86_400);
        const expired = (await w.deps.apiKeys.listForUser(user.id)).find((k) => !k.revokedAt)!;
        const again = await signInWithCode(w, clock, "mfa@example.com", secret);
        const later = await again.get("/account");
        assert.match(later.body, /<span class="badge off">Expired<\/span>/);
        assert.doesNotMatch(later.body, new RegExp(`id="rotate-${expired.id}"`));
        const refused = await again.post("/account/api-keys/rotate", {
          _csrf: hidden(later.body, "_csrf"),
          id: expired.id,
          confirm: "yes",
        });
        assert.equal(refused.statusCode, 400, refused.body);
        assert.match(
          refused.body,
          new RegExp(
            `id="rotate-${expired.id}-error">This key has expired, so it cannot be replaced\\. Create a new one\\.`,
          ),
        );
        assert.doesNotMatch(refused.body, KEY);
      } finally {
        await w.close();
      }
    },
  );
}
