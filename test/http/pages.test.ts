/** The hosted pages through inject(): status, language, labels, CSP, and the form flows without JavaScript. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { engines } from "../helpers/engines.js";
import { FixedClock, startWarden, type Warden } from "../helpers/warden.js";
import { authenticatorCode, enrolledUser } from "../mfa/mfa-helpers.js";
import { PASSWORD } from "../helpers/login.js";
import { OWN, PageBrowser as Browser } from "../helpers/page-browser.js";

const APP = "https://app.example.com";

const inputs = (html: string) =>
  [...html.matchAll(/<(input|select|textarea)\b([^>]*)>/g)]
    .map((m) => m[2]!)
    .filter((attributes) => !/type="hidden"/.test(attributes));

/** Every visible control has an id and a <label for> naming it. */
function assertLabelled(html: string, page: string) {
  const controls = inputs(html);
  for (const attributes of controls) {
    const id = /\bid="([^"]+)"/.exec(attributes)?.[1];
    assert.ok(id, `${page}: a control without id: ${attributes}`);
    assert.match(html, new RegExp(`<label for="${id}">`), `${page}: no label for #${id}`);
  }
  return controls.length;
}

function assertStrictCsp(headers: Record<string, unknown>, html: string, page: string) {
  const csp = String(headers["content-security-policy"]);
  assert.match(csp, /(^|; )default-src 'self'(;|$)/, page);
  assert.match(csp, /(^|; )script-src 'self'(;|$)/, page);
  assert.match(csp, /(^|; )style-src 'self'(;|$)/, page);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\*/, page);
  assert.equal(headers["x-frame-options"], "DENY");
  assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)/i, `${page}: inline script`);
  assert.doesNotMatch(html, /<style|\sstyle="/i, `${page}: inline style`);
  assert.doesNotMatch(html, /(src|href)="(https?:)?\/\//i, `${page}: an external asset`);
}

for (const { engine, skip } of engines) {
  test(
    `${engine.name}: every page answers, in English or Romanian, labelled, under a strict CSP`,
    { skip },
    async () => {
      const w = await startWarden({ engine });
      try {
        const browser = new Browser(w);
        const token = "A".repeat(43);
        const pages: Array<[string, number]> = [
          ["/login", 200],
          ["/register", 200],
          [`/confirm-email?token=${token}`, 200],
          ["/confirm-email?token=short", 400],
          ["/forgot-password", 200],
          [`/reset-password?token=${token}`, 200],
          [`/unlock-account?token=${token}`, 200],
          ["/unlock-account", 400],
          [`/confirm-email-change?token=${token}`, 200],
          ["/confirm-email-change?token=short", 400],
          ["/logout", 200],
        ];
        for (const [url, status] of pages) {
          const en = await browser.get(url, { "accept-language": "en-GB,en;q=0.9" });
          assert.equal(en.statusCode, status, url);
          assert.match(en.headers["content-type"] as string, /^text\/html/);
          assert.match(en.body, /<html lang="en">/, url);
          assertStrictCsp(en.headers, en.body, url);
          assertLabelled(en.body, url);
          const ro = await browser.get(url, { "accept-language": "ro-RO,ro;q=0.9,en;q=0.5" });
          assert.match(ro.body, /<html lang="ro">/, `${url} in Romanian`);
        }
        const login = await browser.get("/login", { "accept-language": "ro" });
        assert.match(login.body, /<label for="password">Parola<\/label>/);
        assert.match(login.body, /<a href="\/register">/, "sign-up is on by default: the login page offers it");
        assert.equal(assertLabelled(login.body, "/login"), 2);
        // The switcher wins over Accept-Language, and is remembered.
        assert.match((await browser.get("/login?lang=ro", { "accept-language": "en" })).body, /<html lang="ro">/);
        assert.match((await browser.get("/register", { "accept-language": "en" })).body, /<html lang="ro">/);

        // Warden's address in a browser: on to the sign-in page, not a JSON 404.
        const root = await new Browser(w).get("/", { accept: "text/html" });
        assert.equal(root.statusCode, 303);
        assert.equal(root.headers.location, "/login");

        const account = await new Browser(w).get("/account");
        assert.equal(account.statusCode, 303, "no session: through the resume step");
        assert.equal(account.headers.location, "/api/auth/page/resume?redirect_to=%2Faccount");
        const css = await browser.get("/assets/style.css");
        assert.equal(css.statusCode, 200);
        assert.match(css.headers["content-type"] as string, /^text\/css/);
      } finally {
        await w.close();
      }
    },
  );

  test(
    `${engine.name}: with ALLOW_SIGNUP=false /register says sign-up is closed (403) and creates nothing`,
    { skip },
    async () => {
      const w = await startWarden({ engine, env: { ALLOW_SIGNUP: "false" } });
      try {
        const browser = new Browser(w);
        const page = await browser.get("/register", { "accept-language": "en" });
        assert.equal(page.statusCode, 403);
        assert.match(page.body, /<h1>Registration is closed<\/h1>/);
        assert.doesNotMatch(page.body, /action="\/register"/, "no form to fill in for nothing");
        assertStrictCsp(page.headers, page.body, "/register");
        const ro = await browser.get("/register", { "accept-language": "ro" });
        assert.match(ro.body, /<h1>Înregistrarea este închisă<\/h1>/);
        assert.doesNotMatch(
          (await browser.get("/login")).body,
          /href="\/register"/,
          "the login page offers no sign-up",
        );

        // A form posted anyway (an old tab, a script) is refused the same way.
        const posted = await browser.post("/register", {
          _csrf: await browser.csrfOf("/login"),
          email: "new@example.com",
          password: PASSWORD,
        });
        assert.equal(posted.statusCode, 403);
        assert.match(posted.body, /Înregistrarea este închisă|Registration is closed/);
        assert.equal(await w.deps.users.findByEmail("new@example.com"), null);
      } finally {
        await w.close();
      }
    },
  );

  test(
    `${engine.name}: sign in with a form, see the account page, sign out: no JavaScript needed`,
    { skip },
    async () => {
      const w = await startWarden({ engine, env: { CORS_ORIGINS: APP } });
      try {
        const user = await w.createUser("ana@example.com", PASSWORD);
        await w.deps.users.updateProfile(user.id, { locale: "ro" }, new Date());
        const browser = new Browser(w);

        const wrong = await browser.post("/login", {
          _csrf: await browser.csrfOf("/login"),
          email: "ana@example.com",
          password: "nope",
        });
        assert.equal(wrong.statusCode, 401);
        assert.match(wrong.body, /class="summary" role="alert"/);
        assert.match(wrong.body, /<a href="#password">The email address or the password is not right\.<\/a>/);
        assert.match(
          wrong.body,
          /id="password" name="password" type="password"[^>]* aria-describedby="password-error" aria-invalid="true"/,
        );
        assert.match(wrong.body, /<p class="error" id="password-error">/);
        assert.match(wrong.body, /value="ana@example.com"/, "the email is kept");

        const csrf = await browser.csrfOf("/login");
        const signedIn = await browser.post("/login", { _csrf: csrf, email: "ana@example.com", password: PASSWORD });
        assert.equal(signedIn.statusCode, 303, signedIn.body);
        assert.equal(signedIn.headers.location, "/account");
        assert.ok(browser.cookies.get("warden_access"), "the page cookie");
        assert.ok(browser.cookies.get("__refresh__token"), "the refresh cookie, as the API sets it");

        const account = await browser.get("/account");
        assert.equal(account.statusCode, 200);
        assert.match(account.body, /<html lang="ro">/, "the user's own locale");
        assert.match(account.body, /Autentificat ca ana@example.com/);
        assert.match(account.body, /Acest dispozitiv/);
        assertLabelled(account.body, "/account");
        assertStrictCsp(account.headers, account.body, "/account");

        // The page cookie is gone (expired): the resume step rotates the refresh cookie and comes back.
        const refreshBefore = browser.cookies.get("__refresh__token");
        browser.cookies.delete("warden_access");
        const resumed = await browser.get("/api/auth/page/resume?redirect_to=%2Faccount", {
          "sec-fetch-site": "same-origin",
        });
        assert.equal(resumed.statusCode, 303);
        assert.equal(resumed.headers.location, "/account");
        assert.notEqual(browser.cookies.get("__refresh__token"), refreshBefore);
        assert.equal((await browser.get("/account")).statusCode, 200);
        // Started by another site, it does not rotate: the sign-in page instead.
        browser.cookies.delete("warden_access");
        const foreign = await browser.get("/api/auth/page/resume?redirect_to=%2Faccount", {
          "sec-fetch-site": "cross-site",
          referer: "https://evil.example/",
        });
        assert.equal(foreign.headers.location, "/login?redirect_to=%2Faccount");
        await browser.get("/api/auth/page/resume?redirect_to=%2Faccount", { "sec-fetch-site": "same-origin" });

        const out = await browser.post("/api/auth/page/logout", { _csrf: await browser.csrfOf("/logout") });
        assert.equal(out.statusCode, 303);
        assert.equal(out.headers.location, "/login?notice=signed-out");
        assert.equal(browser.cookies.get("warden_access"), undefined);
        assert.equal(browser.cookies.get("__refresh__token"), undefined);
        const live = await w.deps.sessions.listLiveSessions(user.id, new Date(), new Date(0));
        assert.equal(live.length, 0, "the session ended on the server too");
        assert.match(
          (await browser.get("/login?notice=signed-out")).body,
          /role="status">You are signed out\./,
          "no user: Accept-Language",
        );
      } finally {
        await w.close();
      }
    },
  );

  test(
    `${engine.name}: form posts need the page's Origin and CSRF token; redirect_to only to allowed origins`,
    { skip },
    async () => {
      // Refused posts count against the login limit too (it runs first): more room for this test.
      const w = await startWarden({ engine, env: { CORS_ORIGINS: APP, LOGIN_RATE_LIMIT: "100/60" } });
      try {
        await w.createUser("ana@example.com", PASSWORD);
        const browser = new Browser(w);
        const csrf = await browser.csrfOf("/login");
        const form = { _csrf: csrf, email: "ana@example.com", password: PASSWORD };

        const foreign = await browser.post("/login", form, { origin: "https://evil.example" });
        assert.equal(foreign.statusCode, 403);
        assert.match(foreign.body, /did not come from this site/);
        assert.equal((await browser.post("/login", form, {})).statusCode, 403, "no Origin, no Referer");
        assert.equal(
          (await browser.post("/login", form, { origin: APP })).statusCode,
          403,
          "even a listed app cannot post the pages' forms",
        );
        const noToken = await browser.post("/login", { email: "ana@example.com", password: PASSWORD });
        assert.equal(noToken.statusCode, 403);
        assert.match(noToken.body, /This form has expired/);
        assert.equal(browser.cookies.get("warden_access"), undefined, "none of those signed in");

        const byReferer = await browser.post(
          "/login",
          { ...form, redirect_to: `${APP}/after?x=1` },
          { referer: `${OWN}/login` },
        );
        assert.equal(byReferer.statusCode, 303);
        assert.equal(byReferer.headers.location, `${APP}/after?x=1`, "a listed app");
        for (const evil of ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"]) {
          const fresh = new Browser(w);
          const r = await fresh.post("/login", { ...form, _csrf: await fresh.csrfOf("/login"), redirect_to: evil });
          assert.equal(
            r.headers.location,
            "/account",
            `${evil}: ${r.statusCode} ${r.body.slice(r.body.indexOf("<main"), r.body.indexOf("<main") + 400)}`,
          );
        }
        const page = await browser.get(
          `/login?prompt=login&redirect_to=${encodeURIComponent("https://evil.example/")}`,
        );
        assert.match(page.body, /name="redirect_to" value=""/, "never echoed into the form");
      } finally {
        await w.close();
      }
    },
  );

  test(
    `${engine.name}: the second step on a page: a TOTP code, and a wrong one shown next to its field`,
    { skip },
    async () => {
      const clock = new FixedClock();
      const w = await startWarden({ engine, clock });
      try {
        const { secret } = await enrolledUser(w, clock, "mfa@example.com");
        const browser = new Browser(w);
        const step = await browser.post("/login", {
          _csrf: await browser.csrfOf("/login"),
          email: "mfa@example.com",
          password: PASSWORD,
        });
        assert.equal(step.statusCode, 200);
        assert.match(step.body, /<h1>Two-step verification<\/h1>/);
        assertLabelled(step.body, "MFA step");
        const hidden = (name: string) => new RegExp(`name="${name}" value="([^"]*)"`).exec(step.body)![1]!;
        const base = {
          _csrf: hidden("_csrf"),
          mfa_token: hidden("mfa_token"),
          methods: hidden("methods"),
          redirect_to: "",
        };
        assert.equal(base.methods, "totp,backup_code,email_otp");

        const wrong = await browser.post("/login/mfa", { ...base, type: "totp", code: "000000" });
        assert.equal(wrong.statusCode, 401);
        assert.match(wrong.body, /id="totp-error"/);
        assert.match(wrong.body, /aria-describedby="totp-hint totp-error" aria-invalid="true"/);

        const right = await browser.post("/login/mfa", {
          ...base,
          type: "totp",
          code: authenticatorCode(secret, clock),
        });
        assert.equal(right.statusCode, 303, right.body);
        assert.equal(right.headers.location, "/account");
        assert.match((await browser.get("/account")).body, /Signed in as mfa@example.com/);
      } finally {
        await w.close();
      }
    },
  );

  test(
    `${engine.name}: wrong codes that spend the account budget end the second step on the sign-in form: 429, Retry-After, the way back in`,
    { skip },
    async () => {
      const clock = new FixedClock();
      const w = await startWarden({ engine, clock, env: { ACCOUNT_FAILURE_LIMIT: "2/3600" } });
      try {
        await enrolledUser(w, clock, "mfa@example.com");
        const browser = new Browser(w);
        const step = await browser.post("/login", {
          _csrf: await browser.csrfOf("/login"),
          email: "mfa@example.com",
          password: PASSWORD,
        });
        const hidden = (name: string) => new RegExp(`name="${name}" value="([^"]*)"`).exec(step.body)![1]!;
        const form = {
          _csrf: hidden("_csrf"),
          mfa_token: hidden("mfa_token"),
          methods: hidden("methods"),
          type: "totp",
        };
        for (const code of ["000000", "111111"])
          assert.equal((await browser.post("/login/mfa", { ...form, code })).statusCode, 401);
        const refused = await browser.post("/login/mfa", { ...form, code: "222222" });
        assert.equal(refused.statusCode, 429);
        assert.ok(Number(refused.headers["retry-after"]) > 0);
        assert.match(refused.body, /<h1>Sign in<\/h1>/);
        assert.match(refused.body, /class="summary" role="alert"/);
        assert.match(refused.body, /Too many failed login attempts for this account\./);
        assert.match(refused.body, /we have emailed it a link to sign in from this browser/);
        // The same words for an address with no account behind it.
        const csrf = await browser.csrfOf("/login");
        for (let i = 0; i < 2; i++)
          await browser.post("/login", { _csrf: csrf, email: "nobody@example.com", password: "x" });
        const nobody = await browser.post("/login", { _csrf: csrf, email: "nobody@example.com", password: "x" });
        assert.equal(nobody.statusCode, 429);
        assert.match(nobody.body, /we have emailed it a link to sign in from this browser/);
      } finally {
        await w.close();
      }
    },
  );

  test(
    `${engine.name}: a page session that signed in too long ago is asked to sign in again before TOTP setup`,
    { skip },
    async () => {
      const clock = new FixedClock();
      const w = await startWarden({ engine, clock });
      try {
        await w.createUser("late@example.com", PASSWORD);
        const browser = new Browser(w);
        const csrf = await browser.csrfOf("/login");
        const signedIn = await browser.post("/login", { _csrf: csrf, email: "late@example.com", password: PASSWORD });
        assert.equal(signedIn.statusCode, 303, signedIn.body);
        clock.advance(601);
        const setup = await browser.post("/account/totp/setup", { _csrf: await browser.csrfOf("/account") });
        assert.equal(setup.statusCode, 403);
        assert.match(setup.body, /For your security, sign in again before you change this\./);
      } finally {
        await w.close();
      }
    },
  );
}

test("a browser opening a URL that is no page gets a page saying so; API clients and the API's paths keep the JSON 404", async () => {
  const w = await startWarden();
  try {
    const html = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"; // what a browser sends
    const page = await w.app.inject({ method: "GET", url: "/acount?from=mail", headers: { accept: html } });
    assert.equal(page.statusCode, 404);
    assert.match(String(page.headers["content-type"]), /^text\/html/);
    assert.match(page.body, /<h1>Page not found<\/h1>/);
    assert.match(page.body, /There is no page here\./);
    assert.match(page.body, /href="\/login"/);
    assertStrictCsp(page.headers, page.body, "404");
    const romanian = await w.app.inject({
      method: "GET",
      url: "/acount",
      headers: { accept: html, "accept-language": "ro-RO,ro;q=0.9" },
    });
    assert.match(romanian.body, /<html lang="ro"[\s\S]*Pagina nu există/);

    const json = { code: 404, message: "Not found." };
    for (const [method, url, accept] of [
      ["GET", "/acount", "application/json"],
      ["GET", "/acount", "*/*"],
      ["GET", "/api/v1/nothing", html],
      ["GET", "/.well-known/nothing", html],
      ["POST", "/acount", html], // a form post to nowhere is no navigation, and no CSRF refusal either
      ["DELETE", "/api/auth/nothing", "application/json"],
    ] as const) {
      const response = await w.app.inject({ method, url, headers: { accept } });
      assert.equal(response.statusCode, 404, `${method} ${url}`);
      assert.deepEqual(response.json(), json, `${method} ${url}`);
    }
  } finally {
    await w.close();
  }
});
