import type { FastifyReply, FastifyRequest } from "fastify";
import type { Config } from "../../config.js";
import type { DomainDeps, TokenPair } from "../../domain/context.js";
import { AuthError } from "../../domain/errors.js";
import { authenticate, type Authenticated } from "../../domain/sessions/authentication.js";
import { isSecureCookieUrl } from "../plugins/refresh-cookie.js";

/**
 * How the hosted pages hold a session, without JavaScript:
 *  - the refresh cookie (Path=/api/auth), exactly as the API sets it, so a page sign-in also
 *    signs in a same-site app using the SDK;
 *  - this page cookie: the access token itself, HttpOnly, Path=/, for ACCESS_TOKEN_TTL. Pages
 *    check it like a Bearer token (signature, session not revoked, user active). The JSON API
 *    never reads it: /api/v1 takes only the Authorization header, so it opens no CSRF hole there.
 * When it has expired, a page sends the browser to GET /api/auth/resume, which the refresh
 * cookie reaches, to rotate the refresh token and come back with a fresh page cookie.
 */
export const PAGE_ACCESS_COOKIE = "warden_access";
/** The language chosen with the switcher, kept for a year. */
export const LANGUAGE_COOKIE = "warden_lang";

type SessionConfig = Pick<Config, "PUBLIC_URL" | "REFRESH_COOKIE_SAMESITE" | "ACCESS_TOKEN_TTL">;

export function pageCookieOptions(config: SessionConfig) {
  return { path: "/", httpOnly: true, sameSite: "lax" as const, secure: isSecureCookieUrl(config) };
}

/** After a sign-in on a page: both cookies. */
export function startPageSession(reply: FastifyReply, config: SessionConfig, tokens: TokenPair): void {
  reply.server.refreshCookie.set(reply, tokens.refreshToken);
  reply.setCookie(PAGE_ACCESS_COOKIE, tokens.accessToken, {
    ...pageCookieOptions(config),
    maxAge: config.ACCESS_TOKEN_TTL,
  });
}

export function endPageSession(reply: FastifyReply, config: SessionConfig): void {
  reply.server.refreshCookie.clear(reply);
  reply.clearCookie(PAGE_ACCESS_COOKIE, pageCookieOptions(config));
}

/** The signed-in user of a page request, or null (no cookie, expired, revoked, deactivated). */
export async function pageUser(deps: DomainDeps, request: FastifyRequest): Promise<Authenticated | null> {
  const token = request.cookies[PAGE_ACCESS_COOKIE];
  if (!token) return null;
  try {
    return await authenticate(deps, `Bearer ${token}`);
  } catch (error) {
    if (error instanceof AuthError) return null;
    throw error;
  }
}
