import type { FastifyInstance } from "fastify";
import type { DomainDeps } from "../../domain/context.js";
import { refreshSession } from "../../domain/sessions/refresh-tokens.js";
import { logout } from "../../domain/sessions/sessions.js";
import { requestContext } from "../context.js";
import { presentTokens } from "../presenters.js";
import { errorResponses, tokenPair } from "../schemas.js";

/** Not required by the schema: a missing token gets the contract's own 400 sentence, not a generic one. */
const refreshTokenBody = {
  // No body at all is fine: a browser refreshing with the cookie sends none.
  type: ["object", "null"],
  properties: {
    refresh_token: {
      type: "string",
      maxLength: 1024,
      description: "The refresh token from login or the last refresh; without it, the refresh cookie is used",
    },
  },
} as const;

type RefreshBody = { Body: { refresh_token?: string } | undefined };

export const LOGOUT_MESSAGE = "Logged out successfully.";

export function tokenRoutes(app: FastifyInstance, deps: DomainDeps): void {
  for (const url of ["/api/auth/token/refresh", "/api/auth/refresh"]) {
    app.post<RefreshBody>(
      url,
      {
        config: { rateLimit: "refresh" },
        schema: {
          operationId: "refreshToken",
          security: [],
          summary: "Exchange a refresh token for a new access and refresh token",
          description:
            "The refresh token is single use. Repeating it within REFRESH_REUSE_GRACE seconds returns the same successor; " +
            "repeating it later revokes the whole session.",
          tags: ["auth"],
          hide: url === "/api/auth/refresh",
          body: refreshTokenBody,
          response: { 200: tokenPair, ...errorResponses(400, 401, 403, 429) },
        },
      },
      async (request) =>
        presentTokens(
          await refreshSession(
            deps,
            app.refreshCookie.tokenFor(request, request.body?.refresh_token),
            requestContext(request),
          ),
        ),
    );
  }

  app.post<RefreshBody>(
    "/api/auth/logout",
    {
      config: { rateLimit: "refresh" },
      schema: {
        operationId: "logout",
        security: [],
        summary: "Log out: revoke the session the refresh token belongs to",
        tags: ["auth"],
        body: refreshTokenBody,
        response: {
          200: { type: "object", properties: { message: { type: "string" } }, required: ["message"] },
          ...errorResponses(400, 401, 429),
        },
      },
    },
    async (request, reply) => {
      const refreshToken = app.refreshCookie.tokenFor(request, request.body?.refresh_token);
      // Once the origin passed, cleared whatever happens next: a cookie whose session is gone is of no use.
      app.refreshCookie.clear(reply);
      await logout(deps, refreshToken, requestContext(request));
      return { message: LOGOUT_MESSAGE };
    },
  );
}
