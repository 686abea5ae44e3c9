import assert from "node:assert/strict";
import { test } from "node:test";
import { createUser } from "../../src/domain/accounts/lifecycle.js";
import { engines } from "../helpers/engines.js";
import { passkeyFixture } from "../contract/passkey-store.js";
import {
  bearer,
  call,
  createKey,
  enrolTotp,
  loginAs,
  PASSWORD,
  stepUpToken,
  userWithToken,
  withKeyWarden,
} from "../api-keys/fixtures.js";

for (const { engine, skip } of engines) {
  const name = (s: string) => `${engine.name}: ${s}`;

  test(name("admin API: every endpoint, each action a security event naming the actor"), { skip }, async () => {
    await withKeyWarden(engine, async (w) => {
      const admin = await userWithToken(w, "root@example.com", ["ROLE_ADMIN"]);
      const as = (method: "GET" | "POST" | "DELETE", url: string) => call(w, bearer(admin.token), method, url);
      const alice = await userWithToken(w, "alice@example.com");
      const ann = await createUser(w.deps, {
        email: "ann@example.com",
        password: PASSWORD,
        confirmed: false,
        active: true,
      });
      const andy = await createUser(w.deps, {
        email: "andy@example.com",
        password: PASSWORD,
        confirmed: true,
        active: false,
      });
      await createUser(w.deps, { email: "bob@example.com", password: PASSWORD, confirmed: true, active: true });

      // Search: prefix, status, cursor paging.
      const first = await as("GET", "/api/admin/users?email=A&limit=2");
      assert.equal(first.status, 200, first.raw);
      assert.deepEqual(
        first.body.data.map((u: any) => u.email),
        ["alice@example.com", "andy@example.com"],
      );
      assert.equal(typeof first.body.next, "string");
      const second = await as("GET", `/api/admin/users?email=a&limit=2&cursor=${first.body.next}`);
      assert.deepEqual(
        second.body.data.map((u: any) => u.email),
        ["ann@example.com"],
      );
      assert.equal(second.body.next, null);
      const statuses = async (status: string) =>
        (await as("GET", `/api/admin/users?status=${status}`)).body.data.map((u: any) => u.email);
      assert.deepEqual(await statuses("inactive"), ["andy@example.com"]);
      assert.deepEqual(await statuses("unconfirmed"), ["ann@example.com"]);
      assert.deepEqual(await statuses("active"), ["alice@example.com", "bob@example.com", "root@example.com"]);
      assert.equal((await as("GET", "/api/admin/users?status=gone")).status, 400);
      assert.deepEqual((await as("GET", "/api/admin/users?email=a_")).body.data, [], "LIKE wildcards are literal");

      const shown = await as("GET", `/api/admin/users/${alice.user.id}`);
      assert.equal(shown.body.email, "alice@example.com");
      assert.equal(shown.body.status, "active");
      assert.deepEqual((await as("GET", "/api/admin/users/nobody")).body, { code: 404, message: "User not found." });

      const sessions = await as("GET", `/api/admin/users/${alice.user.id}/sessions`);
      assert.equal(sessions.body.data.length, 1);

      // Actions.
      assert.equal((await as("POST", `/api/admin/users/${ann.id}/confirm`)).body.status, "active");
      assert.equal((await as("POST", `/api/admin/users/${andy.id}/activate`)).body.status, "active");
      assert.equal((await as("POST", `/api/admin/users/${alice.user.id}/mfa-reset`)).status, 200);
      const key = await createKey(w, alice.token);
      assert.deepEqual((await as("POST", `/api/admin/users/${alice.user.id}/revoke-keys`)).body, { revoked: 1 });
      assert.equal((await call(w, key.token, "GET", "/api/v1/me")).status, 403, "the key died");
      assert.deepEqual((await as("POST", `/api/admin/users/${alice.user.id}/revoke-sessions`)).body, { revoked: 1 });
      assert.equal((await call(w, bearer(alice.token), "GET", "/api/v1/me")).status, 401, "the session died");
      const again = await loginAs(w, "alice@example.com");
      const deactivated = await as("POST", `/api/admin/users/${alice.user.id}/deactivate`);
      assert.equal(deactivated.body.status, "inactive");
      assert.equal(
        (await call(w, bearer(again.token), "GET", "/api/v1/me")).status,
        403,
        "seen by the user's token at once",
      );

      // Signing keys.
      const keys = await as("GET", "/api/admin/keys");
      assert.equal(keys.body.data.length, 1);
      const rotated = await as("POST", "/api/admin/keys/rotate");
      assert.equal(rotated.status, 201);
      const after = (await as("GET", "/api/admin/keys")).body.data;
      assert.equal(after.find((k: any) => k.signing).kid, rotated.body.kid);

      // Delete: as the user's own deletion does, passkeys go too.
      await w.deps.passkeys.insert(passkeyFixture(alice.user.id));
      assert.equal((await as("DELETE", `/api/admin/users/${alice.user.id}`)).status, 204);
      assert.equal(await w.deps.passkeys.countForUser(alice.user.id), 0);
      assert.equal((await as("GET", `/api/admin/users/${alice.user.id}`)).body.status, "deleted");
      assert.equal((await as("DELETE", `/api/admin/users/${alice.user.id}`)).status, 404);
      assert.deepEqual(await statuses("deleted"), [`deleted-${alice.user.id}@invalid`]);
      assert.equal((await loginAs(w, "alice@example.com").catch((e) => e)) instanceof Error, true);

      // Audit: filtered, paged, every action names the actor.
      const audit = await as("GET", `/api/admin/security-events?userId=${alice.user.id}&limit=100`);
      const types = audit.body.data.map((e: any) => e.type);
      for (const type of [
        "admin_user_viewed",
        "admin_sessions_viewed",
        "admin_mfa_reset",
        "admin_api_keys_revoked",
        "admin_sessions_revoked",
        "admin_deactivate",
        "admin_user_deleted",
      ])
        assert.ok(types.includes(type), type);
      for (const event of audit.body.data.filter((e: any) => e.type.startsWith("admin_"))) {
        assert.equal(event.detail.actorId, admin.user.id);
        assert.equal(event.detail.actorEmail, "root@example.com");
      }
      const byType = await as("GET", "/api/admin/security-events?type=admin_signing_key_rotated");
      assert.equal(byType.body.data.length, 1);
      assert.equal(byType.body.data[0].detail.kid, rotated.body.kid);
      const paged = await as("GET", `/api/admin/security-events?userId=${alice.user.id}&limit=2`);
      const next = await as(
        "GET",
        `/api/admin/security-events?userId=${alice.user.id}&limit=2&before=${paged.body.next}`,
      );
      assert.deepEqual(
        [...paged.body.data, ...next.body.data].map((e: any) => e.id),
        audit.body.data.slice(0, 4).map((e: any) => e.id),
      );
      const future = await as("GET", "/api/admin/security-events?since=2099-01-01T00:00:00Z");
      assert.deepEqual(future.body.data, []);
      assert.equal((await as("GET", "/api/admin/security-events?since=yesterday")).status, 400);

      // Revoking a signing key: out of the JWKS, and every token it signed (the admin's own, here) refused at once.
      const [retired] = after.filter((k: any) => !k.signing);
      assert.equal((await as("POST", "/api/admin/keys/nope/revoke")).status, 404);
      const revokedKey = await as("POST", `/api/admin/keys/${retired.kid}/revoke`);
      assert.deepEqual(revokedKey.body, { kid: retired.kid, alreadyRevoked: false, newSigner: null });
      const jwks = await call(w, undefined, "GET", "/.well-known/jwks.json");
      assert.ok(!jwks.body.keys.some((k: any) => k.kid === retired.kid), "gone from the JWKS");
      assert.equal((await as("GET", "/api/admin/keys")).status, 401, "the admin's token was signed by that key");
      const relogged = await loginAs(w, "root@example.com");
      const asNew = (method: "GET" | "POST", url: string) => call(w, bearer(relogged.token), method, url);
      const listed = (await asNew("GET", "/api/admin/keys")).body.data;
      // (Both keys were made at the same instant of the test's clock: compare them by status.)
      assert.deepEqual(
        listed.map((k: any) => [k.kid, k.status, k.published, k.revokedAt !== null]).sort(),
        [
          [retired.kid, "revoked", false, true],
          [rotated.body.kid, "signing", true, false],
        ].sort(),
      );
      const signer = await asNew("POST", `/api/admin/keys/${rotated.body.kid}/revoke`);
      assert.equal(signer.body.alreadyRevoked, false);
      assert.match(signer.body.newSigner, /\S/, "revoking the signer puts a new one in its place");
      assert.equal((await asNew("GET", "/api/admin/keys")).status, 401, "that token too was signed by the revoked key");
      const third = await loginAs(w, "root@example.com");
      const twice = await call(w, bearer(third.token), "POST", `/api/admin/keys/${retired.kid}/revoke`);
      assert.deepEqual(twice.body, { kid: retired.kid, alreadyRevoked: true, newSigner: null });
      const revocations = await call(
        w,
        bearer(third.token),
        "GET",
        "/api/admin/security-events?type=admin_signing_key_revoked",
      );
      assert.deepEqual(
        revocations.body.data.map((e: any) => [e.detail.kid, e.detail.actorEmail]).sort(),
        [
          [retired.kid, "root@example.com"],
          [rotated.body.kid, "root@example.com"],
        ].sort(),
        "once per revocation, naming the actor",
      );
    });
  });

  test(
    name("admin API: a non-admin gets 403, a stale admin session 403 mfa_required, a key 403"),
    { skip },
    async () => {
      await withKeyWarden(engine, async (w) => {
        const admin = await userWithToken(w, "root@example.com", ["ROLE_ADMIN"]);
        // TOTP on while the session is fresh: it buys step-up tokens once the session is stale.
        const backupCodes = await enrolTotp(w, admin.token);
        const user = await userWithToken(w, "alice@example.com");
        const urls: Array<["GET" | "POST" | "DELETE", string]> = [
          ["GET", "/api/admin/users"],
          ["GET", `/api/admin/users/${user.user.id}`],
          ["DELETE", `/api/admin/users/${user.user.id}`],
          ["POST", `/api/admin/users/${user.user.id}/deactivate`],
          ["POST", `/api/admin/users/${user.user.id}/revoke-sessions`],
          ["GET", `/api/admin/users/${user.user.id}/sessions`],
          ["GET", "/api/admin/security-events"],
          ["POST", `/api/admin/users/${user.user.id}/activate`],
          ["POST", `/api/admin/users/${user.user.id}/confirm`],
          ["POST", `/api/admin/users/${user.user.id}/mfa-reset`],
          ["POST", `/api/admin/users/${user.user.id}/revoke-keys`],
          ["GET", "/api/admin/keys"],
          ["POST", "/api/admin/keys/rotate"],
          ["POST", `/api/admin/keys/${w.deps.keys.list()[0]!.kid}/revoke`],
        ];
        for (const [method, url] of urls) {
          const response = await call(w, bearer(user.token), method, url);
          assert.deepEqual(
            [response.status, response.body],
            [403, { code: 403, message: "Access denied: administrators only." }],
            url,
          );
          assert.equal((await call(w, undefined, method, url)).status, 401, url);
        }
        const key = await createKey(w, admin.token, { scopes: ["admin:all"] });
        assert.equal(
          (await call(w, key.token, "GET", "/api/admin/users")).status,
          403,
          "an admin's key is still a key",
        );

        w.clock.advance(601);
        const refreshed = await call(w, undefined, "POST", "/api/auth/token/refresh", {
          refresh_token: admin.refreshToken,
        });
        for (const [method, url] of urls) {
          const response = await call(w, bearer(refreshed.body.token), method, url);
          assert.equal(response.status, 403, url);
          assert.equal(response.body.error, "mfa_required", url);
        }
        // A step-up verification token of the stale session passes, once, from the header or the body.
        const stale = refreshed.body.token as string;
        const header = { "x-verification-token": await stepUpToken(w, stale, backupCodes[0]!) };
        assert.equal((await call(w, bearer(stale), "GET", "/api/admin/users", undefined, header)).status, 200);
        const spent = await call(w, bearer(stale), "GET", "/api/admin/users", undefined, header);
        assert.deepEqual([spent.status, spent.body.error], [403, "mfa_required"], "single use");
        const viaBody = await call(w, bearer(stale), "POST", `/api/admin/users/${user.user.id}/confirm`, {
          verification_token: await stepUpToken(w, stale, backupCodes[1]!),
        });
        assert.equal(viaBody.status, 200, viaBody.raw);
        assert.equal(
          (await call(w, bearer(stale), "GET", `/api/admin/users/${user.user.id}`)).status,
          403,
          "and the session is stale again",
        );

        assert.equal(
          (
            await call(w, bearer(stale), "GET", `/api/admin/users/${user.user.id}`, undefined, {
              "x-verification-token": await stepUpToken(w, stale, backupCodes[2]!),
            })
          ).body.status,
          "active",
          "nothing was done",
        );
      });
    },
  );
}
