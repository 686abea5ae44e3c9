import cookie from "@fastify/cookie";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Config } from "../../config.js";
import { allowedOrigins, assertAllowedOrigin } from "./origins.js";

/** The refresh cookie goes only to the token endpoints, never to pages or the Bearer API. */
export const REFRESH_COOKIE_PATH = "/api/auth";

type CookieConfig = Pick<
  Config,
  "PUBLIC_URL" | "CORS_ORIGINS" | "REFRESH_COOKIE_NAME" | "REFRESH_COOKIE_SAMESITE" | "REFRESH_TOKEN_TTL"
>;

/**
 * `Secure` everywhere but a plain-http Warden on the developer's own machine, where browsers
 * would otherwise drop the cookie. (SameSite=None is always Secure: browsers refuse it without.)
 */
export function isSecureCookieUrl(config: Pick<Config, "PUBLIC_URL" | "REFRESH_COOKIE_SAMESITE">): boolean {
  const url = new URL(config.PUBLIC_URL);
  const localPlainHttp = url.protocol === "http:" && (url.hostname === "localhost" || url.hostname === "127.0.0.1");
  return !localPlainHttp || config.REFRESH_COOKIE_SAMESITE === "None";
}

export interface RefreshCookie {
  readonly name: string;
  /** The body's refresh token if it has one; else the cookie's, which only an allowed Origin may use (403). */
  tokenFor(request: FastifyRequest, bodyToken: string | undefined): string | undefined;
  set(reply: FastifyReply, refreshToken: string): void;
  clear(reply: FastifyReply): void;
}

declare module "fastify" {
  interface FastifyInstance {
    refreshCookie: RefreshCookie;
  }
}

const isUnder = (url: string | undefined, path: string): boolean =>
  url !== undefined && (url === path || url.startsWith(`${path}/`));

function isTokenPair(payload: unknown): payload is { refresh_token: string } {
  return (
    typeof payload === "object" &&
    payload !== null &&
    typeof (payload as { refresh_token?: unknown }).refresh_token === "string"
  );
}

/**
 * The refresh token as an HttpOnly cookie, so a browser app never holds a 30-day token where
 * a script could read it. Every /api/auth response that carries a refresh token sets the
 * cookie here, in one place: login, MFA verify, refresh, register with auto-login, and any
 * later way to sign in (passkeys, Google, Apple) get it without a line of their own.
 */
export async function installRefreshCookie(app: FastifyInstance, config: CookieConfig): Promise<void> {
  await app.register(cookie);
  const allowed = allowedOrigins(config);
  const options = {
    path: REFRESH_COOKIE_PATH,
    httpOnly: true,
    secure: isSecureCookieUrl(config),
    sameSite: config.REFRESH_COOKIE_SAMESITE.toLowerCase() as "lax" | "strict" | "none",
  };
  const refreshCookie: RefreshCookie = {
    name: config.REFRESH_COOKIE_NAME,
    tokenFor(request, bodyToken) {
      if (bodyToken) return bodyToken;
      const fromCookie = request.cookies[config.REFRESH_COOKIE_NAME];
      if (!fromCookie) return undefined;
      assertAllowedOrigin(request, allowed);
      return fromCookie;
    },
    set(reply, refreshToken) {
      // Lives as long as the token itself: the browser keeps it across restarts.
      reply.setCookie(config.REFRESH_COOKIE_NAME, refreshToken, { ...options, maxAge: config.REFRESH_TOKEN_TTL });
    },
    clear(reply) {
      reply.clearCookie(config.REFRESH_COOKIE_NAME, options);
    },
  };
  app.decorate("refreshCookie", refreshCookie);

  app.addHook("preSerialization", async (request, reply, payload) => {
    if (
      reply.statusCode < 300 &&
      isUnder(request.routeOptions.url, REFRESH_COOKIE_PATH) &&
      isTokenPair(payload) &&
      payload.refresh_token !== ""
    ) {
      refreshCookie.set(reply, payload.refresh_token);
    }
    return payload;
  });
}
