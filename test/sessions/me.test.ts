import assert from "node:assert/strict";
import { test } from "node:test";
import { deactivateUser, activateUser } from "../../src/domain/accounts/lifecycle.js";
import { engines } from "../helpers/engines.js";
import { login, PASSWORD, postLogin } from "../helpers/login.js";
import { afterAuthCache, postJson, SHORT_AUTH_CACHE, startWarden } from "../helpers/warden.js";
import {
  eventTypes,
  GENEROUS_LIMITS,
  getMe,
  logout,
  refresh,
  withBearer,
  sharedWarden,
  withWarden,
} from "./fixtures.js";

const INACTIVE = '{"code":403,"message":"Your account has been deactivated. Please contact support."}';
const NEW_PASSWORD = "a much better passphrase";

for (const { engine, skip } of engines) {
  const onShared = sharedWarden(engine);
  const name = (s: string) => `${engine.name}: ${s}`;

  test(
    name("GET /me has exactly the contract's fields; PATCH updates the profile and validates it"),
    { skip },
    async () => {
      await onShared(async (w) => {
        const user = await w.createUser("Maria@Example.com", PASSWORD);
        const { token } = await login(w, "maria@example.com");
        const me = await getMe(w, token);
        assert.equal(me.status, 200, me.raw);
        assert.deepEqual(me.body, {
          id: user.id,
          email: "maria@example.com",
          firstName: null,
          lastName: null,
          phone: null,
          locale: null,
          timezone: null,
          roles: ["ROLE_USER"],
          active: true,
          emailVerified: true,
          mfaEnabled: false,
          hasPassword: true,
          lastConnectedAt: w.clock.now().toISOString(),
          createdAt: w.clock.now().toISOString(),
          updatedAt: w.clock.now().toISOString(),
          preferences: {},
        });

        w.clock.advance(60);
        const patch = {
          firstName: "Maria",
          lastName: "Ionescu",
          phone: "+40 721 000 000",
          locale: "ro-RO",
          timezone: "Europe/Bucharest",
          preferences: { theme: "dark", pageSize: 50 },
        };
        // A client may send back what GET returned: fields it does not own are ignored.
        const updated = await withBearer(w, token, {
          method: "PATCH",
          url: "/api/v1/me",
          payload: { ...me.body, ...patch, email: "evil@example.com", roles: ["ROLE_ADMIN"] },
        });
        assert.equal(updated.status, 200, updated.raw);
        assert.deepEqual({ ...updated.body }, { ...me.body, ...patch, updatedAt: w.clock.now().toISOString() });
        assert.deepEqual((await getMe(w, token)).body, updated.body);

        const cleared = await withBearer(w, token, { method: "PATCH", url: "/api/v1/me", payload: { phone: null } });
        assert.equal(cleared.body.phone, null);

        const bad = await withBearer(w, token, {
          method: "PATCH",
          url: "/api/v1/me",
          payload: { timezone: "Mars/Olympus", locale: "not a locale!" },
        });
        assert.equal(bad.status, 400);
        assert.deepEqual(Object.keys(bad.body.errors).sort(), ["locale", "timezone"]);
        assert.equal(
          (await withBearer(w, token, { method: "PATCH", url: "/api/v1/me", payload: { firstName: 42 } })).status,
          400,
        );
        assert.equal((await getMe(w, token)).body.timezone, "Europe/Bucharest", "a refused PATCH changed nothing");
      });
    },
  );

  test(
    name("a password change needs the current password, checks the new one, keeps this session and kills the others"),
    { skip },
    async () => {
      await onShared(async (w) => {
        const user = await w.createUser("pat@example.com", PASSWORD);
        const here = await login(w, "pat@example.com");
        const phone = await login(w, "pat@example.com");
        const laptop = await login(w, "pat@example.com");
        const change = (payload: object) => withBearer(w, here.token, { method: "PATCH", url: "/api/v1/me", payload });

        const missing = await change({ password: NEW_PASSWORD });
        assert.equal(missing.status, 400);
        assert.ok(missing.body.errors.currentPassword);
        const wrong = await change({ password: NEW_PASSWORD, currentPassword: "not it" });
        assert.equal(wrong.status, 422);
        assert.deepEqual(wrong.body.errors, { currentPassword: ["The password is incorrect."] });
        const weak = await change({ newPassword: "password", currentPassword: PASSWORD });
        assert.equal(weak.status, 422);
        assert.ok(Array.isArray(weak.body.errors.password) && weak.body.errors.password.length > 0, weak.raw);
        assert.equal((await refresh(w, phone.refresh_token)).status, 200, "refused changes revoked nothing");
        const phoneNow = await login(w, "pat@example.com");

        const ok = await change({ newPassword: NEW_PASSWORD, currentPassword: PASSWORD, firstName: "Pat" });
        assert.equal(ok.status, 200, ok.raw);
        assert.equal(ok.body.firstName, "Pat");

        assert.equal((await refresh(w, phoneNow.refresh_token)).status, 401, "other sessions' refresh tokens die");
        assert.equal((await refresh(w, laptop.refresh_token)).status, 401);
        assert.equal((await getMe(w, laptop.token)).status, 401, "and their access tokens");
        assert.equal((await getMe(w, here.token)).status, 200, "the session that changed it stays");
        assert.equal((await refresh(w, here.refresh_token)).status, 200);

        assert.equal((await postLogin(w, "pat@example.com", PASSWORD)).status, 401);
        await login(w, "pat@example.com", NEW_PASSWORD);
        assert.ok((await eventTypes(w, user.id)).includes("password_changed"));
      });
    },
  );

  test(name("wrong current passwords are limited per account"), { skip }, async () => {
    await withWarden(engine, { LOGIN_RATE_LIMIT: "3/60" }, async (w) => {
      await w.createUser("guess@example.com", PASSWORD);
      const { token } = await login(w, "guess@example.com");
      const statuses = [];
      for (let i = 0; i < 4; i++) {
        statuses.push(
          (await withBearer(w, token, { method: "DELETE", url: "/api/v1/me", payload: { password: `guess ${i}` } }))
            .status,
        );
      }
      assert.deepEqual(statuses, [422, 422, 422, 429]);
      const right = await withBearer(w, token, {
        method: "DELETE",
        url: "/api/v1/me",
        payload: { password: PASSWORD },
      });
      assert.equal(right.status, 429, "even the right password waits once the budget is spent");
    });
  });

  test(name("DELETE /me needs the password, answers 204 and ends everything"), { skip }, async () => {
    await onShared(async (w) => {
      const user = await w.createUser("gone@example.com", PASSWORD);
      const a = await login(w, "gone@example.com");
      const b = await login(w, "gone@example.com");
      assert.equal((await withBearer(w, a.token, { method: "DELETE", url: "/api/v1/me", payload: {} })).status, 400);
      assert.equal(
        (await withBearer(w, a.token, { method: "DELETE", url: "/api/v1/me", payload: { password: "nope" } })).status,
        422,
      );
      const deleted = await withBearer(w, a.token, {
        method: "DELETE",
        url: "/api/v1/me",
        payload: { password: PASSWORD },
      });
      assert.equal(deleted.status, 204);
      assert.equal(deleted.raw, "");
      for (const pair of [a, b]) {
        assert.equal((await getMe(w, pair.token)).status, 403);
        assert.equal((await refresh(w, pair.refresh_token)).status, 403);
      }
      assert.equal((await postLogin(w, "gone@example.com", PASSWORD)).status, 401);
      assert.ok((await eventTypes(w, user.id)).includes("account_deleted"));
      const stored = await w.deps.users.findById(user.id);
      assert.equal(stored?.email.includes("gone"), false, "personal data erased");
    });
  });

  test(
    name("sessions: the list shows live sessions with the current one marked; one can be ended, another user's is 404"),
    { skip },
    async () => {
      await onShared(async (w) => {
        const user = await w.createUser("list@example.com", PASSWORD);
        await w.createUser("stranger@example.com", PASSWORD);
        const phone = await login(w, "list@example.com", PASSWORD, {
          ip: "198.51.100.20",
          headers: { "user-agent": "Phone/1.0" },
        });
        w.clock.advance(10);
        const laptop = await login(w, "list@example.com", PASSWORD, { headers: { "user-agent": "Laptop/2.0" } });
        const ended = await login(w, "list@example.com");
        await logout(w, ended.refresh_token);
        const stranger = await login(w, "stranger@example.com");

        const list = await withBearer(w, laptop.token, { method: "GET", url: "/api/v1/me/sessions" });
        assert.equal(list.status, 200, list.raw);
        assert.deepEqual(
          list.body.data.map((s: { userAgent: string; current: boolean }) => [s.userAgent, s.current]),
          [
            ["Laptop/2.0", true],
            ["Phone/1.0", false],
          ],
        );
        const phoneSession = list.body.data[1];
        assert.deepEqual(Object.keys(phoneSession), ["id", "createdAt", "lastUsedAt", "ip", "userAgent", "current"]);
        assert.equal(phoneSession.ip, "198.51.100.20");
        assert.equal(phoneSession.createdAt, new Date(w.clock.now().getTime() - 10_000).toISOString());

        const strangerSessions = await withBearer(w, stranger.token, { method: "GET", url: "/api/v1/me/sessions" });
        const strangerId = strangerSessions.body.data[0].id;
        const del = (token: string, id: string) =>
          withBearer(w, token, { method: "DELETE", url: `/api/v1/me/sessions/${encodeURIComponent(id)}` });
        assert.equal((await del(laptop.token, strangerId)).raw, '{"code":404,"message":"Not found."}');
        assert.equal((await refresh(w, stranger.refresh_token)).status, 200, "the stranger's session was not touched");
        assert.equal((await del(laptop.token, "no-such-session")).status, 404);

        const ok = await del(laptop.token, phoneSession.id);
        assert.equal(ok.status, 204);
        assert.equal((await del(laptop.token, phoneSession.id)).status, 404, "ending it twice: it is no longer there");
        assert.equal((await refresh(w, phone.refresh_token)).status, 401);
        assert.equal((await getMe(w, phone.token)).status, 401);
        assert.ok((await eventTypes(w, user.id)).includes("session_revoked"));

        const own = await withBearer(w, laptop.token, { method: "GET", url: "/api/v1/me/sessions" });
        assert.equal((await del(laptop.token, own.body.data[0].id)).status, 204, "the current session may end itself");
        assert.equal((await getMe(w, laptop.token)).status, 401);
      });
    },
  );

  test(name("security events: newest first, paginated with a cursor, only the user's own"), { skip }, async () => {
    await onShared(async (w) => {
      await w.createUser("audit@example.com", PASSWORD);
      await w.createUser("nosy@example.com", PASSWORD);
      await login(w, "nosy@example.com");
      for (let i = 0; i < 3; i++) {
        w.clock.advance(1);
        await postJson(
          w.app,
          "/api/auth",
          { email: "audit@example.com", password: "wrong" },
          { "user-agent": `Attempt/${i}` },
        );
      }
      w.clock.advance(1);
      const { refresh_token } = await login(w, "audit@example.com");
      w.clock.advance(1);
      const out = await login(w, "audit@example.com");
      w.clock.advance(1);
      await logout(w, out.refresh_token);
      const pair = await refresh(w, refresh_token);

      const get = (query: string) =>
        withBearer(w, pair.body.token, { method: "GET", url: `/api/v1/me/security-events${query}` });
      const all = await get("");
      assert.equal(all.status, 200, all.raw);
      assert.deepEqual(
        all.body.data.map((e: { type: string }) => e.type),
        ["logout", "login_success", "login_success", "login_failure", "login_failure", "login_failure"],
      );
      assert.equal(all.body.next, null);
      assert.deepEqual(Object.keys(all.body.data[0]), ["id", "type", "createdAt", "ip", "userAgent"]);
      assert.equal(all.body.data.at(-1).userAgent, "Attempt/0");

      const first = await get("?limit=4");
      assert.equal(first.body.data.length, 4);
      assert.equal(typeof first.body.next, "string");
      const second = await get(`?limit=4&before=${first.body.next}`);
      assert.deepEqual(
        [...first.body.data, ...second.body.data].map((e: { id: string }) => e.id),
        all.body.data.map((e: { id: string }) => e.id),
      );
      assert.equal(second.body.next, null);

      assert.equal((await get("?before=bm9wZQ")).status, 400);
      assert.equal((await get("?limit=abc")).status, 400);
      assert.equal((await get("?limit=1000")).body.data.length, 6, "limit is capped, not refused");
    });
  });

  test(
    name(
      "deactivation ends everything (other instances within AUTH_CACHE_MS): refresh 403, live access token 403, new login 403; activation lets login back",
    ),
    { skip },
    async () => {
      await onShared(async (w) => {
        const user = await w.createUser("dora@example.com", PASSWORD);
        const pair = await login(w, "dora@example.com");
        // A second instance on the same database, as behind a load balancer.
        const peer = await startWarden({
          databaseUrl: w.deps.config.DATABASE_URL,
          clock: w.clock,
          env: { ...GENEROUS_LIMITS, ...SHORT_AUTH_CACHE },
        });
        try {
          assert.equal((await getMe(peer, pair.token)).status, 200);
          await deactivateUser(w.deps, user, { ip: null, userAgent: "warden-cli" });
          await afterAuthCache(peer);
          assert.equal((await getMe(peer, pair.token)).raw, INACTIVE, "every instance refuses within AUTH_CACHE_MS");
        } finally {
          await peer.close();
        }

        const refused = await refresh(w, pair.refresh_token);
        assert.equal(refused.raw, INACTIVE);
        const me = await getMe(w, pair.token);
        assert.equal(me.raw, INACTIVE);
        assert.equal((await postLogin(w, "dora@example.com", PASSWORD)).raw, INACTIVE);
        assert.equal(
          (await w.deps.sessions.listLiveSessions(user.id, w.clock.now(), new Date(0))).length,
          0,
          "no live session is left",
        );

        await activateUser(w.deps, (await w.deps.users.findById(user.id))!, { ip: null, userAgent: "warden-cli" });
        assert.equal(
          (await refresh(w, pair.refresh_token)).raw,
          '{"code":401,"message":"Invalid refresh token."}',
          "old sessions stay dead",
        );
        assert.equal((await getMe(w, pair.token)).status, 401);
        const back = await login(w, "dora@example.com");
        assert.equal((await getMe(w, back.token)).status, 200);
        const types = await eventTypes(w, user.id);
        assert.ok(types.includes("account_deactivated") && types.includes("account_activated"));
      });
    },
  );

  test(
    name("a user deactivated without revoking (e.g. imported inactive) still cannot refresh, and the session dies"),
    { skip },
    async () => {
      await onShared(async (w) => {
        const user = await w.createUser("quiet@example.com", PASSWORD);
        const pair = await login(w, "quiet@example.com");
        await w.deps.users.setDeactivated(user.id, w.clock.now(), w.clock.now());
        assert.equal((await refresh(w, pair.refresh_token)).raw, INACTIVE);
        await w.deps.users.setDeactivated(user.id, null, w.clock.now());
        assert.equal((await refresh(w, pair.refresh_token)).status, 401, "the session was revoked, not merely refused");
      });
    },
  );
}
