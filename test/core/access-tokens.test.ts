/** Access tokens as a resource server sees them: verified offline with Warden's JWKS by jose. */
import assert from "node:assert/strict";
import crypto from "node:crypto";
import { describe, test } from "node:test";
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeProtectedHeader,
  generateKeyPair,
  jwtVerify,
  SignJWT,
  type JSONWebKeySet,
} from "jose";
import { loadConfig } from "../../src/config.js";
import { buildDeps } from "../../src/deps.js";
import { createLogger } from "../../src/log.js";
import { engines } from "../helpers/engines.js";
import { login, PASSWORD } from "../helpers/login.js";
import { FAST_ARGON2, FixedClock, postJson, startWarden, type Warden } from "../helpers/warden.js";

const ISSUER = "http://warden.test";
const logIn = async (w: Warden, email = "rs@example.com") => (await login(w, email)).token;
const jwksOf = async (w: Warden) => (await w.app.inject({ url: "/.well-known/jwks.json" })).json() as JSONWebKeySet;

for (const { engine, skip } of engines) {
  describe(`access tokens on ${engine.name}`, { skip }, () => {
    test("verified with the JWKS: header, signature, exp = iat + 3600, Storno's claims", async () => {
      const w = await startWarden({ engine });
      try {
        const user = await w.createUser("RS@example.com", PASSWORD);
        const token = await logIn(w);
        const jwks = await jwksOf(w);
        const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(jwks), {
          issuer: ISSUER,
          algorithms: ["RS256"],
        });
        assert.deepEqual(Object.keys(protectedHeader).sort(), ["alg", "kid", "typ"]);
        assert.equal(protectedHeader.alg, "RS256");
        assert.equal(protectedHeader.typ, "JWT");
        assert.equal(protectedHeader.kid, jwks.keys[0]!.kid);
        assert.equal(payload.exp, payload.iat! + 3600);
        assert.ok(Math.abs(payload.iat! - Date.now() / 1000) < 60);
        assert.ok((payload.roles as string[]).includes("ROLE_USER"));
        assert.equal(payload.username, "rs@example.com");
        assert.equal(payload.sub, user.id);
        assert.equal(payload.iss, ISSUER);
        assert.match(String(payload.jti), /^[0-9a-f-]{36}$/);
        const session = await w.deps.sessions.findSession(String(payload.sid));
        assert.equal(session?.userId, user.id, "sid names the login's session");
        assert.notEqual(
          (await jwtVerify(await logIn(w), createLocalJWKSet(jwks))).payload.jti,
          payload.jti,
          "jti is unique",
        );
      } finally {
        await w.close();
      }
    });

    test("the JWKS holds public RSA-2048 keys only; openid-configuration points at it", async () => {
      const w = await startWarden({ engine });
      try {
        const jwks = await jwksOf(w);
        assert.equal(jwks.keys.length, 1);
        const [key] = jwks.keys;
        for (const member of ["d", "p", "q", "dp", "dq", "qi"]) assert.equal(member in key!, false, member);
        assert.equal(key!.kty, "RSA");
        assert.equal(key!.alg, "RS256");
        assert.equal(key!.use, "sig");
        assert.equal(Buffer.from(key!.n!, "base64url").length * 8, 2048);
        const discovery = (await w.app.inject({ url: "/.well-known/openid-configuration" })).json();
        assert.equal(discovery.issuer, ISSUER);
        assert.equal(discovery.jwks_uri, `${ISSUER}/.well-known/jwks.json`);
      } finally {
        await w.close();
      }
    });
  });
}

describe("a resource server", () => {
  test("fetches the JWKS over HTTP (createRemoteJWKSet) and rejects forged tokens", async () => {
    const w = await startWarden();
    try {
      await w.createUser("rs@example.com", PASSWORD);
      const base = await w.app.listen({ port: 0, host: "127.0.0.1" });
      const remote = createRemoteJWKSet(new URL(`${base}/.well-known/jwks.json`));
      const token = await logIn(w);
      const { payload } = await jwtVerify(token, remote, { issuer: ISSUER, algorithms: ["RS256"] });
      assert.equal(payload.username, "rs@example.com");

      // Same header and claims, signed by a key that is not Warden's.
      const { privateKey } = await generateKeyPair("RS256");
      const { kid } = decodeProtectedHeader(token);
      const forged = await new SignJWT(payload).setProtectedHeader({ alg: "RS256", typ: "JWT", kid }).sign(privateKey);
      await assert.rejects(jwtVerify(forged, remote, { algorithms: ["RS256"] }), {
        code: "ERR_JWS_SIGNATURE_VERIFICATION_FAILED",
      });

      // alg: none, unsigned.
      const part = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
      const unsigned = `${part({ alg: "none", typ: "JWT", kid })}.${part(payload)}.`;
      await assert.rejects(jwtVerify(unsigned, remote, { algorithms: ["RS256"] }));

      // Warden's own verification (behind every Bearer route) refuses both too.
      for (const bad of [forged, unsigned])
        await assert.rejects(w.deps.accessTokens.verify(bad), { code: "JWT_INVALID" });
      assert.equal((await w.deps.accessTokens.verify(token)).username, "rs@example.com");
    } finally {
      await w.close();
    }
  });
});

describe("signing keys", () => {
  test("rotate: the new kid signs, old tokens verify until they expire, then the old key leaves the JWKS", async () => {
    const clock = new FixedClock(new Date());
    const w = await startWarden({ clock });
    try {
      await w.createUser("rs@example.com", PASSWORD);
      const oldToken = await logIn(w);
      const oldKid = decodeProtectedHeader(oldToken).kid;
      clock.advance(60);
      const newKid = await w.deps.keys.rotate();
      assert.notEqual(newKid, oldKid);
      const newToken = await logIn(w);
      assert.equal(decodeProtectedHeader(newToken).kid, newKid);

      let jwks = await jwksOf(w);
      assert.deepEqual(jwks.keys.map((k) => k.kid).sort(), [oldKid, newKid].sort());
      const at = (seconds: number) => ({ currentDate: new Date(clock.now().getTime() + seconds * 1000) });
      await jwtVerify(oldToken, createLocalJWKSet(jwks), at(0));
      await jwtVerify(newToken, createLocalJWKSet(jwks), at(0));

      clock.advance(3601); // every token the old key signed has expired
      jwks = await jwksOf(w);
      assert.deepEqual(
        jwks.keys.map((k) => k.kid),
        [newKid],
      );
      await assert.rejects(jwtVerify(oldToken, createLocalJWKSet(jwks)), { code: "ERR_JWKS_NO_MATCHING_KEY" });
      assert.deepEqual(
        w.deps.keys.list().map((k) => [k.kid, k.signing, k.published]),
        [
          [oldKid, false, false],
          [newKid, true, true],
        ],
      );
    } finally {
      await w.close();
    }
  });

  test("the private key is encrypted at rest, and a wrong WARDEN_SECRET stops the start with a clear message", async () => {
    const w = await startWarden();
    try {
      const rows = await w.deps.database.db.selectFrom("signing_keys").selectAll().execute();
      assert.equal(rows.length, 1);
      assert.match(rows[0]!.private_key_enc, /^v1\./);
      // The sealed text opens to the PEM, and no line of that PEM is stored in the clear. (Not a
      // pattern such as /MII/: random ciphertext contains any three letters now and then.)
      const pem = w.deps.box.decrypt("signing-key", rows[0]!.private_key_enc);
      assert.match(pem, /^-----BEGIN PRIVATE KEY-----\n/);
      const stored = JSON.stringify(rows);
      for (const line of pem.split("\n").filter((l) => l.length >= 16))
        assert.ok(!stored.includes(line), "a line of the PEM is stored in the clear");
      const config = loadConfig({
        DATABASE_URL: w.deps.config.DATABASE_URL,
        DATA_DIR: w.deps.config.DATA_DIR,
        WARDEN_SECRET: crypto.randomBytes(32).toString("hex"),
      });
      await assert.rejects(
        buildDeps(config, createLogger("silent"), { argon2: FAST_ARGON2 }),
        /cannot decrypt the signing key: WARDEN_SECRET differs/,
      );
    } finally {
      await w.close();
    }
  });
});
