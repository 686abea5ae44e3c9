import type { FastifyInstance } from "fastify";
import type { DomainDeps } from "../../domain/context.js";
import { login } from "../../domain/sessions/login.js";
import { requestContext } from "../context.js";
import { presentLogin } from "../presenters.js";
import { errorResponses, loginBody, mfaChallenge, tokenPair } from "../schemas.js";

export function authRoutes(app: FastifyInstance, deps: DomainDeps): void {
  app.post<{ Body: { email: string; password: string } }>(
    "/api/auth",
    {
      config: { rateLimit: "login", hashesPassword: true },
      schema: {
        operationId: "login",
        security: [],
        summary: "Log in with email and password",
        description:
          "Returns an access and a refresh token, or an MFA challenge when the user has two-factor authentication on.",
        tags: ["auth"],
        body: loginBody,
        response: { 200: { anyOf: [tokenPair, mfaChallenge] }, ...errorResponses(400, 401, 403, 429, 503) },
      },
    },
    async (request) => presentLogin(await login(deps, request.body, requestContext(request))),
  );
}
