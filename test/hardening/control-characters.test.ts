/** Finding 9: a control character in any string field is a 400 with the contract's body, never a 500. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { engines } from "../helpers/engines.js";
import { postJson, startWarden, withBearer } from "../helpers/warden.js";

const PASSWORD = "correct horse battery";
const NUL = "\u0000";

/** Every public endpoint that takes a body, with a NUL (or another control) in one of its strings. */
const PUBLIC_CASES: Array<{ url: string; body: Record<string, unknown>; field: string }> = [
  { url: "/api/auth", body: { email: `victim${NUL}@example.com`, password: PASSWORD }, field: "email" },
  { url: "/api/auth", body: { email: "victim@example.com", password: `pass${NUL}word` }, field: "password" },
  { url: "/api/auth/forgot-password", body: { email: `victim@example.com${NUL}` }, field: "email" },
  { url: "/api/auth/resend-confirmation", body: { email: `${NUL}victim@example.com` }, field: "email" },
  {
    url: "/api/auth/register",
    body: { email: `new${NUL}@example.com`, password: "a long new password 1" },
    field: "email",
  },
  {
    url: "/api/auth/register",
    body: { email: "new2@example.com", password: "a long new password 1", firstName: "Eve\u0007\u001b[31m" },
    field: "firstName",
  },
  { url: "/api/auth/confirm-email", body: { token: `${"a".repeat(42)}${NUL}` }, field: "token" },
  { url: "/api/auth/reset-password", body: { token: `${"a".repeat(42)}${NUL}`, password: PASSWORD }, field: "token" },
  { url: "/api/auth/token/refresh", body: { refresh_token: `abc${NUL}` }, field: "refresh_token" },
  { url: "/api/auth/logout", body: { refresh_token: `abc${NUL}` }, field: "refresh_token" },
  { url: "/api/auth/mfa/verify", body: { mfaToken: `${"b".repeat(63)}${NUL}`, code: "123456" }, field: "mfaToken" },
  { url: "/api/auth/mfa/verify", body: { mfaToken: "b".repeat(64), code: `12345\u007f` }, field: "code" },
];

for (const { engine, skip } of engines) {
  test(
    `${engine.name}: NUL and other control characters in any body string get 400 with the contract body`,
    { skip },
    async () => {
      const w = await startWarden({
        engine,
        env: { LOGIN_RATE_LIMIT: "1000/60", REGISTER_RATE_LIMIT: "1000/60", PASSWORD_RESET_RATE_LIMIT: "1000/60" },
      });
      try {
        await w.createUser("victim@example.com", PASSWORD);
        for (const c of PUBLIC_CASES) {
          const response = await postJson(w.app, c.url, c.body);
          assert.equal(response.status, 400, `${c.url} ${c.field}: ${response.raw}`);
          assert.equal(response.body.code, 400);
          assert.equal(response.body.message, "Validation failed.");
          assert.deepEqual(response.body.errors[c.field], ["This value must not contain control characters."], c.url);
        }
        // The MFA endpoint's clients read `error` too.
        const mfa = await postJson(w.app, "/api/auth/mfa/verify", PUBLIC_CASES.at(-1)!.body);
        assert.equal(mfa.body.error, "Validation failed.");

        // Authenticated endpoints: nested preference values and keys, names, and path parameters.
        const login = await postJson(w.app, "/api/auth", { email: "victim@example.com", password: PASSWORD });
        assert.equal(login.status, 200, "the owner still logs in");
        const token = login.body.token as string;
        const patches: Array<[Record<string, unknown>, string]> = [
          [{ firstName: `Ann${NUL}` }, "firstName"],
          [{ preferences: { theme: { name: `dark${NUL}` } } }, "preferences.theme.name"],
          [{ preferences: { [`k${NUL}ey`]: "x" } }, "preferences"],
          [{ currentPassword: `${PASSWORD}${NUL}`, password: "another long password 2" }, "currentPassword"],
        ];
        for (const [payload, field] of patches) {
          const response = await withBearer(w, token, { method: "PATCH", url: "/api/v1/me", payload });
          assert.equal(response.status, 400, `${field}: ${response.raw}`);
          assert.deepEqual(response.body.errors[field], ["This value must not contain control characters."]);
        }
        const session = await withBearer(w, token, { method: "DELETE", url: "/api/v1/me/sessions/abc%00def" });
        assert.equal(session.status, 400, session.raw);
        assert.equal(session.body.code, 400);

        const me = await withBearer(w, token, { method: "GET", url: "/api/v1/me" });
        assert.equal(me.body.firstName, null, "nothing was stored");
        assert.equal(w.logLines.filter((line) => line.includes('"level":50')).length, 0, "no error was logged");
      } finally {
        await w.close();
      }
    },
  );
}
