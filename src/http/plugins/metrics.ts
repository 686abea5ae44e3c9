import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { AuthError } from "../../domain/errors.js";
import { unavailableStore } from "../../storage/faults.js";
import { bearerMatchesSecret } from "../authenticate.js";
import { errorResponses } from "../schemas.js";
import type { Metrics, RequestObservation } from "../../metrics.js";

declare module "fastify" {
  interface FastifyRequest {
    observation: RequestObservation | null;
  }
}

type Classifier = (status: number, seen: RequestObservation) => string;

const hasEvent = (seen: RequestObservation, type: string) => seen.events.includes(type);

/** An error's code in lower case (`invalid_credentials`, `rate_limited`, `overloaded` -> `shed`), or `status_<n>`. */
function failure(status: number, seen: RequestObservation): string {
  if (seen.errorCode === "OVERLOADED") return "shed";
  return seen.errorCode ? seen.errorCode.toLowerCase() : `status_${status}`;
}

const login: Classifier = (status, seen) =>
  status === 200 ? (hasEvent(seen, "mfa_challenge_issued") ? "mfa_required" : "success") : failure(status, seen);

const refresh: Classifier = (status, seen) => {
  if (hasEvent(seen, "refresh_token_reuse_detected")) return "reuse_detected";
  if (status === 200) return hasEvent(seen, "refresh_token_grace_replay") ? "grace_replay" : "rotated";
  return failure(status, seen);
};

const mfa: Classifier = (status, seen) => (status === 200 ? "success" : failure(status, seen));

type Counted =
  | { counter: "logins"; method: "password" | "passkey" | "google" | "apple"; classify: Classifier }
  | { counter: "refreshes" | "mfaVerifications"; classify: Classifier };

/** Route patterns whose outcomes are counted apart: every way to log in, refresh and answer MFA. */
const OUTCOME_ROUTES: Record<string, Counted> = {
  "POST /api/auth": { counter: "logins", method: "password", classify: login },
  "POST /api/auth/passkey/login": { counter: "logins", method: "passkey", classify: login },
  "POST /api/auth/google": { counter: "logins", method: "google", classify: login },
  "POST /api/auth/apple": { counter: "logins", method: "apple", classify: login },
  "POST /api/auth/token/refresh": { counter: "refreshes", classify: refresh },
  "POST /api/auth/refresh": { counter: "refreshes", classify: refresh },
  "POST /api/auth/mfa/verify": { counter: "mfaVerifications", classify: mfa },
  "POST /api/v1/mfa/verify": { counter: "mfaVerifications", classify: mfa },
};

/**
 * Every request is counted and timed by its route pattern (never the raw URL: ids would explode
 * the series). The domain notes the security events it records for the request on its context
 * (`requestContext` in http/context.ts), so a reuse detection, say, labels the outcome. Register
 * first: the observation must exist before any later hook can fail the request.
 */
export function installMetrics(app: FastifyInstance, metrics: Metrics): void {
  app.decorateRequest("observation", null);
  app.addHook("onRequest", (request, _reply, done) => {
    request.observation = { events: [] };
    done();
  });
  app.addHook("onError", async (request, _reply, error) => {
    const store = unavailableStore(error);
    // A store outage answered 503 (http/errors.ts); the Redis counters' own failures are counted where they fall back.
    if (store === "database") metrics.databaseErrors.inc();
    else if (store === "redis") metrics.redisErrors.inc();
    if (!(error instanceof AuthError) || !request.observation) return;
    request.observation.errorCode = error.code;
    const route = request.routeOptions.url ?? "unmatched";
    if (error.code === "OVERLOADED") metrics.shed.inc({ route });
    if (error.code === "RATE_LIMITED") metrics.rateLimited.inc({ route });
  });
  app.addHook("onResponse", async (request: FastifyRequest, reply: FastifyReply) => {
    const route = request.routeOptions.url ?? "unmatched";
    const status = reply.statusCode;
    metrics.httpRequests.inc({ method: request.method, route, status: String(status) });
    metrics.httpDuration.observe({ method: request.method, route }, reply.elapsedTime / 1000);
    const counted = OUTCOME_ROUTES[`${request.method} ${route}`];
    if (!counted || !request.observation) return;
    const outcome = counted.classify(status, request.observation);
    if (counted.counter === "logins") metrics.logins.inc({ method: counted.method, outcome });
    else metrics[counted.counter].inc({ outcome });
  });
}

/** GET /metrics: Prometheus text. Behind `Authorization: Bearer <METRICS_TOKEN>` when that is set. */
export function metricsRoute(app: FastifyInstance, metrics: Metrics, token: string | undefined): void {
  app.get(
    "/metrics",
    {
      schema: {
        operationId: "metrics",
        summary: "Prometheus metrics of the whole process group",
        description: "Open unless METRICS_TOKEN is set; then `Authorization: Bearer <METRICS_TOKEN>`.",
        tags: ["operations"],
        // Optional: the token is asked for only when METRICS_TOKEN is set.
        security: [{}, { metrics: [] }],
        response: {
          200: { type: "string", description: "Prometheus text exposition format 0.0.4" },
          ...errorResponses(401),
        },
      },
    },
    async (request, reply) => {
      if (token) {
        if (!bearerMatchesSecret(request.headers.authorization, token)) {
          reply.header("www-authenticate", 'Bearer realm="metrics"');
          throw new AuthError("METRICS_TOKEN_INVALID");
        }
      }
      const text = await metrics.text();
      return reply.header("content-type", metrics.contentType).header("cache-control", "no-store").send(text);
    },
  );
}
