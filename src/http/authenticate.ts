import crypto from "node:crypto";
import type { FastifyInstance } from "fastify";
import { authenticate, type Authenticated } from "../domain/sessions/authentication.js";
import type { DomainDeps } from "../domain/context.js";

declare module "fastify" {
  interface FastifyRequest {
    /** Set for every route under /api/v1 before its handler runs. */
    auth: Authenticated;
  }
}

/** Every route registered in `scope` needs a valid Bearer token; the handler never sees a request without one. */
export function requireBearer(scope: FastifyInstance, deps: DomainDeps): void {
  scope.decorateRequest("auth", null as unknown as Authenticated);
  scope.addHook("onRequest", async (request) => {
    // An API key already authenticated this request (only routes that accept keys get this far with one).
    if (request.apiKey) return;
    request.auth = await authenticate(deps, request.headers.authorization);
  });
}

/**
 * `Authorization: Bearer <secret>` for a configured shared secret (INTROSPECTION_SECRET,
 * METRICS_TOKEN). Equal-length digests are compared, so neither the secret's content nor its
 * length shows in the timing.
 */
export function bearerMatchesSecret(authorization: string | undefined, secret: string): boolean {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "");
  if (!match) return false;
  const digest = (value: string) => crypto.createHash("sha256").update(value).digest();
  return crypto.timingSafeEqual(digest(match[1]!), digest(secret));
}
