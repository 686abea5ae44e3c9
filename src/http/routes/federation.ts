import type { FastifyInstance, FastifyRequest } from "fastify";
import type { DomainDeps } from "../../domain/context.js";
import { AuthError } from "../../domain/errors.js";
import { listIdentities, unlinkIdentity } from "../../domain/federation/linked-identities.js";
import { signInWithProvider } from "../../domain/federation/sign-in.js";
import { requestContext } from "../context.js";
import { presentLogin } from "../presenters.js";
import { errorResponses, mfaChallenge, tokenPair } from "../schemas.js";
import { verificationTokenOf } from "../step-up.js";

/** An ID token is a JWT of a few kilobytes at most. */
const idToken = { type: "string", maxLength: 8192 } as const;
const nonce = {
  type: "string",
  maxLength: 512,
  description: "The raw nonce the client generated for this sign-in",
} as const;
const name = { type: ["string", "null"], maxLength: 100 } as const;
const platformHeader = {
  type: "object",
  properties: {
    "x-platform": { type: "string", description: "`ios`: no account is created (403 registration_required)" },
  },
} as const;

const identity = {
  type: "object",
  properties: {
    id: { type: "string" },
    provider: { type: "string", enum: ["google", "apple"] },
    email: { type: ["string", "null"] },
    createdAt: { type: "string", format: "date-time" },
    lastUsedAt: { type: ["string", "null"], format: "date-time" },
  },
  required: ["id", "provider", "email", "createdAt", "lastUsedAt"],
} as const;

const platformOf = (request: FastifyRequest): string | undefined => {
  const value = request.headers["x-platform"];
  return typeof value === "string" ? value : undefined;
};

/** POST /api/auth/google and /api/auth/apple: sign-in with a provider's ID token. */
export function federationRoutes(app: FastifyInstance, deps: DomainDeps): void {
  app.post<{ Body: { credential?: string; idToken?: string; nonce?: string } }>(
    "/api/auth/google",
    {
      config: { rateLimit: "oauth_login" },
      schema: {
        operationId: "signInWithGoogle",
        summary: "Sign in with a Google ID token",
        description:
          "Verifies the ID token from Google Identity Services against Google's keys and GOOGLE_CLIENT_IDS, then finds, links or creates the account (docs/federation.md). Returns tokens or, when the user has a second factor, the MFA challenge of POST /api/auth.",
        tags: ["auth", "federation"],
        security: [],
        headers: platformHeader,
        body: {
          type: "object",
          properties: { credential: idToken, idToken, nonce },
          examples: [
            {
              credential: "eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ.eyJpc3MiOiJodHRwczovL2FjY291bnRzLmdvb2dsZS5jb20ifQ.c2ln",
            },
          ],
        },
        response: { 200: { anyOf: [tokenPair, mfaChallenge] }, ...errorResponses(400, 401, 403, 404, 409, 429) },
      },
    },
    async (request) => {
      const body = request.body ?? {};
      const token = body.credential || body.idToken;
      if (!token) throw new AuthError("GOOGLE_CREDENTIAL_MISSING");
      return presentLogin(
        await signInWithProvider(
          deps,
          "google",
          { token, nonce: body.nonce || undefined, platform: platformOf(request) },
          requestContext(request),
        ),
      );
    },
  );

  app.post<{
    Body: {
      identityToken?: string;
      nonce?: string;
      fullName?: { givenName?: string | null; familyName?: string | null };
      email?: string;
    };
  }>(
    "/api/auth/apple",
    {
      config: { rateLimit: "oauth_login" },
      schema: {
        operationId: "signInWithApple",
        summary: "Sign in with an Apple identity token",
        description:
          "Verifies the identity token against Apple's keys and APPLE_CLIENT_IDS; a `nonce` is checked as sha256(nonce) against the token. The email comes from the token only: an `email` in the body is ignored.",
        tags: ["auth", "federation"],
        security: [],
        headers: platformHeader,
        body: {
          type: "object",
          properties: {
            identityToken: idToken,
            nonce,
            fullName: {
              type: "object",
              properties: { givenName: name, familyName: name },
              description: "Sent by Apple to the app on the first sign-in only; names a new account",
            },
            email: { type: "string", maxLength: 320, description: "Ignored: the token's email is used" },
          },
          examples: [
            {
              identityToken: "eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ.eyJpc3MiOiJodHRwczovL2FwcGxlaWQuYXBwbGUuY29tIn0.c2ln",
              nonce: "5f0c2b1e9a7d4c3b",
              fullName: { givenName: "Ana", familyName: "Popescu" },
            },
          ],
        },
        response: { 200: { anyOf: [tokenPair, mfaChallenge] }, ...errorResponses(400, 401, 403, 404, 409, 429) },
      },
    },
    async (request) => {
      const body = request.body ?? {};
      if (!body.identityToken) throw new AuthError("APPLE_TOKEN_MISSING");
      return presentLogin(
        await signInWithProvider(
          deps,
          "apple",
          {
            token: body.identityToken,
            nonce: body.nonce || undefined,
            fullName: body.fullName,
            platform: platformOf(request),
          },
          requestContext(request),
        ),
      );
    },
  );
}

/** Registered inside the /api/v1 scope, after requireBearer. */
export function identityRoutes(v1: FastifyInstance, deps: DomainDeps): void {
  const security = [{ bearer: [] }];
  v1.get(
    "/me/identities",
    {
      schema: {
        operationId: "listIdentities",
        summary: "The Google and Apple accounts linked to the current user",
        tags: ["me", "federation"],
        security,
        response: {
          200: { type: "object", properties: { data: { type: "array", items: identity } }, required: ["data"] },
          ...errorResponses(401, 403),
        },
      },
    },
    async (request) => listIdentities(deps, request.auth.user.id),
  );

  v1.delete<{ Params: { id: string } }>(
    "/me/identities/:id",
    {
      schema: {
        operationId: "unlinkIdentity",
        summary: "Unlink a Google or Apple account",
        description:
          "A sensitive operation: needs a session authenticated within REAUTH_MAX_AGE or a step-up verification token (body `verification_token`/`verificationToken` or header X-Verification-Token). 409 when it is the user's only way to sign in (no password, passkey or other identity).",
        tags: ["me", "federation"],
        security,
        params: { type: "object", properties: { id: { type: "string", maxLength: 64 } }, required: ["id"] },
        response: { 204: { type: "null" }, ...errorResponses(401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      const verificationToken = verificationTokenOf(request);
      await unlinkIdentity(deps, request.auth, request.params.id, verificationToken, requestContext(request));
      return reply.code(204).send();
    },
  );
}
