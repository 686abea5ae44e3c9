import assert from "node:assert/strict";
import { test } from "node:test";
import { decodeProtectedHeader } from "jose";
import { engines } from "../helpers/engines.js";
import { login, PASSWORD } from "../helpers/login.js";
import { getMe, withWarden } from "./fixtures.js";

const PRIVATE_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

for (const { engine, skip } of engines) {
  test(
    `${engine.name}: tokens signed before a rotation keep verifying under load until they expire; new ones carry the new kid`,
    { skip },
    async () => {
      await withWarden(engine, {}, async (w) => {
        await w.createUser("keys@example.com", PASSWORD);
        const before = await Promise.all(Array.from({ length: 5 }, () => login(w, "keys@example.com")));
        const oldKid = decodeProtectedHeader(before[0]!.token).kid;

        // Requests with old tokens in flight while the key rotates, and new logins racing it.
        const [rotated, reads, during] = await Promise.all([
          w.deps.keys.rotate(),
          Promise.all(Array.from({ length: 60 }, (_, i) => getMe(w, before[i % before.length]!.token))),
          Promise.all(Array.from({ length: 5 }, () => login(w, "keys@example.com"))),
        ]);
        assert.notEqual(rotated, oldKid);
        assert.deepEqual(
          new Set(reads.map((r) => r.status)),
          new Set([200]),
          "no old token failed during the rotation",
        );
        for (const pair of during)
          assert.equal((await getMe(w, pair.token)).status, 200, "tokens minted during the rotation verify");

        const after = await login(w, "keys@example.com");
        assert.equal(decodeProtectedHeader(after.token).kid, rotated);

        const jwks = await w.app.inject({ method: "GET", url: "/.well-known/jwks.json" });
        const keys = JSON.parse(jwks.body).keys as Array<Record<string, unknown>>;
        assert.deepEqual(
          keys.map((k) => k.kid).sort(),
          [oldKid, rotated].sort(),
          "both keys are published while old tokens live",
        );
        for (const key of keys) {
          for (const member of PRIVATE_MEMBERS)
            assert.equal(key[member], undefined, `JWKS key ${String(key.kid)} has private member ${member}`);
          assert.deepEqual(Object.keys(key).sort(), ["alg", "e", "kid", "kty", "n", "use"]);
        }
        assert.doesNotMatch(jwks.body, /PRIVATE|"d"\s*:/);

        w.clock.advance(3599);
        assert.equal((await getMe(w, before[0]!.token)).status, 200, "an old token verifies until its last second");
        w.clock.advance(1);
        const expired = await getMe(w, before[0]!.token);
        assert.equal(expired.status, 401);
        // Its key has left the JWKS, but Warden still recognises the token as its own, expired one:
        // the client is told to refresh, not that the token is forged.
        assert.equal(expired.body.message, "Expired JWT Token");
        const fresh = await login(w, "keys@example.com");
        assert.equal((await getMe(w, fresh.token)).status, 200);
        const later = JSON.parse((await w.app.inject({ method: "GET", url: "/.well-known/jwks.json" })).body).keys;
        assert.deepEqual(
          later.map((k: { kid: string }) => k.kid),
          [rotated],
          "the old key leaves the JWKS once its tokens are dead",
        );
      });
    },
  );
}
