import type { FastifyInstance } from "fastify";
import { introspectApiKey } from "../../domain/api-keys/authentication.js";
import type { ApiKeyDeps } from "../../domain/api-keys/context.js";
import { AuthError } from "../../domain/errors.js";
import type { Metrics } from "../../metrics.js";
import { bearerMatchesSecret } from "../authenticate.js";
import { errorResponses } from "../schemas.js";

const answer = {
  type: "object",
  description:
    "RFC 7662. Inactive keys (unknown, malformed, revoked, expired, or of a deactivated user) are just {active: false}.",
  properties: {
    active: { type: "boolean" },
    token_type: { type: "string", const: "api_key" },
    sub: { type: "string", description: "The user id" },
    username: { type: "string", description: "The user's email" },
    scope: { type: "string", description: "Space-separated scopes" },
    iat: { type: "integer" },
    exp: { type: "integer", description: "Absent when the key never expires" },
    client_id: { type: "string", description: "The key's id" },
  },
  required: ["active"],
} as const;

/**
 * POST /api/auth/introspect, for resource servers that receive API keys. Off (404) while
 * INTROSPECTION_SECRET is unset. Takes JSON (the contract) or a form body (RFC 7662's own encoding).
 */
export async function introspectionRoutes(
  app: FastifyInstance,
  deps: ApiKeyDeps & { config: { INTROSPECTION_SECRET?: string }; metrics: Metrics },
): Promise<void> {
  await app.register(async (scope) => {
    scope.addContentTypeParser("application/x-www-form-urlencoded", { parseAs: "string" }, (_request, body, done) =>
      done(null, Object.fromEntries(new URLSearchParams(body as string))),
    );
    scope.post<{ Body: { token: string } }>(
      "/api/auth/introspect",
      {
        schema: {
          operationId: "introspectToken",
          summary: "Is this API key live, whose is it, and what may it do? (RFC 7662)",
          description:
            "Authenticated with `Authorization: Bearer <INTROSPECTION_SECRET>`. Cache an answer for a few seconds at most: a revoked key is reported inactive at once.",
          tags: ["api-keys"],
          security: [{ introspection: [] }],
          body: {
            type: "object",
            properties: {
              token: { type: "string", maxLength: 512 },
              token_type_hint: { type: "string", maxLength: 64 },
            },
            required: ["token"],
            examples: [{ token: "af_0123456789abcdef0123456789abcdef0123456789abcdef01234567d2b1c0a9" }],
          },
          response: { 200: answer, ...errorResponses(400, 401, 404) },
        },
      },
      async (request, reply) => {
        const secret = deps.config.INTROSPECTION_SECRET;
        if (!secret) return reply.code(404).send({ code: 404, message: "Not found." });
        if (!bearerMatchesSecret(request.headers.authorization, secret)) {
          deps.metrics.introspections.inc({ outcome: "unauthorized" });
          reply.header("www-authenticate", 'Bearer realm="introspection"');
          throw new AuthError("INTROSPECTION_UNAUTHORIZED");
        }
        const result = await introspectApiKey(deps, request.body.token);
        deps.metrics.introspections.inc({ outcome: result.active ? "active" : "inactive" });
        return result;
      },
    );
  });
}
