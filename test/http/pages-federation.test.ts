/**
 * The pages' Google/Apple redirect flow through inject(): the state is bound to the browser's
 * sealed cookie and to its provider, spent once, and the ID token must carry the cookie's nonce.
 * (The whole flow in Chromium: test/browser/federation.test.ts.)
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { startIdentityProvider } from "../helpers/identity-provider.js";
import { PageBrowser } from "../helpers/page-browser.js";
import { FixedClock, startWarden } from "../helpers/warden.js";

const CLIENT = "web.apps.googleusercontent.com";
const STATE_COOKIE = "__Host-warden_federation";

test("pages: a Google sign-in's state is bound to the browser and the provider, spent once, and checks the nonce", async () => {
  const clock = new FixedClock();
  const idp = await startIdentityProvider({ audience: CLIENT, now: () => clock.now() });
  const w = await startWarden({
    clock,
    env: {
      GOOGLE_CLIENT_IDS: CLIENT,
      GOOGLE_AUTHORIZE_URL: idp.authorizeUrl,
      GOOGLE_JWKS_URL: idp.jwksUrl,
      GOOGLE_ISSUERS: idp.issuer,
      APPLE_CLIENT_IDS: "com.example.web",
      APPLE_JWKS_URL: idp.jwksUrl,
      APPLE_ISSUER: idp.issuer,
    },
  });
  try {
    const browser = new PageBrowser(w);
    const csrf = /name="_csrf" value="([^"]+)"/.exec((await browser.get("/login")).body)![1]!;
    const start = async () => {
      const r = await browser.get("/login/google?redirect_to=/account");
      assert.equal(r.statusCode, 303);
      const location = new URL(String(r.headers.location));
      assert.equal(location.origin + location.pathname, idp.authorizeUrl);
      const cookie = r.headers["set-cookie"];
      // __Host-: a sibling subdomain cannot plant its own state (PUBLIC_URL is not plain-HTTP localhost here).
      assert.match(
        String(cookie),
        /^__Host-warden_federation=v1\.[^;]+; Max-Age=600; Path=\/; HttpOnly; Secure; SameSite=Lax$/,
      );
      return { state: location.searchParams.get("state")!, nonce: location.searchParams.get("nonce")! };
    };
    const token = (nonce: string) =>
      idp.mint({ sub: "g-1", email: "ana@gmail.com", email_verified: true, aud: CLIENT, nonce });
    const finish = (state: string, idToken: string, provider = "google") =>
      browser.post("/login/federated", { _csrf: csrf, provider, state, id_token: idToken });

    // The happy path, then the very same answer again: refused, the state is spent.
    const first = await start();
    const sealed = browser.cookies.get(STATE_COOKIE)!;
    const signedIn = await finish(first.state, await token(first.nonce));
    assert.equal(signedIn.statusCode, 303);
    assert.equal(signedIn.headers.location, "/account");
    assert.equal(browser.cookies.has(STATE_COOKIE), false, "the state cookie is cleared");
    browser.cookies.set(STATE_COOKIE, sealed);
    const replay = await finish(first.state, await token(first.nonce));
    assert.equal(replay.statusCode, 400);
    assert.match(replay.body, /took too long or was already used/);

    // A token minted for another sign-in's nonce (an injected token): the ID token check refuses it.
    const second = await start();
    const injected = await finish(second.state, await token(first.nonce));
    assert.equal(injected.statusCode, 401);
    assert.match(injected.body, /Google did not confirm the sign-in/);

    // Without the cookie (another browser), or answered as the other provider: refused.
    const third = await start();
    browser.cookies.delete(STATE_COOKIE);
    assert.equal((await finish(third.state, await token(third.nonce))).statusCode, 400);
    const fourth = await start();
    assert.equal((await finish(fourth.state, await token(fourth.nonce), "apple")).statusCode, 400);

    // Apple's form_post arrives from Apple's site without a CSRF token: it only renders the hand-on form.
    const bounced = await browser.post(
      "/login/apple/callback",
      { id_token: "x.y.z", state: "s" },
      { origin: "https://appleid.apple.com" },
    );
    assert.equal(bounced.statusCode, 200);
    assert.match(bounced.body, /<form method="post" action="\/login\/federated" data-autosubmit>/);
    assert.match(bounced.body, /name="id_token" value="x\.y\.z"/);
    // ...while the finishing post must come from Warden's own pages.
    const foreign = await browser.post(
      "/login/federated",
      { _csrf: csrf, provider: "apple", state: "s" },
      { origin: "https://appleid.apple.com" },
    );
    assert.equal(foreign.statusCode, 403);

    // Still signed in from the first answer, without a password: a first one is a sensitive operation. Ten minutes on, and
    // with no second factor to step up with, the page asks for a fresh sign-in instead.
    clock.advance(w.deps.config.REAUTH_MAX_AGE + 1);
    const late = await browser.post("/account/password", { _csrf: csrf, newPassword: "a long walk by the sea" });
    assert.equal(late.statusCode, 403);
    assert.match(late.body, /href="\/login\?prompt=login&amp;redirect_to=%2Faccount"/);
    assert.equal((await w.deps.users.findByEmail("ana@gmail.com"))!.passwordHash, "!", "no password was set");
  } finally {
    await w.close();
    await idp.close();
  }
});

test("pages: the provider buttons appear only for configured providers", async () => {
  const w = await startWarden({ env: { GOOGLE_CLIENT_IDS: CLIENT } });
  try {
    const html = (await w.app.inject({ url: "/login?redirect_to=/account" })).body;
    assert.match(html, /href="\/login\/google\?redirect_to=%2Faccount"/);
    assert.doesNotMatch(html, /Continue with Apple/);
    assert.match(html, /data-passkey="get"/);
    assert.equal((await w.app.inject({ url: "/login/apple" })).statusCode, 404);
  } finally {
    await w.close();
  }
});

test("config: the pages' web client id must be one of the provider's client ids", async () => {
  await assert.rejects(
    startWarden({ env: { GOOGLE_CLIENT_IDS: "a", GOOGLE_WEB_CLIENT_ID: "b" } }),
    /GOOGLE_WEB_CLIENT_ID: "b" is not one of GOOGLE_CLIENT_IDS/,
  );
});
