import crypto from "node:crypto";
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from "fastify";
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import type { Deps } from "./deps.js";
import { requireBearer } from "./http/authenticate.js";
import { installDevices } from "./http/devices.js";
import { deferredSchemaCompilers } from "./http/deferred-schemas.js";
import { answerFrameworkError, installErrorHandling } from "./http/errors.js";
import { openapiOptions } from "./http/openapi.js";
import { installInputRules } from "./http/input.js";
import { installOverloadShedding, refuseAfterSecretRotation } from "./http/overload.js";
import { installRateLimits } from "./http/rate-limit.js";
import { installCors } from "./http/plugins/cors.js";
import { installRefreshCookie } from "./http/plugins/refresh-cookie.js";
import { installPages } from "./http/pages/index.js";
import { accountRoutes } from "./http/routes/accounts.js";
import { authRoutes } from "./http/routes/auth.js";
import { healthRoutes } from "./http/routes/health.js";
import { meRoutes } from "./http/routes/me.js";
import { mfaRoutes, mfaVerifyRoutes } from "./http/routes/mfa.js";
import { tokenRoutes } from "./http/routes/tokens.js";
import { passkeyAuthRoutes, passkeyRoutes } from "./http/routes/passkeys.js";
import { stepUpRoutes } from "./http/routes/step-up.js";
import { wellKnownRoutes } from "./http/routes/well-known.js";
import { federationRoutes, identityRoutes } from "./http/routes/federation.js";
import { emailOtpRoutes, stepUpEmailOtpRoutes } from "./http/routes/email-otp.js";
import { installApiKeyAuthentication } from "./http/plugins/api-key.js";
import { installMetrics, metricsRoute } from "./http/plugins/metrics.js";
import { apiTokenRoutes } from "./http/routes/api-tokens.js";
import { introspectionRoutes } from "./http/routes/introspection.js";
import { adminRoutes } from "./http/admin/routes.js";

/** Largest request body accepted; anything bigger is refused with 400 before it is parsed. */
export const BODY_LIMIT_BYTES = 16 * 1024;

/** Builds the HTTP app around ready dependencies. No I/O here: tests call it and use inject(). */
export async function buildApp(deps: Deps): Promise<FastifyInstance> {
  const schemas = deferredSchemaCompilers();
  const app: FastifyInstance = Fastify({
    loggerInstance: deps.log as FastifyBaseLogger,
    bodyLimit: BODY_LIMIT_BYTES,
    // proxy-addr semantics: true, a hop count, or the addresses/CIDRs allowed to set X-Forwarded-For.
    trustProxy: deps.config.TRUST_PROXY as boolean | string[],
    genReqId: () => crypto.randomUUID(),
    // A client that sends its request slowly (slowloris) is cut with 408 after REQUEST_TIMEOUT;
    // a connection idle for twice that is closed. Node checks for overdue requests every second.
    requestTimeout: deps.config.REQUEST_TIMEOUT * 1000,
    connectionTimeout: deps.config.REQUEST_TIMEOUT * 2000,
    http: {
      connectionsCheckingInterval: 1000,
      headersTimeout: Math.min(60_000, deps.config.REQUEST_TIMEOUT * 1000),
    },
    requestIdHeader: false,
    frameworkErrors: answerFrameworkError,
    // Types are checked, never coerced: {"password": 123} is a 400, not the string "123".
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: true } },
    // Each route's schemas compile on its first request, not here (see http/deferred-schemas.ts).
    schemaController: { compilersFactory: schemas.compilersFactory },
  });
  schemas.attachTo(app);

  // JSON only: Fastify would otherwise parse text/plain and answer a schema error instead of naming the content type.
  app.removeContentTypeParser("text/plain");

  await app.register(swagger, openapiOptions(deps.config.PUBLIC_URL));
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
  // First of the request hooks: an error in any later one is noted on the request's observation.
  installMetrics(app, deps.metrics);
  // First among the hooks that may answer: a 429 or 503 must still be readable by a listed origin.
  await installCors(app, deps.config.CORS_ORIGINS);
  // Parses cookies: hooks that may answer on a hosted page come after it (the error page has a form).
  await installRefreshCookie(app, deps.config);
  refuseAfterSecretRotation(app, deps.keys);
  installInputRules(app);
  installOverloadShedding(app, (priority) => deps.hasher.isSaturated(priority));
  installRateLimits(app, deps.limiter, deps.config);
  installDevices(app, deps.box, { days: deps.config.KNOWN_DEVICE_DAYS, secure: deps.config.DEVICE_COOKIE_SECURE });
  installApiKeyAuthentication(app, deps);

  authRoutes(app, deps);
  tokenRoutes(app, deps);
  mfaVerifyRoutes(app, deps);
  passkeyAuthRoutes(app, deps);
  federationRoutes(app, deps);
  emailOtpRoutes(app, deps);
  accountRoutes(app, deps);
  wellKnownRoutes(app, deps);
  healthRoutes(app, deps.database, deps.counters, deps.keys);
  await introspectionRoutes(app, deps);
  metricsRoute(app, deps.metrics, deps.config.METRICS_TOKEN);
  await app.register(
    async (v1) => {
      requireBearer(v1, deps);
      meRoutes(v1, deps);
      mfaRoutes(v1, deps);
      passkeyRoutes(v1, deps);
      stepUpRoutes(v1, deps);
      identityRoutes(v1, deps);
      stepUpEmailOtpRoutes(v1, deps);
      apiTokenRoutes(v1, deps);
    },
    { prefix: "/api/v1" },
  );
  await adminRoutes(app, deps);
  await installPages(app, deps);
  app.get("/openapi.json", { schema: { hide: true } }, async () => app.swagger());

  await app.ready();
  return app;
}
