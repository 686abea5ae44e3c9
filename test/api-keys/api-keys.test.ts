import assert from "node:assert/strict";
import crypto from "node:crypto";
import { test } from "node:test";
import { sql } from "kysely";
import { activateUser, deactivateUser } from "../../src/domain/accounts/lifecycle.js";
import { isWellFormedApiKey, newApiKey } from "../../src/domain/api-keys/format.js";
import { systemRandom } from "../../src/deps.js";
import { engines } from "../helpers/engines.js";
import {
  bearer,
  call,
  createKey,
  enrolTotp,
  INVALID_KEY,
  loginAs,
  PASSWORD,
  SCOPES,
  stepUpToken,
  userWithToken,
  withKeyWarden,
} from "./fixtures.js";

const sha256 = (s: string) => crypto.createHash("sha256").update(s).digest("hex");

test("key format: af_ + 64 hex whose last 8 are the first 8 hex of SHA-256 of the 56 before", () => {
  for (let i = 0; i < 20; i++) {
    const key = newApiKey(systemRandom);
    assert.match(key, /^af_[0-9a-f]{64}$/);
    assert.equal(key.slice(59), sha256(key.slice(3, 59)).slice(0, 8));
    assert.equal(isWellFormedApiKey(key), true);
    const flipped = key.slice(0, 10) + (key[10] === "0" ? "1" : "0") + key.slice(11);
    assert.equal(isWellFormedApiKey(flipped), false, "one changed character breaks the checksum");
  }
  for (const bad of ["", "af_", "af_xyz", `af_${"0".repeat(63)}`, `AF_${"0".repeat(64)}`, `af_${"0".repeat(65)}`])
    assert.equal(isWellFormedApiKey(bad), false, bad);
});

for (const { engine, skip } of engines) {
  const name = (s: string) => `${engine.name}: ${s}`;

  test(name("create, list, use on /me (both header forms), shown once, stored as SHA-256 only"), { skip }, async () => {
    await withKeyWarden(engine, async (w) => {
      const { user, token } = await userWithToken(w, "dev@example.com");
      const created = await createKey(w, token, { name: "CI deploys", scopes: ["invoices:read", "invoices:write"] });
      assert.match(created.token, /^af_[0-9a-f]{64}$/);
      assert.equal(created.tokenPrefix, created.token.slice(0, 12));
      assert.deepEqual(
        { ...created, id: undefined, token: undefined },
        {
          id: undefined,
          token: undefined,
          name: "CI deploys",
          tokenPrefix: created.tokenPrefix,
          scopes: ["invoices:read", "invoices:write"],
          createdAt: w.clock.now().toISOString(),
          expiresAt: null,
          lastUsedAt: null,
          revokedAt: null,
        },
      );

      const list = await call(w, bearer(token), "GET", "/api/v1/api-tokens");
      assert.equal(list.status, 200);
      assert.equal(list.body.data.length, 1);
      assert.equal(list.body.data[0].id, created.id);
      assert.equal("token" in list.body.data[0], false, "the key is never shown again");
      assert.doesNotMatch(list.raw, new RegExp(created.token));

      const rows = await sql<Record<string, unknown>>`select * from api_keys`.execute(w.deps.database.db);
      assert.equal(rows.rows.length, 1);
      assert.equal(rows.rows[0]!.token_hash, sha256(created.token));
      assert.doesNotMatch(JSON.stringify(rows.rows), new RegExp(created.token), "no column holds the key");

      for (const header of [created.token, `Bearer ${created.token}`]) {
        const me = await call(w, header, "GET", "/api/v1/me");
        assert.equal(me.status, 200, me.raw);
        assert.equal(me.body.id, user.id);
        assert.equal(me.body.email, "dev@example.com");
      }
      const scopes = await call(w, bearer(token), "GET", "/api/v1/api-tokens/scopes");
      assert.deepEqual(scopes.body, {
        scopes: SCOPES.filter((s) => !s.roles).map(({ value, label, category }) => ({ value, label, category })),
      });
      assert.ok(
        w.logLines.every((line) => !line.includes(created.token)),
        "the key never reaches the log",
      );
    });
  });

  test(name("bad input: name, scopes, unknown and forbidden scopes, past or malformed expiry"), { skip }, async () => {
    await withKeyWarden(engine, async (w) => {
      const { token } = await userWithToken(w, "dev@example.com");
      const admin = await userWithToken(w, "boss@example.com", ["ROLE_ADMIN"]);
      const post = (t: string, body: unknown) => call(w, bearer(t), "POST", "/api/v1/api-tokens", body);
      const cases: Array<[unknown, number, string]> = [
        [{ scopes: ["invoices:read"] }, 400, 'Field "name" is required.'],
        [{ name: "  ", scopes: ["invoices:read"] }, 400, 'Field "name" is required.'],
        [{ name: "x" }, 400, "At least one scope is required."],
        [{ name: "x", scopes: [] }, 400, "At least one scope is required."],
        [{ name: "x", scopes: ["invoices:read", "nope", "also:no"] }, 400, "Invalid scopes: nope, also:no"],
        [{ name: "x", scopes: ["admin:all"] }, 403, 'Cannot grant scope "admin:all".'],
        [{ name: "x", scopes: ["invoices:read"], expiresAt: "next tuesday" }, 400, "Invalid expiresAt date format."],
        [
          { name: "x", scopes: ["invoices:read"], expiresAt: "2026-01-15T09:59:59Z" },
          400,
          "Invalid expiresAt date format.",
        ],
        [{ name: "x", scopes: ["invoices:read"], expiresAt: "2026-13-45" }, 400, "Invalid expiresAt date format."],
      ];
      for (const [body, status, message] of cases) {
        const response = await post(token, body);
        assert.equal(response.status, status, `${JSON.stringify(body)}: ${response.raw}`);
        assert.deepEqual(response.body, { code: status, message }, JSON.stringify(body));
      }
      const wrongType = await post(token, { name: 42, scopes: ["invoices:read"] });
      assert.equal(wrongType.status, 400);
      const mine = await post(admin.token, { name: "ops", scopes: ["admin:all"], expiresAt: "2026-02-01T00:00:00Z" });
      assert.equal(mine.status, 201, "an admin may grant the admin scope");
      assert.equal(mine.body.expiresAt, "2026-02-01T00:00:00.000Z");
      const adminScopes = await call(w, bearer(admin.token), "GET", "/api/v1/api-tokens/scopes");
      assert.equal(adminScopes.body.scopes.length, 3);

      const created = await createKey(w, token);
      const patch = (body: unknown) => call(w, bearer(token), "PATCH", `/api/v1/api-tokens/${created.id}`, body);
      assert.deepEqual((await patch({ scopes: ["admin:all"] })).body, {
        code: 403,
        message: 'Cannot grant scope "admin:all".',
      });
      assert.equal((await patch({ scopes: [] })).status, 400);
      const renamed = await patch({ name: "renamed", scopes: ["invoices:write"] });
      assert.equal(renamed.status, 200);
      assert.equal(renamed.body.name, "renamed");
      assert.deepEqual(renamed.body.scopes, ["invoices:write"]);
      const other = await call(w, bearer(admin.token), "PATCH", `/api/v1/api-tokens/${created.id}`, { name: "mine" });
      assert.deepEqual(other.body, { code: 404, message: "API token not found." }, "another user's key is not found");
      const gone = await call(w, bearer(admin.token), "DELETE", `/api/v1/api-tokens/${created.id}`);
      assert.equal(gone.status, 404);
    });
  });

  test(name("a key is refused everywhere but GET /me, and never manages keys"), { skip }, async () => {
    await withKeyWarden(engine, async (w) => {
      const { token } = await userWithToken(w, "dev@example.com");
      const key = await createKey(w, token);
      const refusal = {
        code: 403,
        message: "API keys cannot be managed via programmatic tokens. Use a browser session.",
      };
      for (const header of [key.token, bearer(key.token)]) {
        for (const [method, url, body] of [
          ["GET", "/api/v1/api-tokens"],
          ["POST", "/api/v1/api-tokens", { name: "escalate", scopes: ["invoices:write"] }],
          ["GET", "/api/v1/api-tokens/scopes"],
          ["PATCH", `/api/v1/api-tokens/${key.id}`, { name: "x" }],
          ["DELETE", `/api/v1/api-tokens/${key.id}`],
          ["POST", `/api/v1/api-tokens/${key.id}/rotate`],
        ] as const) {
          const response = await call(w, header, method, url, body);
          assert.deepEqual([response.status, response.body], [403, refusal], `${method} ${url}`);
        }
        for (const [method, url, body] of [
          ["PATCH", "/api/v1/me", { firstName: "Mallory" }],
          ["DELETE", "/api/v1/me", { password: PASSWORD }],
          ["GET", "/api/v1/me/sessions"],
          ["POST", "/api/v1/me/mfa/totp/setup"],
          ["GET", "/api/admin/users"],
        ] as const) {
          const response = await call(w, header, method, url, body);
          assert.equal(response.status, 403, `${method} ${url}: ${response.raw}`);
        }
      }
      const still = await call(w, bearer(token), "GET", "/api/v1/api-tokens");
      assert.equal(still.body.data.length, 1, "nothing was created, renamed or revoked by the key");
      assert.equal(still.body.data[0].name, "ci");
      assert.equal(still.body.data[0].revokedAt, null);
    });
  });

  test(name("malformed keys are refused before any lookup; unknown keys after one; same body"), { skip }, async () => {
    await withKeyWarden(engine, async (w) => {
      let lookups = 0;
      const store = w.deps.apiKeys;
      const findWithOwner = store.findWithOwner.bind(store);
      store.findWithOwner = async (hash) => {
        lookups++;
        return findWithOwner(hash);
      };
      const real = newApiKey(systemRandom);
      const badChecksum = real.slice(0, -1) + (real.endsWith("0") ? "1" : "0");
      for (const header of ["af_nothex", `Bearer af_${"0".repeat(64)}`, badChecksum, "af_"]) {
        const response = await call(w, header, "GET", "/api/v1/me");
        assert.deepEqual([response.status, response.body], [403, INVALID_KEY], header);
      }
      assert.equal(lookups, 0, "no lookup for a key whose checksum fails");
      const unknown = await call(w, real, "GET", "/api/v1/me");
      assert.deepEqual([unknown.status, unknown.body], [403, INVALID_KEY]);
      assert.equal(lookups, 1);
    });
  });

  test(name("expiry, revocation, rotation; lastUsedAt at most once a minute"), { skip }, async () => {
    await withKeyWarden(engine, async (w) => {
      const { token } = await userWithToken(w, "dev@example.com");
      const expiring = await createKey(w, token, { expiresAt: "2026-01-15T11:00:00Z" });
      const me = (key: string) => call(w, key, "GET", "/api/v1/me");
      assert.equal((await me(expiring.token)).status, 200);
      const list = async () =>
        (await call(w, bearer(token), "GET", "/api/v1/api-tokens")).body.data as Array<Record<string, any>>;
      const firstUse = w.clock.now().toISOString();
      assert.equal((await list())[0]!.lastUsedAt, firstUse);
      w.clock.advance(30);
      await me(expiring.token);
      assert.equal((await list())[0]!.lastUsedAt, firstUse, "not rewritten within the minute");
      w.clock.advance(31);
      await me(expiring.token);
      assert.equal((await list())[0]!.lastUsedAt, w.clock.now().toISOString(), "rewritten after it");

      w.clock.advance(3600);
      assert.deepEqual((await me(expiring.token)).body, INVALID_KEY, "expired");

      const fresh = await loginAs(w, "dev@example.com");
      // Rotation keeps the expiry: an expired key would come back born dead (it came back 201).
      const late = await call(w, bearer(fresh.token), "POST", `/api/v1/api-tokens/${expiring.id}/rotate`);
      assert.deepEqual(late.body, { code: 400, message: "Cannot rotate an expired token. Create a new one." });
      const key = await createKey(w, fresh.token);
      const rotated = await call(w, bearer(fresh.token), "POST", `/api/v1/api-tokens/${key.id}/rotate`);
      assert.equal(rotated.status, 201, rotated.raw);
      assert.notEqual(rotated.body.token, key.token);
      assert.notEqual(rotated.body.id, key.id);
      assert.equal(rotated.body.name, "ci");
      assert.deepEqual(rotated.body.scopes, ["invoices:read"]);
      assert.deepEqual((await me(key.token)).body, INVALID_KEY, "the old key died");
      assert.equal((await me(rotated.body.token)).status, 200);
      const again = await call(w, bearer(fresh.token), "POST", `/api/v1/api-tokens/${key.id}/rotate`);
      assert.deepEqual(again.body, { code: 400, message: "Cannot rotate a revoked token." });

      const revoked = await call(w, bearer(fresh.token), "DELETE", `/api/v1/api-tokens/${rotated.body.id}`);
      assert.equal(revoked.status, 204);
      assert.deepEqual((await me(rotated.body.token)).body, INVALID_KEY);
      assert.equal((await call(w, bearer(fresh.token), "DELETE", `/api/v1/api-tokens/${rotated.body.id}`)).status, 404);
      const rows = (await call(w, bearer(fresh.token), "GET", "/api/v1/api-tokens")).body.data as Array<
        Record<string, any>
      >;
      assert.equal(rows.length, 3);
      assert.ok(rows.every((r) => r.revokedAt !== null || r.id === expiring.id));
    });
  });

  test(name("create and rotate need a fresh login: a stale session gets 403 mfa_required"), { skip }, async () => {
    await withKeyWarden(engine, async (w) => {
      const { token, refreshToken } = await userWithToken(w, "dev@example.com");
      const key = await createKey(w, token);
      // TOTP on while the session is fresh (turning it on is sensitive too): it buys step-up tokens later.
      const backupCodes = await enrolTotp(w, token);
      w.clock.advance(601);
      const refreshed = await call(w, undefined, "POST", "/api/auth/token/refresh", { refresh_token: refreshToken });
      const stale = refreshed.body.token as string;
      const expected = {
        code: 403,
        message: "Step-up MFA verification required.",
        error: "mfa_required",
        error_description: "Step-up MFA verification required.",
      };
      const create = await call(w, bearer(stale), "POST", "/api/v1/api-tokens", {
        name: "x",
        scopes: ["invoices:read"],
      });
      assert.deepEqual([create.status, create.body], [403, expected]);
      const rotate = await call(w, bearer(stale), "POST", `/api/v1/api-tokens/${key.id}/rotate`);
      assert.deepEqual([rotate.status, rotate.body], [403, expected]);
      assert.equal((await call(w, bearer(stale), "GET", "/api/v1/api-tokens")).status, 200, "reads are not sensitive");

      // A step-up verification token of this session stands in for a fresh login, once each.
      const viaHeader = await stepUpToken(w, stale, backupCodes[0]!);
      const created = await call(
        w,
        bearer(stale),
        "POST",
        "/api/v1/api-tokens",
        { name: "x", scopes: ["invoices:read"] },
        { "x-verification-token": viaHeader },
      );
      assert.equal(created.status, 201, created.raw);
      const spent = await call(
        w,
        bearer(stale),
        "POST",
        "/api/v1/api-tokens",
        { name: "y", scopes: ["invoices:read"] },
        { "x-verification-token": viaHeader },
      );
      assert.deepEqual([spent.status, spent.body.error], [403, "mfa_required"], "a verification token is single use");
      const viaBody = await call(w, bearer(stale), "POST", "/api/v1/api-tokens", {
        name: "z",
        scopes: ["invoices:read"],
        verification_token: await stepUpToken(w, stale, backupCodes[1]!),
      });
      assert.equal(viaBody.status, 201, viaBody.raw);
      const rotatedWithStepUp = await call(
        w,
        bearer(stale),
        "POST",
        `/api/v1/api-tokens/${created.body.id}/rotate`,
        undefined,
        {
          "x-verification-token": await stepUpToken(w, stale, backupCodes[2]!),
        },
      );
      assert.equal(rotatedWithStepUp.status, 201, rotatedWithStepUp.raw);
      assert.equal(
        (await call(w, bearer(stale), "DELETE", `/api/v1/api-tokens/${key.id}`)).status,
        204,
        "revoking is not either",
      );
    });
  });

  test(
    name("deactivation pauses keys, reactivation revives them; deleting the account kills them"),
    { skip },
    async () => {
      await withKeyWarden(engine, async (w) => {
        const { user, token } = await userWithToken(w, "dev@example.com");
        const key = await createKey(w, token);
        const ctx = { ip: null, userAgent: "test" };
        await deactivateUser(w.deps, user, ctx);
        const paused = await call(w, key.token, "GET", "/api/v1/me");
        assert.deepEqual(paused.body, {
          code: 403,
          message: "Your account has been deactivated. Please contact support.",
        });
        await activateUser(w.deps, user, ctx);
        assert.equal((await call(w, key.token, "GET", "/api/v1/me")).status, 200, "the key survived deactivation");

        const session = await loginAs(w, "dev@example.com");
        const deleted = await call(w, bearer(session.token), "DELETE", "/api/v1/me", { password: PASSWORD });
        assert.equal(deleted.status, 204);
        assert.deepEqual((await call(w, key.token, "GET", "/api/v1/me")).body, INVALID_KEY);
        const row = await w.deps.apiKeys.findForUser(user.id, key.id);
        assert.notEqual(row?.revokedAt, null, "revoked, not merely orphaned");
      });
    },
  );
}
