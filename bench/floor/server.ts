/**
 * The floors: a minimal Fastify process that does only what a request cannot do without, measured
 * beside Warden in the same run.
 *
 * - GET /api/v1/me: verify the same RS256 access token as Warden's (jose, the same public key,
 *   issuer and algorithm) and answer the token's subject. No database, no session check, no
 *   rate limit: what the machine allows for "verify a JWT and answer JSON".
 * - POST /api/auth: verify the password with argon2id (the library and parameters Warden uses,
 *   against one hash made at start), sign an access token with RS256 exactly as Warden does
 *   (`signRs256`, a 2048-bit key made at start) and answer it with a random refresh token. No
 *   database, no session, no limit, no security event: what the machine allows for "an HTTP
 *   login", the hash plus HTTP, JSON and the signature.
 *
 * libuv's pool has one thread per core, as `npm start` gives one Warden process (src/preload.cts).
 */
import crypto from "node:crypto";
import * as argon2 from "@node-rs/argon2";
import Fastify from "fastify";
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from "jose";
import { signRs256 } from "../../src/domain/sessions/access-tokens.js";
import { OWASP_ARGON2ID } from "../../src/hashing/passwords.js";

const jwks = createLocalJWKSet(JSON.parse(process.env.FLOOR_JWKS!) as JSONWebKeySet);
const issuer = process.env.FLOOR_ISSUER!;
const passwordHash = await argon2.hash(process.env.FLOOR_PASSWORD!, {
  algorithm: argon2.Algorithm.Argon2id,
  ...OWASP_ARGON2ID,
});
const { privateKey } = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
const ACCESS_TOKEN_SECONDS = 900;
const app = Fastify({ logger: false });

app.get("/healthz", async () => ({ status: "ok" }));
app.get("/api/v1/me", async (request, reply) => {
  const header = request.headers.authorization ?? "";
  if (!header.startsWith("Bearer ")) return reply.code(401).send({ code: 401, message: "JWT Token not found" });
  try {
    const { payload } = await jwtVerify(header.slice(7), jwks, { issuer, algorithms: ["RS256"] });
    return { id: payload.sub, email: payload.username };
  } catch {
    return reply.code(401).send({ code: 401, message: "Invalid JWT Token" });
  }
});
app.post("/api/auth", async (request, reply) => {
  const { email, password } = (request.body ?? {}) as { email?: unknown; password?: unknown };
  if (typeof email !== "string" || typeof password !== "string" || !(await argon2.verify(passwordHash, password)))
    return reply.code(401).send({ code: 401, message: "Invalid credentials." });
  const iat = Math.floor(Date.now() / 1000);
  const claims = { iat, exp: iat + ACCESS_TOKEN_SECONDS, roles: ["ROLE_USER"], username: email, iss: issuer };
  const token = await signRs256(
    { alg: "RS256", typ: "JWT", kid: "floor" },
    { ...claims, jti: crypto.randomUUID() },
    privateKey,
  );
  return { token, refresh_token: crypto.randomBytes(32).toString("base64url") };
});

await app.listen({ port: Number(process.env.PORT), host: "127.0.0.1" });
