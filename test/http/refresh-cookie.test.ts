/** The refresh cookie, its CSRF rule and CORS, as a browser would meet them (every engine). */
import assert from "node:assert/strict";
import { test } from "node:test";
import { engines } from "../helpers/engines.js";
import { FixedClock, postJson, startWarden, type Warden } from "../helpers/warden.js";
import { authenticatorCode, challenge, enrolledUser, verify } from "../mfa/mfa-helpers.js";
import { PASSWORD } from "../helpers/login.js";

const OWN = "http://warden.test";
const APP = "https://app.example.com";
const EVIL = "https://evil.example";
const COOKIE = "__refresh__token";

interface SetCookie {
  name: string;
  value: string;
  attributes: Map<string, string>;
}

/** Every Set-Cookie header of a response, parsed the way a browser reads it. */
function setCookies(headers: Record<string, string | string[] | undefined>): SetCookie[] {
  const raw = headers["set-cookie"];
  const lines = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
  return lines.map((line) => {
    const [pair, ...rest] = line.split(";").map((s) => s.trim());
    const eq = pair!.indexOf("=");
    const attributes = new Map<string, string>();
    for (const attribute of rest) {
      const i = attribute.indexOf("=");
      attributes.set((i < 0 ? attribute : attribute.slice(0, i)).toLowerCase(), i < 0 ? "" : attribute.slice(i + 1));
    }
    return { name: pair!.slice(0, eq), value: pair!.slice(eq + 1), attributes };
  });
}

const refreshCookieOf = (headers: Record<string, string | string[] | undefined>, name = COOKIE) =>
  setCookies(headers).find((c) => c.name === name);

const login = (w: Warden, email: string, headers: Record<string, string> = {}) =>
  postJson(w.app, "/api/auth", { email, password: PASSWORD }, headers);

/** A refresh or logout the way a browser sends it: no body token, the cookie, and the page's Origin/Referer. */
const withCookie = (w: Warden, url: string, token: string, headers: Record<string, string> = {}) =>
  postJson(w.app, url, {}, { cookie: `${COOKIE}=${token}`, ...headers });

for (const { engine, skip } of engines) {
  test(
    `${engine.name}: login sets the refresh cookie: HttpOnly, Secure, SameSite=Lax, Path=/api/auth`,
    { skip },
    async () => {
      const w = await startWarden({ engine, env: { CORS_ORIGINS: APP } });
      try {
        await w.createUser("ana@example.com", PASSWORD);
        const r = await login(w, "ana@example.com");
        assert.equal(r.status, 200, r.raw);
        assert.ok(r.body.refresh_token, "the body still carries the token for non-browser clients");
        const cookie = refreshCookieOf(r.headers);
        assert.ok(cookie, JSON.stringify(r.headers["set-cookie"]));
        assert.equal(cookie.value, r.body.refresh_token);
        assert.equal(cookie.attributes.get("path"), "/api/auth");
        assert.ok(cookie.attributes.has("httponly"));
        assert.ok(cookie.attributes.has("secure"), "PUBLIC_URL is not plain http on localhost");
        assert.equal(cookie.attributes.get("samesite"), "Lax");
        assert.equal(cookie.attributes.get("max-age"), "2592000", "as long as REFRESH_TOKEN_TTL");

        const failed = await postJson(w.app, "/api/auth", { email: "ana@example.com", password: "wrong" });
        assert.equal(failed.status, 401);
        assert.equal(failed.headers["set-cookie"], undefined, "no cookie without a token");
      } finally {
        await w.close();
      }
    },
  );

  test(
    `${engine.name}: refresh by cookie from an allowed origin rotates it; the old one is spent`,
    { skip },
    async () => {
      const w = await startWarden({ engine, env: { CORS_ORIGINS: APP, REFRESH_REUSE_GRACE: "0" } });
      try {
        await w.createUser("ana@example.com", PASSWORD);
        const first = (await login(w, "ana@example.com")).body.refresh_token as string;

        const own = await withCookie(w, "/api/auth/token/refresh", first, { origin: OWN });
        assert.equal(own.status, 200, own.raw);
        const second = refreshCookieOf(own.headers)!.value;
        assert.equal(second, own.body.refresh_token);
        assert.notEqual(second, first);
        assert.ok(own.body.token);

        // No body at all, as fetch(url, {method: "POST", credentials: "include"}) sends.
        const bare = await w.app.inject({
          method: "POST",
          url: "/api/auth/token/refresh",
          headers: { cookie: `${COOKIE}=${second}`, origin: APP },
        });
        assert.equal(bare.statusCode, 200, bare.body);
        const afterBare = refreshCookieOf(bare.headers as Record<string, string | string[] | undefined>)!.value;

        // A listed app, named only by its Referer (some browsers omit Origin on same-origin posts).
        const app = await withCookie(w, "/api/auth/refresh", afterBare, { referer: `${APP}/dashboard?x=1` });
        assert.equal(app.status, 200, app.raw);
        const third = refreshCookieOf(app.headers)!.value;

        const replay = await withCookie(w, "/api/auth/token/refresh", first, { origin: OWN });
        assert.equal(replay.status, 401, "the first cookie value was spent");
        assert.equal(refreshCookieOf(replay.headers), undefined);
        assert.equal(
          (await withCookie(w, "/api/auth/token/refresh", third, { origin: OWN })).status,
          401,
          "reuse ended the session",
        );
      } finally {
        await w.close();
      }
    },
  );

  test(
    `${engine.name}: a cookie refresh from a foreign or unnamed origin is 403 Invalid origin.`,
    { skip },
    async () => {
      const w = await startWarden({ engine, env: { CORS_ORIGINS: APP } });
      try {
        await w.createUser("ana@example.com", PASSWORD);
        const token = (await login(w, "ana@example.com")).body.refresh_token as string;
        const refused = { code: 403, message: "Invalid origin." };
        const attempts: Array<Record<string, string>> = [
          { origin: EVIL },
          { origin: "null" },
          { referer: `${EVIL}/page` },
          { origin: EVIL, referer: `${OWN}/login` },
          {},
        ];
        for (const headers of attempts) {
          const r = await withCookie(w, "/api/auth/token/refresh", token, headers);
          assert.equal(r.status, 403, JSON.stringify(headers));
          assert.deepEqual(r.body, refused);
          const out = await withCookie(w, "/api/auth/logout", token, headers);
          assert.deepEqual([out.status, out.body], [403, refused], `logout ${JSON.stringify(headers)}`);
          assert.equal(refreshCookieOf(out.headers), undefined, "a refused logout leaves the cookie alone");
        }
        // None of that spent the token: its owner still refreshes with it.
        assert.equal((await withCookie(w, "/api/auth/token/refresh", token, { origin: OWN })).status, 200);

        // A body token is not cookie authentication: no Origin needed (mobile apps, servers).
        const fresh = (await login(w, "ana@example.com")).body.refresh_token as string;
        const byBody = await postJson(w.app, "/api/auth/token/refresh", { refresh_token: fresh }, { origin: EVIL });
        assert.equal(byBody.status, 200, byBody.raw);
      } finally {
        await w.close();
      }
    },
  );

  test(`${engine.name}: logout by cookie revokes the session and clears the cookie`, { skip }, async () => {
    const w = await startWarden({ engine });
    try {
      await w.createUser("ana@example.com", PASSWORD);
      const token = (await login(w, "ana@example.com")).body.refresh_token as string;
      const out = await withCookie(w, "/api/auth/logout", token, { origin: OWN });
      assert.equal(out.status, 200, out.raw);
      assert.deepEqual(out.body, { message: "Logged out successfully." });
      const cleared = refreshCookieOf(out.headers);
      assert.ok(cleared, "a clearing Set-Cookie");
      assert.equal(cleared.value, "");
      assert.equal(cleared.attributes.get("path"), "/api/auth");
      assert.ok(
        cleared.attributes.get("max-age") === "0" ||
          new Date(cleared.attributes.get("expires")!).getTime() <= Date.now(),
      );
      assert.equal((await withCookie(w, "/api/auth/token/refresh", token, { origin: OWN })).status, 401);

      const missing = await postJson(w.app, "/api/auth/token/refresh", {}, { origin: OWN });
      assert.deepEqual([missing.status, missing.body], [400, { code: 400, message: "Missing refresh_token." }]);
    } finally {
      await w.close();
    }
  });

  test(`${engine.name}: MFA verify and register with auto-login set the cookie too`, { skip }, async () => {
    const clock = new FixedClock();
    const w = await startWarden({ engine, clock, env: { REQUIRE_EMAIL_CONFIRMATION: "false" } });
    try {
      const { secret } = await enrolledUser(w, clock, "mfa@example.com");
      const mfaToken = await challenge(w, "mfa@example.com");
      const verified = await verify(w, { mfaToken, code: authenticatorCode(secret, clock) });
      assert.equal(verified.status, 200, verified.raw);
      assert.equal(refreshCookieOf(verified.headers)?.value, verified.body.refresh_token);

      const registered = await postJson(w.app, "/api/auth/register", { email: "new@example.com", password: PASSWORD });
      assert.equal(registered.status, 201, registered.raw);
      assert.equal(refreshCookieOf(registered.headers)?.value, registered.body.refresh_token);
    } finally {
      await w.close();
    }
  });

  test(
    `${engine.name}: cookie settings: plain http on localhost is not Secure; name and SameSite configurable`,
    { skip },
    async () => {
      for (const [publicUrl, secure] of [
        ["http://localhost:3000", false],
        ["http://127.0.0.1:8080", false],
        ["https://localhost", true],
        ["http://auth.example.com", true],
      ] as const) {
        const w = await startWarden({
          engine,
          env: { PUBLIC_URL: publicUrl, REFRESH_COOKIE_NAME: "rt", REFRESH_COOKIE_SAMESITE: "strict" },
        });
        try {
          await w.createUser("ana@example.com", PASSWORD);
          const cookie = refreshCookieOf((await login(w, "ana@example.com")).headers, "rt");
          assert.ok(cookie);
          assert.equal(cookie.attributes.has("secure"), secure, publicUrl);
          assert.equal(cookie.attributes.get("samesite"), "Strict");
        } finally {
          await w.close();
        }
      }
    },
  );

  test(
    `${engine.name}: CORS: a listed origin's preflight and calls are answered with credentials; others get nothing`,
    { skip },
    async () => {
      const w = await startWarden({ engine, env: { CORS_ORIGINS: `${APP},http://localhost:5173` } });
      try {
        await w.createUser("ana@example.com", PASSWORD);
        const preflight = (origin: string) =>
          w.app.inject({
            method: "OPTIONS",
            url: "/api/auth/token/refresh",
            headers: {
              origin,
              "access-control-request-method": "POST",
              "access-control-request-headers": "content-type",
            },
          });
        const listed = await preflight(APP);
        assert.equal(listed.statusCode, 204);
        assert.equal(listed.headers["access-control-allow-origin"], APP);
        assert.equal(listed.headers["access-control-allow-credentials"], "true");
        assert.match(String(listed.headers["access-control-allow-methods"]), /POST/);
        assert.match(String(listed.headers["access-control-allow-headers"]), /Content-Type/i);
        assert.match(String(listed.headers["vary"]), /Origin/);

        const unlisted = await preflight(EVIL);
        assert.notEqual(unlisted.statusCode, 204);
        const corsHeaders = (h: Record<string, unknown>) =>
          Object.keys(h).filter((k) => k.startsWith("access-control-"));
        assert.deepEqual(corsHeaders(unlisted.headers), []);

        const call = await login(w, "ana@example.com", { origin: "http://localhost:5173" });
        assert.equal(call.headers["access-control-allow-origin"], "http://localhost:5173");
        assert.equal(call.headers["access-control-allow-credentials"], "true");
        assert.match(String(call.headers["access-control-expose-headers"]), /Retry-After/);
        const wrong = await postJson(w.app, "/api/auth", { email: "ana@example.com", password: "x" }, { origin: APP });
        assert.equal(wrong.status, 401);
        assert.equal(wrong.headers["access-control-allow-origin"], APP, "errors are readable by the app too");

        const foreign = await login(w, "ana@example.com", { origin: EVIL });
        assert.deepEqual(corsHeaders(foreign.headers), []);
        assert.ok(Object.values(listed.headers).every((v) => v !== "*"));
      } finally {
        await w.close();
      }
    },
  );
}
