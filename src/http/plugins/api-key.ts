import type { FastifyInstance } from "fastify";
import { authenticateApiKey, type ApiKeyAuthenticated } from "../../domain/api-keys/authentication.js";
import type { ApiKeyDeps } from "../../domain/api-keys/context.js";
import { apiKeyInAuthorization } from "../../domain/api-keys/format.js";
import { AuthError } from "../../domain/errors.js";
import type { Metrics } from "../../metrics.js";

declare module "fastify" {
  interface FastifyContextConfig {
    /** The route answers to an API key (`Authorization: af_...` or `Bearer af_...`): GET /api/v1/me only. */
    acceptsApiKey?: boolean;
    /** API-key management: a key gets the contract's own refusal sentence here. */
    apiKeyManagement?: boolean;
  }
  interface FastifyRequest {
    /** Set when an API key authenticated the request (only on routes with `acceptsApiKey`). */
    apiKey: ApiKeyAuthenticated | null;
  }
}

const OUTCOMES: Partial<Record<string, string>> = {
  API_KEY_INVALID: "invalid",
  ACCOUNT_INACTIVE: "account_inactive",
  RATE_LIMITED: "rate_limited",
};

/**
 * A key only ever answers "who am I" on Warden: every other route refuses it with 403, so a
 * leaked key can never change a password, a factor, a session or another key. Scopes are for
 * resource servers, which read them through introspection. Register before the routes' own
 * Bearer hooks: those then see `request.apiKey` and step aside.
 */
export function installApiKeyAuthentication(app: FastifyInstance, deps: ApiKeyDeps & { metrics: Metrics }): void {
  app.decorateRequest("apiKey", null);
  app.addHook("onRequest", async (request) => {
    const token = apiKeyInAuthorization(request.headers.authorization);
    if (token === null || request.routeOptions.url === undefined) return;
    const config = request.routeOptions.config;
    if (!config?.acceptsApiKey) {
      deps.metrics.apiKeyAuthentications.inc({ outcome: "refused_endpoint" });
      throw new AuthError(config?.apiKeyManagement ? "API_KEY_MANAGEMENT_REFUSED" : "API_KEY_NOT_ACCEPTED");
    }
    try {
      request.apiKey = await authenticateApiKey(deps, token);
      deps.metrics.apiKeyAuthentications.inc({ outcome: "success" });
    } catch (error) {
      const outcome = error instanceof AuthError ? OUTCOMES[error.code] : undefined;
      deps.metrics.apiKeyAuthentications.inc({ outcome: outcome ?? "error" });
      throw error;
    }
  });
}
