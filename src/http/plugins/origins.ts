import type { FastifyRequest } from "fastify";
import type { Config } from "../../config.js";
import { HttpProblem } from "../errors.js";

export const INVALID_ORIGIN = "Invalid origin.";

/** The origins a browser may act from: Warden's own pages (PUBLIC_URL) and CORS_ORIGINS. */
export function allowedOrigins(config: Pick<Config, "PUBLIC_URL" | "CORS_ORIGINS">): ReadonlySet<string> {
  return new Set([new URL(config.PUBLIC_URL).origin, ...config.CORS_ORIGINS]);
}

/** The origin a browser says the request comes from: `Origin`, or without it the `Referer`'s origin. */
export function claimedOrigin(request: FastifyRequest): string | null {
  const origin = request.headers.origin;
  if (typeof origin === "string" && origin !== "") return origin;
  const referer = request.headers.referer;
  if (typeof referer !== "string" || referer === "") return null;
  try {
    return new URL(referer).origin;
  } catch {
    return null;
  }
}

/**
 * CSRF defence for a state change that a cookie authenticates: the browser attaches cookies to
 * cross-site posts (SameSite=None, or Lax top-level form posts in old browsers), but it always
 * names the page that sent them. No name, an opaque `null`, or a foreign one: 403.
 */
export function assertAllowedOrigin(request: FastifyRequest, allowed: ReadonlySet<string>): void {
  const origin = claimedOrigin(request);
  if (origin === null || !allowed.has(origin)) throw new HttpProblem(403, INVALID_ORIGIN);
}
