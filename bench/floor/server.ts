/**
 * The floor for an authenticated JSON read: a minimal Fastify process that verifies the same
 * RS256 access token as Warden's GET /api/v1/me (jose, the same public key, issuer and algorithm)
 * and answers the token's subject. No database, no session check, no rate limit: what the machine
 * allows for "verify a JWT and answer JSON", measured beside Warden in the same run.
 */
import Fastify from "fastify";
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from "jose";

const jwks = createLocalJWKSet(JSON.parse(process.env.FLOOR_JWKS!) as JSONWebKeySet);
const issuer = process.env.FLOOR_ISSUER!;
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

await app.listen({ port: Number(process.env.PORT), host: "127.0.0.1" });
