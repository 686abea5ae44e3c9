import type { FastifyInstance } from "fastify";
import type { DomainDeps } from "../../domain/context.js";
import type { ApiKeyDeps } from "../../domain/api-keys/context.js";
import { revokeAllApiKeys } from "../../domain/api-keys/management.js";
import { deleteAccount, getProfile, updateProfile, type ProfileUpdate } from "../../domain/accounts/profile.js";
import { EVENTS_PAGE_MAX, listEvents } from "../../domain/security/events.js";
import { endSession, listSessions } from "../../domain/sessions/sessions.js";
import { requestContext } from "../context.js";
import { email, errorResponses, password, verificationTokenFields, type VerificationTokenBody } from "../schemas.js";
import { requestEmailChange } from "../../domain/accounts/email-change.js";
import { verificationTokenOf } from "../step-up.js";

const message = { type: "object", properties: { message: { type: "string" } }, required: ["message"] } as const;
const nullableString = (maxLength: number) => ({ type: ["string", "null"], maxLength }) as const;
const isoDate = { type: "string", format: "date-time" } as const;
const nullableIsoDate = { type: ["string", "null"], format: "date-time" } as const;

const profile = {
  type: "object",
  properties: {
    id: { type: "string" },
    email: { type: "string" },
    firstName: nullableString(100),
    lastName: nullableString(100),
    phone: nullableString(32),
    locale: nullableString(35),
    timezone: nullableString(64),
    roles: { type: "array", items: { type: "string" } },
    active: { type: "boolean" },
    emailVerified: { type: "boolean" },
    mfaEnabled: { type: "boolean" },
    hasPassword: { type: "boolean", description: "False for an account created through Google or Apple" },
    lastConnectedAt: nullableIsoDate,
    createdAt: isoDate,
    updatedAt: isoDate,
    preferences: { type: "object", additionalProperties: true },
  },
  required: [
    "id",
    "email",
    "roles",
    "active",
    "emailVerified",
    "mfaEnabled",
    "hasPassword",
    "createdAt",
    "updatedAt",
    "preferences",
  ],
} as const;

/** Fields a client does not own (id, email, roles...) are ignored, so a client may send back what GET returned. */
const profileUpdate = {
  type: "object",
  properties: {
    firstName: nullableString(100),
    lastName: nullableString(100),
    phone: nullableString(32),
    locale: nullableString(35),
    timezone: nullableString(64),
    preferences: { type: "object", description: "Replaces the stored preferences object" },
    password: {
      ...password,
      description:
        "The new password (alias: newPassword); needs currentPassword, or for an account without one a fresh session or a step-up verification token",
    },
    newPassword: password,
    currentPassword: password,
    ...verificationTokenFields,
  },
} as const;

interface DeleteMeBody extends VerificationTokenBody {
  password?: string;
}

/** Absent, or a password (required when the account has one) and a step-up token. */
const deleteMeBody = {
  type: ["object", "null"],
  properties: {
    password: {
      ...password,
      description:
        "The current password; required when the account has one. An account without a password omits it and proves a recent authentication instead",
    },
    ...verificationTokenFields,
  },
  examples: [{ password: "correct horse battery staple" }, {}],
} as const;

const session = {
  type: "object",
  properties: {
    id: { type: "string" },
    createdAt: isoDate,
    lastUsedAt: isoDate,
    ip: { type: ["string", "null"] },
    userAgent: { type: ["string", "null"] },
    current: { type: "boolean" },
  },
  required: ["id", "createdAt", "lastUsedAt", "ip", "userAgent", "current"],
} as const;

const securityEvent = {
  type: "object",
  properties: {
    id: { type: "string" },
    type: { type: "string" },
    createdAt: isoDate,
    ip: { type: ["string", "null"] },
    userAgent: { type: ["string", "null"] },
  },
  required: ["id", "type", "createdAt", "ip", "userAgent"],
} as const;

const security = [{ bearer: [] }];

/** A PATCH that changes the password hashes it twice: only those count against the re-authentication limit. */
const changesPassword = (body: unknown): boolean =>
  typeof body === "object" &&
  body !== null &&
  ["password", "newPassword", "currentPassword"].some((key) => (body as Record<string, unknown>)[key] !== undefined);

/** Registered inside the /api/v1 scope, after requireBearer: `request.auth` is always set here. */
export function meRoutes(v1: FastifyInstance, deps: DomainDeps & Pick<ApiKeyDeps, "apiKeys">): void {
  v1.get(
    "/me",
    {
      config: { acceptsApiKey: true },
      schema: {
        operationId: "getMe",
        summary: "The current user",
        description:
          "Also answers to an API key (`Authorization: af_...` or `Bearer af_...`), the only Warden endpoint that does.",
        tags: ["me"],
        security: [...security, { apiKey: [] }],
        response: { 200: profile, ...errorResponses(401, 403) },
      },
    },
    async (request) => getProfile(deps, (request.apiKey ?? request.auth).user),
  );

  v1.patch<{ Body: ProfileUpdate }>(
    "/me",
    {
      config: { rateLimit: "reauth", rateLimitWhen: changesPassword },
      schema: {
        operationId: "updateMe",
        summary: "Update the current user; a password change revokes every other session",
        tags: ["me"],
        security,
        body: profileUpdate,
        response: { 200: profile, ...errorResponses(400, 401, 403, 422, 429, 503) },
      },
    },
    async (request) => {
      const body = request.body ?? {};
      const verificationToken = verificationTokenOf(request);
      return updateProfile(deps, request.auth, { ...body, verificationToken }, requestContext(request));
    },
  );

  v1.post<{ Body: { email: string } & VerificationTokenBody }>(
    "/me/email",
    {
      config: { rateLimit: "reauth" },
      schema: {
        operationId: "changeEmail",
        summary: "Ask for a new sign-in address (sensitive): a link goes to it, a notice to the current one",
        description:
          "Nothing changes until the link mailed to the new address is opened (`POST /api/auth/confirm-email-change`). " +
          "Sensitive: a login within REAUTH_MAX_AGE or a step-up verification token, else 403 `mfa_required`. " +
          "409 when another account has the address; at most 3 requests an hour per account (429).",
        tags: ["me"],
        security,
        body: {
          type: "object",
          properties: { email, ...verificationTokenFields },
          required: ["email"],
          examples: [{ email: "ana.new@example.com" }],
        },
        response: { 202: message, ...errorResponses(400, 401, 403, 409, 429, 503) },
      },
    },
    async (request, reply) => {
      const input = { email: request.body.email, verificationToken: verificationTokenOf(request) };
      return reply.code(202).send(await requestEmailChange(deps, request.auth, input, requestContext(request)));
    },
  );

  v1.delete<{ Body: DeleteMeBody | null | undefined }>(
    "/me",
    {
      config: { rateLimit: "reauth", hashesPassword: "reauth" },
      schema: {
        operationId: "deleteMe",
        summary: "Delete the current user's account (needs the password, if the account has one)",
        description:
          "An account with a password must send it (400 without it, 422 when wrong), whatever the session's age. " +
          "An account without one (made through Google or Apple, or passkeys only) sends no password: it needs a " +
          "session authenticated within REAUTH_MAX_AGE or a step-up verification token, else 403 `mfa_required`.",
        tags: ["me"],
        security,
        body: deleteMeBody,
        response: { 204: { type: "null" }, ...errorResponses(400, 401, 403, 422, 429, 503) },
      },
    },
    async (request, reply) => {
      const proof = { password: request.body?.password, verificationToken: verificationTokenOf(request) };
      await deleteAccount(deps, request.auth, proof, requestContext(request));
      // Deleting the account kills its API keys (deactivation and password resets do not).
      await revokeAllApiKeys(deps, request.auth.user.id, "account_deleted", requestContext(request));
      return reply.code(204).send();
    },
  );

  v1.get(
    "/me/sessions",
    {
      schema: {
        operationId: "listSessions",
        summary: "The current user's live sessions",
        tags: ["me"],
        security,
        response: {
          200: { type: "object", properties: { data: { type: "array", items: session } }, required: ["data"] },
          ...errorResponses(401, 403),
        },
      },
    },
    async (request) => ({ data: await listSessions(deps, request.auth) }),
  );

  v1.delete<{ Params: { id: string } }>(
    "/me/sessions/:id",
    {
      schema: {
        operationId: "deleteSession",
        summary: "End one of the current user's sessions (the current one too)",
        tags: ["me"],
        security,
        params: { type: "object", properties: { id: { type: "string", maxLength: 64 } }, required: ["id"] },
        response: { 204: { type: "null" }, ...errorResponses(401, 403, 404) },
      },
    },
    async (request, reply) => {
      await endSession(deps, request.auth, request.params.id, requestContext(request));
      return reply.code(204).send();
    },
  );

  v1.get<{ Querystring: { limit?: string; before?: string } }>(
    "/me/security-events",
    {
      schema: {
        operationId: "listSecurityEvents",
        summary: "The current user's security events, newest first",
        description: `Pages of \`limit\` events (default 20, at most ${EVENTS_PAGE_MAX}); pass the returned \`next\` as \`before\` for the next page.`,
        tags: ["me"],
        security,
        querystring: {
          type: "object",
          properties: {
            limit: { type: "string", pattern: "^[0-9]{1,4}$" },
            before: { type: "string", maxLength: 200 },
          },
        },
        response: {
          200: {
            type: "object",
            properties: { data: { type: "array", items: securityEvent }, next: { type: ["string", "null"] } },
            required: ["data", "next"],
          },
          ...errorResponses(400, 401, 403),
        },
      },
    },
    async (request) =>
      listEvents(deps, request.auth.user.id, {
        limit: request.query.limit ? Number(request.query.limit) : undefined,
        before: request.query.before,
      }),
  );
}
