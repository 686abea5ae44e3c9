import cors from "@fastify/cors";
import type { FastifyInstance } from "fastify";

/** How long a browser may cache a preflight answer. */
const PREFLIGHT_MAX_AGE_SECONDS = 600;

/**
 * CORS for CORS_ORIGINS only. A listed origin gets its own name back (never `*`) and
 * `Access-Control-Allow-Credentials: true`, so it can send the refresh cookie; any other origin
 * gets no CORS header at all and its preflight is a 404, so the browser refuses to let it read.
 * Register before the rate limits and shedding, so a 429 or 503 is readable by the page too.
 */
export async function installCors(app: FastifyInstance, corsOrigins: readonly string[]): Promise<void> {
  const listed = new Set(corsOrigins);
  await app.register(cors, {
    origin: (origin, callback) => callback(null, origin !== undefined && listed.has(origin) ? origin : false),
    credentials: true,
    methods: ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"],
    allowedHeaders: ["Authorization", "Content-Type", "X-Verification-Token"],
    exposedHeaders: [
      "Retry-After",
      "X-Request-Id",
      "WWW-Authenticate",
      "RateLimit-Limit",
      "RateLimit-Remaining",
      "RateLimit-Reset",
    ],
    maxAge: PREFLIGHT_MAX_AGE_SECONDS,
  });
}
