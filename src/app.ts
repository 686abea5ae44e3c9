import crypto from "node:crypto";
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from "fastify";
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import type { Deps } from "./deps.js";
import { requireBearer } from "./http/authenticate.js";
import { installErrorHandling } from "./http/errors.js";
import { openapiOptions } from "./http/openapi.js";
import { installInputRules } from "./http/input.js";
import { installOverloadShedding } from "./http/overload.js";
import { installRateLimits } from "./http/rate-limit.js";
import { accountRoutes } from "./http/routes/accounts.js";
import { authRoutes } from "./http/routes/auth.js";
import { healthRoutes } from "./http/routes/health.js";
import { meRoutes } from "./http/routes/me.js";
import { mfaRoutes, mfaVerifyRoutes } from "./http/routes/mfa.js";
import { tokenRoutes } from "./http/routes/tokens.js";
import { wellKnownRoutes } from "./http/routes/well-known.js";
import { installApiKeyAuthentication } from "./http/plugins/api-key.js";
import { installMetrics, metricsRoute } from "./http/plugins/metrics.js";
import { apiTokenRoutes } from "./http/routes/api-tokens.js";
import { introspectionRoutes } from "./http/routes/introspection.js";
import { adminRoutes } from "./http/admin/routes.js";

/** Largest request body accepted; anything bigger is refused with 400 before it is parsed. */
export const BODY_LIMIT_BYTES = 16 * 1024;

/** Builds the HTTP app around ready dependencies. No I/O here: tests call it and use inject(). */
export async function buildApp(deps: Deps): Promise<FastifyInstance> {
  const app: FastifyInstance = Fastify({
    loggerInstance: deps.log as FastifyBaseLogger,
    bodyLimit: BODY_LIMIT_BYTES,
    // proxy-addr semantics: true, a hop count, or the addresses/CIDRs allowed to set X-Forwarded-For.
    trustProxy: deps.config.TRUST_PROXY as boolean | string[],
    genReqId: () => crypto.randomUUID(),
    requestIdHeader: false,
    // Types are checked, never coerced: {"password": 123} is a 400, not the string "123".
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: true } },
  });

  // JSON only: Fastify would otherwise parse text/plain and answer a schema error instead of naming the content type.
  app.removeContentTypeParser("text/plain");

  await app.register(swagger, openapiOptions(deps.config.APP_URL));
  // The rendered document at /docs, from Swagger UI's files in node_modules: no CDN.
  await app.register(swaggerUi, {
    routePrefix: "/docs",
    staticCSP: true,
    // Nothing leaves the host: no online validator badge, no fonts or styles from elsewhere.
    transformStaticCSP: () =>
      "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'self'",
    uiConfig: { deepLinking: true, validatorUrl: null },
    logLevel: "warn",
  });

  app.addHook("onSend", async (request, reply) => {
    reply.header("x-request-id", request.id);
    // Responses carry tokens; no cache should keep them.
    if (!reply.hasHeader("cache-control")) reply.header("cache-control", "no-store");
  });

  installErrorHandling(app);
  // First of the request hooks: the ones after it run inside the request's observation.
  installMetrics(app, deps.metrics);
  installInputRules(app);
  installOverloadShedding(app, () => deps.hasher.isSaturated());
  installRateLimits(app, deps.limiter, deps.config);
  installApiKeyAuthentication(app, deps);

  authRoutes(app, deps);
  tokenRoutes(app, deps);
  mfaVerifyRoutes(app, deps);
  accountRoutes(app, deps);
  wellKnownRoutes(app, deps);
  healthRoutes(app, deps.database);
  await introspectionRoutes(app, deps);
  metricsRoute(app, deps.metrics, deps.config.METRICS_TOKEN);
  await app.register(
    async (v1) => {
      requireBearer(v1, deps);
      meRoutes(v1, deps);
      mfaRoutes(v1, deps);
      apiTokenRoutes(v1, deps);
    },
    { prefix: "/api/v1" },
  );
  await adminRoutes(app, deps);
  app.get("/openapi.json", { schema: { hide: true } }, async () => app.swagger());

  await app.ready();
  return app;
}
