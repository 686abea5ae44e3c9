import type { FastifyInstance } from "fastify";
import type { DomainDeps } from "../../domain/context.js";
import { loginWithPasskey, passkeyLoginOptions } from "../../domain/factors/passkeys/login.js";
import { deletePasskey, listPasskeys, renamePasskey } from "../../domain/factors/passkeys/management.js";
import { registerPasskey, registrationOptions, type PasskeyView } from "../../domain/factors/passkeys/registration.js";
import { mfaPasskeyOptions } from "../../domain/factors/verify.js";
import { requireRecentAuthentication } from "../../domain/sessions/step-up.js";
import { requestContext } from "../context.js";
import { presentTokens } from "../presenters.js";
import { errorResponses, tokenPair, verificationTokenBody, type VerificationTokenBody } from "../schemas.js";
import { verificationTokenOf } from "../step-up.js";

const bearer = [{ bearer: [] }];

/** A WebAuthn credential as the browser's `toJSON()` (or @simplewebauthn/browser) gives it; the verifier checks the rest. */
export const credentialSchema = {
  type: "object",
  description: "PublicKeyCredential as JSON (base64url fields)",
  properties: {
    id: { type: "string", maxLength: 1400 },
    rawId: { type: "string", maxLength: 1400 },
    type: { type: "string", maxLength: 32 },
    response: { type: "object", additionalProperties: true },
    clientExtensionResults: { type: "object", additionalProperties: true },
    authenticatorAttachment: { type: ["string", "null"], maxLength: 32 },
  },
  additionalProperties: true,
} as const;

const exampleAssertion = {
  id: "3q2-7w",
  rawId: "3q2-7w",
  type: "public-key",
  response: {
    clientDataJSON: "eyJ0eXBlIjoid2ViYXV0aG4uZ2V0IiwiY2hhbGxlbmdlIjoi...",
    authenticatorData: "SZYN5YgOjGh0NBcPZHZgW4_krrmihjLHmVzzuoMdl2MFAAAAAQ",
    signature: "MEUCIQ...",
    userHandle: "YjVmZjM0...",
  },
  clientExtensionResults: {},
};

/** WebAuthn options: the library's JSON, passed through (nested objects the browser hands to navigator.credentials). */
const webauthnOptions = (description: string) =>
  ({
    type: "object",
    description,
    properties: {
      challenge: { type: "string" },
      rpId: { type: "string" },
      timeout: { type: "integer" },
      userVerification: { type: "string" },
      allowCredentials: { type: "array", items: { type: "object", additionalProperties: true } },
    },
    additionalProperties: true,
  }) as const;

const passkeyView = {
  type: "object",
  properties: {
    id: { type: "string" },
    name: { type: "string" },
    createdAt: { type: "string", format: "date-time" },
    lastUsedAt: { type: ["string", "null"], format: "date-time" },
  },
  required: ["id", "name", "createdAt", "lastUsedAt"],
} as const;

const present = (p: PasskeyView) => ({
  id: p.id,
  name: p.name,
  createdAt: p.createdAt.toISOString(),
  lastUsedAt: p.lastUsedAt?.toISOString() ?? null,
});

/** The public half: passwordless login and the passkey answer to a login's MFA challenge. */
export function passkeyAuthRoutes(app: FastifyInstance, deps: DomainDeps): void {
  app.post(
    "/api/auth/passkey/login/options",
    {
      config: { rateLimit: "oauth_login" },
      schema: {
        operationId: "passkeyLoginOptions",
        summary: "Start a passkey sign-in",
        description:
          "Request options for a discoverable credential (nobody is named: an `email` is ignored). Pass `sessionId` back with the assertion.",
        tags: ["auth", "passkeys"],
        security: [],
        body: {
          type: ["object", "null"],
          properties: { email: { type: "string", maxLength: 320 } },
          examples: [{}],
        },
        response: {
          200: {
            ...webauthnOptions("PublicKeyCredentialRequestOptions plus the ceremony's sessionId"),
            properties: { ...webauthnOptions("").properties, sessionId: { type: "string" } },
            required: ["challenge", "rpId", "timeout", "userVerification", "sessionId"],
          },
          ...errorResponses(400, 429),
        },
      },
    },
    async () => passkeyLoginOptions(deps),
  );

  app.post<{ Body: { sessionId?: string; credential?: unknown } }>(
    "/api/auth/passkey/login",
    {
      config: { rateLimit: "oauth_login" },
      schema: {
        operationId: "passkeyLogin",
        summary: "Sign in with a passkey",
        description:
          "Verifies the assertion (user verification required) and returns tokens: a verified passkey is two factors, so no MFA challenge follows.",
        tags: ["auth", "passkeys"],
        security: [],
        body: {
          type: "object",
          properties: { sessionId: { type: "string", maxLength: 256 }, credential: credentialSchema },
          examples: [{ sessionId: "q1Zx...", credential: exampleAssertion }],
        },
        response: { 200: tokenPair, ...errorResponses(400, 401, 403, 429) },
      },
    },
    async (request) => presentTokens(await loginWithPasskey(deps, request.body ?? {}, requestContext(request))),
  );

  app.post<{ Body: { mfaToken?: string; mfa_token?: string } }>(
    "/api/auth/mfa/passkey/options",
    {
      config: { rateLimit: "oauth_login", errorField: true },
      schema: {
        operationId: "mfaPasskeyOptions",
        summary: "Passkey options for a login's MFA challenge",
        description: "Request options listing the user's passkeys, bound to the MFA challenge.",
        tags: ["auth", "mfa", "passkeys"],
        security: [],
        body: {
          type: "object",
          properties: { mfaToken: { type: "string", maxLength: 256 }, mfa_token: { type: "string", maxLength: 256 } },
          examples: [{ mfaToken: "9f1c...64 hex characters" }],
        },
        response: {
          200: webauthnOptions("PublicKeyCredentialRequestOptions with allowCredentials"),
          ...errorResponses(400, 401, 429),
        },
      },
    },
    async (request) => mfaPasskeyOptions(deps, request.body ?? {}),
  );
}

/** The Bearer half, inside the /api/v1 scope: enrolment, list, delete. */
export function passkeyRoutes(v1: FastifyInstance, deps: DomainDeps): void {
  v1.post<{ Body: VerificationTokenBody | null }>(
    "/passkey/register/options",
    {
      schema: {
        operationId: "passkeyRegistrationOptions",
        summary: "Start adding a passkey",
        description:
          "Sensitive: needs a session authenticated within REAUTH_MAX_AGE seconds or a step-up verification token (header X-Verification-Token or body).",
        tags: ["passkeys"],
        security: bearer,
        body: verificationTokenBody,
        response: {
          200: {
            type: "object",
            description: "PublicKeyCredentialCreationOptions (JSON, base64url)",
            properties: {
              rp: { type: "object", additionalProperties: true },
              user: { type: "object", additionalProperties: true },
              challenge: { type: "string" },
              pubKeyCredParams: { type: "array", items: { type: "object", additionalProperties: true } },
              timeout: { type: "integer" },
              attestation: { type: "string" },
              excludeCredentials: { type: "array", items: { type: "object", additionalProperties: true } },
              authenticatorSelection: { type: "object", additionalProperties: true },
            },
            additionalProperties: true,
          },
          ...errorResponses(401, 403),
        },
      },
    },
    async (request) => {
      await requireRecentAuthentication(deps, request.auth, { verificationToken: verificationTokenOf(request) });
      return registrationOptions(deps, request.auth);
    },
  );

  v1.post<{ Body: { name?: string; credential?: unknown; response?: unknown } }>(
    "/passkey/register",
    {
      schema: {
        operationId: "passkeyRegister",
        summary: "Finish adding a passkey",
        description:
          "Verifies the attestation against the challenge from /passkey/register/options and stores the passkey.",
        tags: ["passkeys"],
        security: bearer,
        body: {
          type: "object",
          properties: {
            name: { type: "string", maxLength: 100 },
            credential: credentialSchema,
            response: { ...credentialSchema, description: "Alias of credential" },
          },
          examples: [
            {
              name: "MacBook Touch ID",
              credential: {
                id: "3q2-7w",
                rawId: "3q2-7w",
                type: "public-key",
                response: {
                  clientDataJSON: "eyJ0eXBlIjoid2ViYXV0aG4uY3JlYXRlIi...",
                  attestationObject: "o2NmbXRkbm9uZ...",
                },
                clientExtensionResults: {},
              },
            },
          ],
        },
        response: { 201: passkeyView, ...errorResponses(400, 401, 403, 409) },
      },
    },
    async (request, reply) => {
      const created = await registerPasskey(deps, request.auth, request.body ?? {}, requestContext(request));
      return reply.code(201).send(present(created));
    },
  );

  v1.get(
    "/me/passkeys",
    {
      schema: {
        operationId: "listPasskeys",
        summary: "The user's passkeys",
        tags: ["passkeys"],
        security: bearer,
        response: { 200: { type: "array", items: passkeyView }, ...errorResponses(401, 403) },
      },
    },
    async (request) => (await listPasskeys(deps, request.auth)).map(present),
  );

  v1.patch<{ Params: { id: string }; Body: { name: string } }>(
    "/me/passkeys/:id",
    {
      schema: {
        operationId: "renamePasskey",
        summary: "Rename a passkey",
        description: "Not sensitive: a name grants nothing. 1 to 100 characters once trimmed (400 otherwise).",
        tags: ["passkeys"],
        security: bearer,
        params: { type: "object", properties: { id: { type: "string", maxLength: 64 } }, required: ["id"] },
        body: {
          type: "object",
          properties: { name: { type: "string", maxLength: 1000 } },
          required: ["name"],
          examples: [{ name: "Work laptop" }],
        },
        response: { 200: passkeyView, ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request) =>
      present(await renamePasskey(deps, request.auth, request.params.id, request.body.name, requestContext(request))),
  );

  v1.delete<{ Params: { id: string }; Body: VerificationTokenBody | null }>(
    "/me/passkeys/:id",
    {
      schema: {
        operationId: "deletePasskey",
        summary: "Remove a passkey",
        description:
          "Sensitive: a fresh session or a step-up verification token. 409 `This is your only way to sign in.` when it is the user's last passkey and they have no password and no linked Google/Apple identity.",
        tags: ["passkeys"],
        security: bearer,
        params: { type: "object", properties: { id: { type: "string", maxLength: 64 } }, required: ["id"] },
        body: verificationTokenBody,
        response: { 204: { type: "null", description: "Removed" }, ...errorResponses(401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      await requireRecentAuthentication(deps, request.auth, { verificationToken: verificationTokenOf(request) });
      await deletePasskey(deps, request.auth, request.params.id, requestContext(request));
      return reply.code(204).send();
    },
  );
}
