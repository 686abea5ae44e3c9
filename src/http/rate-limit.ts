import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Config, RateRule } from "../config.js";
import { AuthError } from "../domain/errors.js";
import { clientKey } from "../domain/lib/network.js";
import type { RateDecision, SlidingWindowLimiter } from "../domain/security/rate-limits.js";

/** Per-IP limits by name; a route opts in with `config: { rateLimit: "login" }`. */
export type RateLimitName = "login" | "mfa" | "refresh" | "register" | "password-reset" | "reauth" | "oauth_login";

declare module "fastify" {
  interface FastifyContextConfig {
    rateLimit?: RateLimitName;
    /** Count the request only when the parsed body says so (PATCH /me: only a password change hashes). */
    rateLimitWhen?: (body: unknown) => boolean;
    /** Error bodies also carry `error` (= message), for clients of Storno's MFA endpoints. */
    errorField?: boolean;
  }
}

export function ruleFor(config: Config, name: RateLimitName): RateRule {
  switch (name) {
    case "login":
      return config.LOGIN_RATE_LIMIT;
    case "mfa":
      return config.MFA_RATE_LIMIT;
    case "refresh":
      return config.REFRESH_RATE_LIMIT;
    case "register":
      return config.REGISTER_RATE_LIMIT;
    case "password-reset":
      return config.PASSWORD_RESET_RATE_LIMIT;
    case "reauth":
      return config.REAUTH_RATE_LIMIT;
    // One bucket for passkey login and its options (and Google/Apple sign-in): sign-ins without a password.
    case "oauth_login":
      return config.OAUTH_LOGIN_RATE_LIMIT;
  }
}

/** The key a client is counted under: its IPv4 address or its IPv6 /64 (domain/lib/network.ts). */
export { clientKey };

function setHeaders(reply: FastifyReply, decision: RateDecision): void {
  reply.header("ratelimit-limit", String(decision.limit));
  reply.header("ratelimit-remaining", String(decision.remaining));
  reply.header("ratelimit-reset", String(decision.resetSeconds));
  reply.header("ratelimit-policy", `${decision.limit};w=${decision.windowSeconds}`);
}

/** Counts every request to a limited route before its body is even parsed, so before any hashing. */
export function installRateLimits(app: FastifyInstance, limiter: SlidingWindowLimiter, config: Config): void {
  const count = async (request: FastifyRequest, reply: FastifyReply, name: RateLimitName) => {
    const decision = await limiter.hit(`ip-${name}`, ruleFor(config, name), clientKey(request.ip));
    setHeaders(reply, decision);
    if (!decision.allowed) throw new AuthError("RATE_LIMITED", { retryAfterSeconds: decision.retryAfterSeconds });
  };
  app.addHook("onRequest", async (request: FastifyRequest, reply: FastifyReply) => {
    const config = request.routeOptions.config;
    if (config?.rateLimit && !config.rateLimitWhen) await count(request, reply, config.rateLimit);
  });
  // A conditional limit needs the body: still before validation and before any hashing.
  app.addHook("preValidation", async (request: FastifyRequest, reply: FastifyReply) => {
    const config = request.routeOptions.config;
    if (config?.rateLimit && config.rateLimitWhen?.(request.body)) await count(request, reply, config.rateLimit);
  });
}
