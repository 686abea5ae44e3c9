/** Finding 6: a retired key verifies only what it signed before it retired; `keys revoke` kills a key everywhere. */
import assert from "node:assert/strict";
import crypto from "node:crypto";
import { test } from "node:test";
import { decodeJwt, decodeProtectedHeader, SignJWT } from "jose";
import { AuthError } from "../../src/domain/errors.js";
import { KEY_RELOAD_MS } from "../../src/domain/sessions/signing-keys.js";
import { engines } from "../helpers/engines.js";
import { run, scratchEnv } from "../helpers/process.js";
import { postJson, startWarden, withBearer, type Warden } from "../helpers/warden.js";
import { getMe, withWarden } from "../sessions/fixtures.js";
import { login, PASSWORD } from "../helpers/login.js";

const ISSUER = "http://warden.test";

/** A token signed with `kid`'s private key, as whoever stole that key would make one. */
async function forge(w: Warden, kid: string, claims: { sub: string; sid: string; iat: number; exp: number }) {
  const rows = await w.deps.database.db.selectFrom("signing_keys").selectAll().where("kid", "=", kid).execute();
  const privateKey = crypto.createPrivateKey(w.deps.box.decrypt("signing-key", rows[0]!.private_key_enc));
  return new SignJWT({ roles: ["ROLE_USER"], username: "keys@example.com", sid: claims.sid })
    .setProtectedHeader({ alg: "RS256", typ: "JWT", kid })
    .setIssuedAt(claims.iat)
    .setExpirationTime(claims.exp)
    .setSubject(claims.sub)
    .setJti(crypto.randomUUID())
    .setIssuer(ISSUER)
    .sign(privateKey);
}

const kidsOf = async (w: Warden) =>
  (
    JSON.parse((await w.app.inject({ method: "GET", url: "/.well-known/jwks.json" })).body).keys as Array<{
      kid: string;
    }>
  )
    .map((k) => k.kid)
    .sort();

for (const { engine, skip } of engines) {
  test(
    `${engine.name}: a retired key verifies only tokens issued before it retired, and for their TTL only`,
    { skip },
    async () => {
      await withWarden(engine, {}, async (w) => {
        await w.createUser("keys@example.com", PASSWORD);
        const before = await login(w, "keys@example.com");
        const oldKid = decodeProtectedHeader(before.token).kid!;
        const { sub, sid } = decodeJwt(before.token) as { sub: string; sid: string };
        w.clock.advance(600);
        await w.deps.keys.rotate();
        const retiredAt = Math.floor(w.clock.now().getTime() / 1000);
        w.clock.advance(3600 - 600 - 10); // the legitimate old token has 10 s left

        // The audit's token: signed with the retired key, iat = now, exp = +20 h. Was accepted.
        const now = Math.floor(w.clock.now().getTime() / 1000);
        const minted = await forge(w, oldKid, { sub, sid, iat: now, exp: now + 20 * 3600 });
        const refused = await getMe(w, minted);
        assert.equal(refused.status, 401, refused.raw);
        assert.equal(refused.body.message, "Invalid JWT Token");
        // Back-dated to before the retirement but living longer than a token ever does: refused too.
        const backdated = await forge(w, oldKid, { sub, sid, iat: retiredAt - 5, exp: retiredAt + 20 * 3600 });
        assert.equal((await getMe(w, backdated)).status, 401);

        // What the key really signed still works for its life.
        assert.equal((await getMe(w, before.token)).status, 200);
        // A token another instance signed with it a few seconds after the rotation (it had not reloaded yet) too.
        const late = await forge(w, oldKid, { sub, sid, iat: retiredAt + 2, exp: retiredAt + 2 + 3600 });
        assert.equal((await getMe(w, late)).status, 200);
        w.clock.advance(10);
        assert.equal((await getMe(w, before.token)).body.message, "Expired JWT Token");
      });
    },
  );

  test(
    `${engine.name}: keys revoke drops a key from the JWKS and from verification on two instances within a second; revoking the signer rotates`,
    { skip },
    async () => {
      const a = await startWarden({ engine, env: { LOGIN_RATE_LIMIT: "1000/60" } });
      const b = await startWarden({ databaseUrl: a.deps.config.DATABASE_URL, env: { LOGIN_RATE_LIMIT: "1000/60" } });
      for (const w of [a, b]) w.deps.keys.startAutoReload(KEY_RELOAD_MS, (error) => assert.fail(String(error)));
      /** Polls `check` every 20 ms; returns the milliseconds it took to hold (fails after 5 s). */
      const until = async (what: string, check: () => Promise<boolean>) => {
        const start = Date.now();
        while (!(await check())) {
          if (Date.now() - start > 5_000) assert.fail(`${what}: not within 5 s`);
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        return Date.now() - start;
      };
      try {
        await a.createUser("keys@example.com", PASSWORD);
        const first = await login(a, "keys@example.com");
        const k1 = decodeProtectedHeader(first.token).kid!;
        const k2 = await a.deps.keys.rotate();
        await until(
          "B signs with the new key",
          async () => decodeProtectedHeader((await login(b, "keys@example.com")).token).kid === k2,
        );
        const second = await login(b, "keys@example.com");
        assert.equal((await getMe(b, first.token)).status, 200, "a retired key's token still verifies on B");
        assert.deepEqual(await kidsOf(b), [k1, k2].sort());

        // Revoke the retired key on A: refused at once on A, within a second on B.
        const revoked = await a.deps.keys.revoke(k1);
        assert.deepEqual(revoked, { kid: k1, alreadyRevoked: false, newSigner: null });
        assert.equal((await getMe(a, first.token)).status, 401, "at once on the instance that revoked");
        const tookB = await until(
          "B refuses the revoked key",
          async () => (await getMe(b, first.token)).status === 401,
        );
        assert.ok(tookB <= 2 * KEY_RELOAD_MS, `B saw the revocation after ${tookB} ms`);
        assert.deepEqual(await kidsOf(a), [k2]);
        assert.deepEqual(await kidsOf(b), [k2]);
        assert.equal((await getMe(b, second.token)).status, 200, "the signer's tokens are untouched");

        // Revoke the signer on B: a new signer takes over in the same transaction.
        const signer = await b.deps.keys.revoke(k2);
        assert.ok(signer.newSigner && signer.newSigner !== k2);
        assert.equal((await getMe(b, second.token)).status, 401);
        const tookA = await until(
          "A refuses the revoked signer",
          async () => (await getMe(a, second.token)).status === 401,
        );
        assert.ok(tookA <= 2 * KEY_RELOAD_MS, `A saw the revocation after ${tookA} ms`);
        const fresh = await login(a, "keys@example.com");
        assert.equal(decodeProtectedHeader(fresh.token).kid, signer.newSigner, "A signs with the new key");
        assert.equal((await getMe(b, fresh.token)).status, 200);
        assert.deepEqual(await kidsOf(a), [signer.newSigner]);
        // The refresh token of a session whose access token died still works: the client carries on.
        const refreshed = await postJson(b.app, "/api/auth/token/refresh", { refresh_token: second.refresh_token });
        assert.equal(refreshed.status, 200);
        assert.equal((await withBearer(a, refreshed.body.token, { method: "GET", url: "/api/v1/me" })).status, 200);

        assert.deepEqual(await a.deps.keys.revoke(k1), { kid: k1, alreadyRevoked: true, newSigner: null });
        await assert.rejects(
          a.deps.keys.revoke("no-such-kid"),
          (e) => e instanceof AuthError && e.code === "NOT_FOUND",
        );
        assert.deepEqual(
          a.deps.keys.list().map((k) => [k.kid, k.status]),
          [
            [k1, "revoked"],
            [k2, "revoked"],
            [signer.newSigner, "signing"],
          ],
        );
      } finally {
        await b.close();
        await a.close();
      }
    },
  );
}

test("warden keys revoke KID: revokes, rotates when it was the signer, and names an unknown kid", async () => {
  const scratch = scratchEnv();
  const warden = (...args: string[]) => run(process.execPath, ["bin/warden.mjs", ...args], { env: scratch.env });
  try {
    assert.equal((await warden("migrate")).code, 0);
    const [signer] = (await warden("keys", "list")).stdout.trim().split("\n");
    const kid = signer!.split(" ")[0]!;
    // Never mistaken for an option on the command line.
    assert.match(kid, /^[0-9a-f]{16}$/);
    const revoked = await warden("keys", "revoke", kid);
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.match(revoked.stdout, new RegExp(`^revoked ${kid}; new signing key \\S+;`));
    const list = (await warden("keys", "list")).stdout.trim().split("\n");
    assert.equal(list.length, 2);
    assert.match(list[0]!, new RegExp(`^${kid} .* revoked \\d{4}-`));
    assert.match(list[1]!, / signing$/);
    const unknown = await warden("keys", "revoke", "nope");
    assert.deepEqual([unknown.code, unknown.stderr], [1, "warden: no signing key nope\n"]);
    // A kid from before hex kids may begin with "-": it goes after "--", and the error says so.
    const dashed = await warden("keys", "revoke", "-7nope");
    assert.equal(dashed.code, 2);
    assert.match(dashed.stderr, /Unknown option '-7'.*goes after '--'/);
    const afterDashes = await warden("keys", "revoke", "--", "-7nope");
    assert.deepEqual([afterDashes.code, afterDashes.stderr], [1, "warden: no signing key -7nope\n"]);
    const missing = await warden("keys", "revoke");
    assert.equal(missing.code, 2, "a missing argument is a usage error");
    assert.match(missing.stderr, /usage: warden keys revoke KID/);
  } finally {
    scratch.cleanup();
  }
});
