import assert from "node:assert/strict";
import { test } from "node:test";
import { engines } from "../helpers/engines.js";
import { bearer, call, createKey, introspect, INTROSPECTION_SECRET, userWithToken, withKeyWarden } from "./fixtures.js";

for (const { engine, skip } of engines) {
  const name = (s: string) => `${engine.name}: ${s}`;

  test(name("introspection: a live key, a wrong secret, a revoked and an expired key"), { skip }, async () => {
    await withKeyWarden(engine, async (w) => {
      const { user, token } = await userWithToken(w, "dev@example.com");
      const key = await createKey(w, token, {
        scopes: ["invoices:read", "invoices:write"],
        expiresAt: "2026-01-15T12:00:00Z",
      });
      const forever = await createKey(w, token);

      const good = await introspect(w, key.token);
      assert.equal(good.status, 200);
      const now = Math.floor(w.clock.now().getTime() / 1000);
      assert.deepEqual(good.body, {
        active: true,
        token_type: "api_key",
        sub: user.id,
        username: "dev@example.com",
        scope: "invoices:read invoices:write",
        iat: now,
        exp: Math.floor(Date.parse("2026-01-15T12:00:00Z") / 1000),
        client_id: key.id,
      });
      assert.equal("exp" in (await introspect(w, forever.token)).body, false, "no exp for a key that never expires");
      const form = await w.app.inject({
        method: "POST",
        url: "/api/auth/introspect",
        headers: { authorization: bearer(INTROSPECTION_SECRET), "content-type": "application/x-www-form-urlencoded" },
        payload: `token=${key.token}&token_type_hint=api_key`,
      });
      assert.equal(JSON.parse(form.body).active, true, "RFC 7662's form encoding works too");

      for (const header of [bearer(INTROSPECTION_SECRET + "x"), bearer("short"), "", INTROSPECTION_SECRET]) {
        const wrong = await call(w, header || undefined, "POST", "/api/auth/introspect", { token: key.token });
        assert.deepEqual(
          [wrong.status, wrong.body],
          [401, { code: 401, message: "Invalid introspection credentials." }],
        );
      }
      // The last character changed (never "replaced" by itself: a key may end in 0), so the checksum fails.
      const tampered = key.token.slice(0, -1) + (key.token.endsWith("0") ? "1" : "0");
      for (const token of ["", "af_123", "eyJhbGciOiJSUzI1NiJ9.e30.x", tampered])
        assert.deepEqual((await introspect(w, token)).body, { active: false }, token);
      const missing = await call(w, bearer(INTROSPECTION_SECRET), "POST", "/api/auth/introspect", {});
      assert.equal(missing.status, 400);

      assert.equal((await call(w, bearer(token), "DELETE", `/api/v1/api-tokens/${forever.id}`)).status, 204);
      assert.deepEqual((await introspect(w, forever.token)).body, { active: false }, "revoked");
      w.clock.advance(2 * 3600);
      assert.deepEqual((await introspect(w, key.token)).body, { active: false }, "expired");
    });
  });
}

test("introspection is off (404) while INTROSPECTION_SECRET is unset", async () => {
  await withKeyWarden(
    (await import("../helpers/engines.js")).sqliteEngine,
    async (w) => {
      const response = await introspect(w, "af_x", "anything-at-all");
      assert.equal(response.status, 404);
    },
    { INTROSPECTION_SECRET: "" },
  );
});
