import assert from "node:assert/strict";
import crypto from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { decodeJwt, decodeProtectedHeader, exportJWK, SignJWT, type JWTPayload } from "jose";
import { engines } from "../helpers/engines.js";
import { postJson } from "../helpers/warden.js";
import { login, PASSWORD, postLogin } from "../helpers/login.js";
import { getMe, withBearer, sharedWarden } from "./fixtures.js";
import { turnOnTotp } from "../mfa/mfa-helpers.js";

const b64 = (value: unknown) =>
  Buffer.from(typeof value === "string" ? value : JSON.stringify(value)).toString("base64url");
const attacker = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
const attackerEc = crypto.generateKeyPairSync("ec", { namedCurve: "P-256" });

async function sign(
  claims: JWTPayload,
  header: Record<string, unknown> & { alg: string },
  key: crypto.KeyObject | Uint8Array,
): Promise<string> {
  return new SignJWT(claims).setProtectedHeader(header).sign(key);
}

/** Signs by hand, for headers jose itself refuses to produce. */
function signRs256(header: Record<string, unknown>, claims: JWTPayload, key: crypto.KeyObject): string {
  const input = `${b64(header)}.${b64(claims)}`;
  return `${input}.${crypto.sign("sha256", Buffer.from(input), key).toString("base64url")}`;
}

for (const { engine, skip } of engines) {
  const onShared = sharedWarden(engine);
  test(
    `${engine.name}: forged, altered and foreign tokens get 401 and never reach past signature checks`,
    { skip },
    async (t) => {
      // A server an attacker's `jku`/`x5u` would point at: it must never be asked.
      let fetched = 0;
      const keyServer = http.createServer((_req, res) => {
        fetched++;
        res.setHeader("content-type", "application/json");
        res.end(
          JSON.stringify({
            keys: [{ ...attacker.publicKey.export({ format: "jwk" }), kid: "attacker", alg: "RS256", use: "sig" }],
          }),
        );
      });
      await new Promise<void>((resolve) => keyServer.listen(0, "127.0.0.1", resolve));
      const keyUrl = `http://127.0.0.1:${(keyServer.address() as AddressInfo).port}/jwks.json`;

      try {
        await onShared(async (w) => {
          const user = await w.createUser("victim@example.com", PASSWORD);
          const other = await w.createUser("other@example.com", PASSWORD);
          const { token: valid, refresh_token } = await login(w, "victim@example.com");
          const [h, p, sig] = valid.split(".") as [string, string, string];
          const claims = decodeJwt(valid);
          const { kid } = decodeProtectedHeader(valid) as { kid: string };
          const warden = w.deps.keys.signer().privateKey;
          const publicKey = w.deps.keys.publicKey(kid)!;
          const pem = publicKey.export({ type: "spki", format: "pem" }).toString();
          const jwk = w.deps.keys.jwks().keys.find((k) => k.kid === kid)!;

          const secretEnc = w.deps.box.encrypt("totp", "JBSWY3DPEHPK3PXP");
          await turnOnTotp(w, other.id, secretEnc);
          const mfa = await postLogin(w, "other@example.com", PASSWORD);
          assert.equal(mfa.body.mfa_required, true);

          const attacks: Array<[string, string]> = [];
          for (const alg of ["none", "None", "NONE", "nOnE"]) {
            for (const header of [{ alg, typ: "JWT", kid }, { alg }]) {
              attacks.push([`alg ${alg} ${JSON.stringify(header)} unsigned`, `${b64(header)}.${p}.`]);
              attacks.push([
                `alg ${alg} ${JSON.stringify(header)} with the original signature`,
                `${b64(header)}.${p}.${sig}`,
              ]);
            }
          }
          attacks.push(
            ["signature stripped, dot kept", `${h}.${p}.`],
            ["signature stripped, two parts", `${h}.${p}`],
            ["signature truncated by 4", `${h}.${p}.${sig.slice(0, -4)}`],
            ["signature truncated to half", `${h}.${p}.${sig.slice(0, sig.length / 2)}`],
            ["signature of another token", `${h}.${p}.${(await login(w, "victim@example.com")).token.split(".")[2]}`],
            [
              "HS256 keyed with the public PEM",
              await sign(claims, { alg: "HS256", typ: "JWT", kid }, Buffer.from(pem)),
            ],
            [
              "HS256 keyed with the public PEM, no trailing newline",
              await sign(claims, { alg: "HS256", typ: "JWT", kid }, Buffer.from(pem.trimEnd())),
            ],
            [
              "HS256 keyed with the JWKS entry",
              await sign(claims, { alg: "HS256", typ: "JWT", kid }, Buffer.from(JSON.stringify(jwk))),
            ],
            [
              "HS256 keyed with the modulus",
              await sign(claims, { alg: "HS256", typ: "JWT", kid }, Buffer.from(jwk.n as string)),
            ],
            [
              "another RSA key under Warden's kid",
              await sign(claims, { alg: "RS256", typ: "JWT", kid }, attacker.privateKey),
            ],
            ["another RSA key without kid", await sign(claims, { alg: "RS256", typ: "JWT" }, attacker.privateKey)],
            [
              "embedded jwk, no kid",
              await sign(
                claims,
                { alg: "RS256", typ: "JWT", jwk: await exportJWK(attacker.publicKey) },
                attacker.privateKey,
              ),
            ],
            [
              "embedded jwk under Warden's kid",
              await sign(
                claims,
                { alg: "RS256", typ: "JWT", kid, jwk: await exportJWK(attacker.publicKey) },
                attacker.privateKey,
              ),
            ],
            [
              "jku at a key server",
              await sign(claims, { alg: "RS256", typ: "JWT", kid: "attacker", jku: keyUrl }, attacker.privateKey),
            ],
            [
              "jku with Warden's kid",
              await sign(claims, { alg: "RS256", typ: "JWT", kid, jku: keyUrl }, attacker.privateKey),
            ],
            [
              "x5u at a key server",
              await sign(claims, { alg: "RS256", typ: "JWT", kid: "attacker", x5u: keyUrl }, attacker.privateKey),
            ],
            ["claims tampered: sub of another user", `${h}.${b64({ ...claims, sub: other.id })}.${sig}`],
            [
              "claims tampered: ROLE_ADMIN added",
              `${h}.${b64({ ...claims, roles: ["ROLE_USER", "ROLE_ADMIN"] })}.${sig}`,
            ],
            [
              "claims tampered: exp pushed out",
              `${h}.${b64({ ...claims, exp: (claims.exp as number) + 86400 })}.${sig}`,
            ],
            [
              "kid path traversal, Warden's own key",
              await sign(claims, { alg: "RS256", typ: "JWT", kid: "../../etc/passwd" }, warden),
            ],
            [
              "kid SQL injection, Warden's own key",
              await sign(claims, { alg: "RS256", typ: "JWT", kid: "' OR 1=1--" }, warden),
            ],
            ["kid not a string", await sign(claims, { alg: "RS256", typ: "JWT", kid: { $ne: null } }, warden)],
            [
              "100 KB header, Warden's own key",
              await sign(claims, { alg: "RS256", typ: "JWT", kid, pad: "A".repeat(100 * 1024) }, warden),
            ],
            ["RS512 with Warden's own key", await sign(claims, { alg: "RS512", typ: "JWT", kid }, warden)],
            ["PS256 with Warden's own key", await sign(claims, { alg: "PS256", typ: "JWT", kid }, warden)],
            ["ES256 under Warden's kid", await sign(claims, { alg: "ES256", typ: "JWT", kid }, attackerEc.privateKey)],
            ["wrong typ, Warden's own key", await sign(claims, { alg: "RS256", typ: "at+jwt", kid }, warden)],
            [
              "wrong iss, Warden's own key",
              await sign({ ...claims, iss: "https://evil.example" }, { alg: "RS256", typ: "JWT", kid }, warden),
            ],
            [
              "unknown crit extension, Warden's own key",
              signRs256({ alg: "RS256", typ: "JWT", kid, crit: ["x-evil"], "x-evil": 1 }, claims, warden),
            ],
            ["a refresh token", refresh_token],
            ["an MFA challenge token", mfa.body.mfa_token],
            ["empty", ""],
            ["garbage", "a.b.c"],
          );

          // Everything after the signature check reads the session and the user; count those reads.
          let reads = 0;
          const { findSession, findSessionWithUser } = w.deps.sessions;
          const { findById } = w.deps.users;
          w.deps.sessions.findSession = async (id) => (reads++, findSession(id));
          w.deps.sessions.findSessionWithUser = async (id) => (reads++, findSessionWithUser(id));
          w.deps.users.findById = async (id) => (reads++, findById(id));
          t.after(() => {
            w.deps.sessions.findSession = findSession;
            w.deps.sessions.findSessionWithUser = findSessionWithUser;
            w.deps.users.findById = findById;
          });

          const control = await getMe(w, valid);
          assert.equal(control.status, 200, "the genuine token works (so the spy and the route are live)");
          assert.equal(control.body.id, user.id);
          assert.ok(reads > 0);
          reads = 0;

          for (const [name, token] of attacks) {
            const response = await getMe(w, token);
            assert.equal(response.status, 401, `${name}: ${response.raw}`);
            assert.ok(
              ["Invalid JWT Token", "JWT Token not found"].includes(response.body.message),
              `${name}: ${response.raw}`,
            );
            assert.match(String(response.headers["www-authenticate"]), /^Bearer/, name);
            assert.equal(reads, 0, `${name}: reached the session/user lookup`);
          }
          assert.equal(fetched, 0, "the jku/x5u server was never contacted");

          for (const authorization of [undefined, "", "Basic dXNlcjpwYXNz", `Bearer`, `Token ${valid}`]) {
            const headers: Record<string, string> = authorization === undefined ? {} : { authorization };
            const response = await w.app.inject({ method: "GET", url: "/api/v1/me", headers });
            assert.equal(response.body, '{"code":401,"message":"JWT Token not found"}', String(authorization));
            assert.equal(reads, 0);
          }
        });
      } finally {
        keyServer.close();
      }
    },
  );

  test(
    `${engine.name}: a token already accepted vouches for nothing else: an edited copy and the same token after its key's revocation get 401`,
    { skip },
    async () => {
      await onShared(async (w) => {
        await w.createUser("seen@example.com", PASSWORD);
        const { token } = await login(w, "seen@example.com");
        assert.equal((await getMe(w, token)).status, 200);
        const [header, payload, signature] = token.split(".") as [string, string, string];
        const claims = decodeJwt(token);
        const edited = `${header}.${b64({ ...claims, roles: ["ROLE_USER", "ROLE_ADMIN"] })}.${signature}`;
        assert.equal((await getMe(w, edited)).body.message, "Invalid JWT Token");
        const shorter = `${header}.${payload}.${signature.slice(0, -2)}`;
        assert.equal((await getMe(w, shorter)).body.message, "Invalid JWT Token");
        assert.equal((await getMe(w, token)).status, 200, "the token itself still works");
        await w.deps.keys.revoke(decodeProtectedHeader(token).kid!);
        assert.equal((await getMe(w, token)).body.message, "Invalid JWT Token");
      });
    },
  );

  test(`${engine.name}: an expired access token gets 401 Expired JWT Token`, { skip }, async () => {
    await onShared(async (w) => {
      await w.createUser("late@example.com", PASSWORD);
      const { token } = await login(w, "late@example.com");
      w.clock.advance(3599);
      assert.equal((await getMe(w, token)).status, 200);
      w.clock.advance(1);
      const expired = await withBearer(w, token, { method: "GET", url: "/api/v1/me" });
      assert.equal(expired.raw, '{"code":401,"message":"Expired JWT Token"}');
      assert.match(String(expired.headers["www-authenticate"]), /^Bearer/);
    });
  });
}
