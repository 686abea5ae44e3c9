import ipaddr from "ipaddr.js";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Config, RateRule } from "../config.js";
import { AuthError } from "../domain/errors.js";
import type { RateDecision, SlidingWindowLimiter } from "../domain/security/rate-limits.js";

/** Per-IP limits by name; a route opts in with `config: { rateLimit: "login" }`. */
export type RateLimitName = "login" | "mfa" | "refresh" | "register" | "password-reset" | "oauth_login";

declare module "fastify" {
  interface FastifyContextConfig {
    rateLimit?: RateLimitName;
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
    case "oauth_login":
      return config.OAUTH_LOGIN_RATE_LIMIT;
  }
}

/**
 * The key a client is counted under: its IPv4 address, or its IPv6 /64 (one subscriber usually
 * holds a whole /64, so counting single v6 addresses would let it rotate freely).
 */
export function clientKey(ip: string): string {
  if (!ipaddr.isValid(ip)) return ip;
  let addr = ipaddr.parse(ip);
  if (addr.kind() === "ipv6" && (addr as ipaddr.IPv6).isIPv4MappedAddress())
    addr = (addr as ipaddr.IPv6).toIPv4Address();
  if (addr.kind() === "ipv4") return addr.toString();
  const parts = (addr as ipaddr.IPv6).parts.slice(0, 4).map((p) => p.toString(16));
  return `${parts.join(":")}::/64`;
}

function setHeaders(reply: FastifyReply, decision: RateDecision): void {
  reply.header("ratelimit-limit", String(decision.limit));
  reply.header("ratelimit-remaining", String(decision.remaining));
  reply.header("ratelimit-reset", String(decision.resetSeconds));
  reply.header("ratelimit-policy", `${decision.limit};w=${decision.windowSeconds}`);
}

/** Counts every request to a limited route before its body is even parsed, so before any hashing. */
export function installRateLimits(app: FastifyInstance, limiter: SlidingWindowLimiter, config: Config): void {
  app.addHook("onRequest", async (request: FastifyRequest, reply: FastifyReply) => {
    const name = request.routeOptions.config?.rateLimit;
    if (!name) return;
    const decision = await limiter.hit(`ip-${name}`, ruleFor(config, name), clientKey(request.ip));
    setHeaders(reply, decision);
    if (!decision.allowed) throw new AuthError("RATE_LIMITED", { retryAfterSeconds: decision.retryAfterSeconds });
  });
}
