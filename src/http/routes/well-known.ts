import type { FastifyInstance } from "fastify";
import type { DomainDeps } from "../../domain/context.js";

const jwk = {
  type: "object",
  properties: {
    kty: { type: "string" },
    n: { type: "string" },
    e: { type: "string" },
    kid: { type: "string" },
    alg: { type: "string" },
    use: { type: "string" },
  },
  required: ["kty", "n", "e", "kid", "alg", "use"],
} as const;

export function wellKnownRoutes(app: FastifyInstance, deps: DomainDeps): void {
  // The keys live on Warden itself, not on the app that mail links point at.
  const base = deps.config.PUBLIC_URL;

  app.get(
    "/.well-known/jwks.json",
    {
      schema: {
        operationId: "getJwks",
        security: [],
        summary: "Public keys that verify Warden's access tokens",
        tags: ["discovery"],
        // The schema lists only public members, so a private one could never be serialised.
        response: { 200: { type: "object", properties: { keys: { type: "array", items: jwk } }, required: ["keys"] } },
      },
    },
    async (_request, reply) => {
      // Short cache: a rotation reaches resource servers within a minute.
      reply.header("cache-control", "public, max-age=60");
      return deps.keys.jwks();
    },
  );

  app.get(
    "/.well-known/openid-configuration",
    {
      schema: {
        operationId: "getOpenidConfiguration",
        security: [],
        summary: "Discovery document: issuer and where the keys are",
        tags: ["discovery"],
      },
    },
    async () => ({
      issuer: deps.config.issuer,
      jwks_uri: `${base}/.well-known/jwks.json`,
      id_token_signing_alg_values_supported: ["RS256"],
      response_types_supported: ["token"],
      subject_types_supported: ["public"],
      claims_supported: ["sub", "iss", "iat", "exp", "jti", "sid", "username", "roles"],
    }),
  );
}
