import type { FastifyInstance, FastifyRequest } from "fastify";
import {
  listSigningKeys,
  revokeSigningKey,
  rotateSigningKey,
  searchEvents,
  AUDIT_PAGE_MAX,
} from "../../domain/admin/audit.js";
import type { Actor, AdminDeps } from "../../domain/admin/context.js";
import type { UserStatus } from "../../domain/admin/ports.js";
import {
  actOnUser,
  deleteUser,
  listUserSessions,
  revokeUserKeys,
  revokeUserSessions,
  searchUsers,
  showUser,
  USERS_PAGE_MAX,
  type UserAction,
} from "../../domain/admin/users.js";
import { AuthError } from "../../domain/errors.js";
import { requireBearer } from "../authenticate.js";
import { requestContext } from "../context.js";
import { errorResponses } from "../schemas.js";
import { assertSensitiveAllowed } from "../sensitive-operation.js";

const isoDate = { type: "string", format: "date-time" } as const;
const nullableIsoDate = { type: ["string", "null"], format: "date-time" } as const;
const nullableString = { type: ["string", "null"] } as const;

const adminUser = {
  type: "object",
  properties: {
    id: { type: "string" },
    email: { type: "string" },
    firstName: nullableString,
    lastName: nullableString,
    phone: nullableString,
    locale: nullableString,
    timezone: nullableString,
    roles: { type: "array", items: { type: "string" } },
    active: { type: "boolean" },
    emailVerified: { type: "boolean" },
    mfaEnabled: { type: "boolean" },
    lastConnectedAt: nullableIsoDate,
    createdAt: isoDate,
    updatedAt: isoDate,
    preferences: { type: "object", additionalProperties: true },
    status: { type: "string", enum: ["active", "inactive", "unconfirmed", "deleted"] },
    emailConfirmedAt: nullableIsoDate,
    deactivatedAt: nullableIsoDate,
    deletedAt: nullableIsoDate,
  },
  required: ["id", "email", "roles", "active", "emailVerified", "status", "createdAt"],
} as const;

const page = (items: object) =>
  ({
    type: "object",
    properties: { data: { type: "array", items }, next: { type: ["string", "null"] } },
    required: ["data", "next"],
  }) as const;

const userParams = {
  type: "object",
  properties: { id: { type: "string", maxLength: 64 } },
  required: ["id"],
} as const;

const revoked = {
  type: "object",
  properties: { revoked: { type: "integer" } },
  required: ["revoked"],
} as const;

const security = [{ bearer: [] }];
const tags = ["admin"];
const errors = errorResponses(400, 401, 403, 404);

declare module "fastify" {
  interface FastifyRequest {
    actor: Actor;
  }
}

/**
 * /api/admin/*: a Bearer token of a ROLE_ADMIN user whose session passes the sensitive-operation
 * rule, on every endpoint (reads included: they expose other people's data). API keys are refused
 * before this scope's hooks run (plugins/api-key.ts).
 */
export async function adminRoutes(app: FastifyInstance, deps: AdminDeps): Promise<void> {
  await app.register(
    async (admin) => {
      requireBearer(admin, deps);
      admin.decorateRequest("actor", null as unknown as Actor);
      admin.addHook("onRequest", async (request: FastifyRequest) => {
        if (!request.auth.user.roles.includes("ROLE_ADMIN")) throw new AuthError("ADMIN_REQUIRED");
      });
      // After the body is parsed: a step-up token may come in the body as well as in X-Verification-Token.
      admin.addHook("preHandler", async (request: FastifyRequest) => {
        await assertSensitiveAllowed(deps, request);
        request.actor = { id: request.auth.user.id, email: request.auth.user.email, ...requestContext(request) };
      });

      admin.get<{ Querystring: { email?: string; status?: UserStatus; limit?: string; cursor?: string } }>(
        "/users",
        {
          schema: {
            operationId: "adminListUsers",
            summary: "Find users by email prefix and status, ordered by email",
            description: `Pages of \`limit\` users (default 50, at most ${USERS_PAGE_MAX}); pass the returned \`next\` as \`cursor\`. Deleted users are listed only with status=deleted.`,
            tags,
            security,
            querystring: {
              type: "object",
              properties: {
                email: { type: "string", maxLength: 320 },
                status: { type: "string", enum: ["active", "inactive", "unconfirmed", "deleted"] },
                limit: { type: "string", pattern: "^[0-9]{1,4}$" },
                cursor: { type: "string", maxLength: 500 },
              },
            },
            response: { 200: page(adminUser), ...errors },
          },
        },
        async (request) =>
          searchUsers(deps, request.actor, {
            ...request.query,
            limit: request.query.limit ? Number(request.query.limit) : undefined,
          }),
      );

      admin.get<{ Params: { id: string } }>(
        "/users/:id",
        {
          schema: {
            operationId: "adminGetUser",
            summary: "One user",
            tags,
            security,
            params: userParams,
            response: { 200: adminUser, ...errors },
          },
        },
        async (request) => showUser(deps, request.actor, request.params.id),
      );

      admin.delete<{ Params: { id: string } }>(
        "/users/:id",
        {
          schema: {
            operationId: "adminDeleteUser",
            summary: "Delete a user: personal data erased; sessions, challenges and API keys end",
            tags,
            security,
            params: userParams,
            response: { 204: { type: "null" }, ...errors },
          },
        },
        async (request, reply) => {
          await deleteUser(deps, request.actor, request.params.id);
          return reply.code(204).send();
        },
      );

      const actions: Array<[UserAction, string, string]> = [
        ["deactivate", "adminDeactivateUser", "Deactivate: every session and login in progress ends; API keys pause"],
        ["activate", "adminActivateUser", "Activate a deactivated user"],
        ["confirm", "adminConfirmUser", "Mark the user's email as confirmed"],
        ["mfa-reset", "adminResetMfa", "Turn two-factor off for a user who lost every factor"],
      ];
      for (const [action, operationId, summary] of actions) {
        admin.post<{ Params: { id: string } }>(
          `/users/:id/${action}`,
          {
            schema: {
              operationId,
              summary,
              tags,
              security,
              params: userParams,
              response: { 200: adminUser, ...errors },
            },
          },
          async (request) => actOnUser(deps, request.actor, request.params.id, action),
        );
      }

      admin.post<{ Params: { id: string } }>(
        "/users/:id/revoke-sessions",
        {
          schema: {
            operationId: "adminRevokeSessions",
            summary: "End every session of the user (their access tokens stop working at once)",
            tags,
            security,
            params: userParams,
            response: { 200: revoked, ...errors },
          },
        },
        async (request) => revokeUserSessions(deps, request.actor, request.params.id),
      );

      admin.post<{ Params: { id: string } }>(
        "/users/:id/revoke-keys",
        {
          schema: {
            operationId: "adminRevokeApiKeys",
            summary: "Revoke every API key of the user",
            tags,
            security,
            params: userParams,
            response: { 200: revoked, ...errors },
          },
        },
        async (request) => revokeUserKeys(deps, request.actor, request.params.id),
      );

      admin.get<{ Params: { id: string } }>(
        "/users/:id/sessions",
        {
          schema: {
            operationId: "adminListUserSessions",
            summary: "The user's live sessions",
            tags,
            security,
            params: userParams,
            response: {
              200: {
                type: "object",
                properties: {
                  data: {
                    type: "array",
                    items: {
                      type: "object",
                      properties: {
                        id: { type: "string" },
                        createdAt: isoDate,
                        lastUsedAt: isoDate,
                        ip: nullableString,
                        userAgent: nullableString,
                      },
                      required: ["id", "createdAt", "lastUsedAt", "ip", "userAgent"],
                    },
                  },
                },
                required: ["data"],
              },
              ...errors,
            },
          },
        },
        async (request) => ({ data: await listUserSessions(deps, request.actor, request.params.id) }),
      );

      admin.get<{ Querystring: { userId?: string; type?: string; since?: string; limit?: string; before?: string } }>(
        "/security-events",
        {
          schema: {
            operationId: "adminListSecurityEvents",
            summary: "Security events across users, newest first",
            description: `Filters: userId, type, since (ISO 8601). Pages of \`limit\` (default 50, at most ${AUDIT_PAGE_MAX}); pass \`next\` as \`before\`.`,
            tags,
            security,
            querystring: {
              type: "object",
              properties: {
                userId: { type: "string", maxLength: 64 },
                type: { type: "string", maxLength: 64 },
                since: { type: "string", maxLength: 64 },
                limit: { type: "string", pattern: "^[0-9]{1,4}$" },
                before: { type: "string", maxLength: 200 },
              },
            },
            response: {
              200: page({
                type: "object",
                properties: {
                  id: { type: "string" },
                  userId: nullableString,
                  type: { type: "string" },
                  createdAt: isoDate,
                  ip: nullableString,
                  userAgent: nullableString,
                  detail: { type: ["object", "null"], additionalProperties: true },
                },
                required: ["id", "userId", "type", "createdAt", "ip", "userAgent", "detail"],
              }),
              ...errors,
            },
          },
        },
        async (request) =>
          searchEvents(deps, request.actor, {
            ...request.query,
            limit: request.query.limit ? Number(request.query.limit) : undefined,
          }),
      );

      const signingKey = {
        type: "object",
        properties: {
          kid: { type: "string" },
          status: { type: "string", enum: ["signing", "retired", "revoked"] },
          createdAt: isoDate,
          retiredAt: nullableIsoDate,
          revokedAt: nullableIsoDate,
          signing: { type: "boolean" },
          published: { type: "boolean", description: "In the JWKS" },
        },
        required: ["kid", "status", "createdAt", "retiredAt", "revokedAt", "signing", "published"],
      } as const;

      admin.get(
        "/keys",
        {
          schema: {
            operationId: "adminListSigningKeys",
            summary: "The signing keys: which signs, which are still published",
            tags,
            security,
            response: {
              200: { type: "object", properties: { data: { type: "array", items: signingKey } }, required: ["data"] },
              ...errors,
            },
          },
        },
        async () => ({ data: listSigningKeys(deps) }),
      );

      admin.post(
        "/keys/rotate",
        {
          schema: {
            operationId: "adminRotateSigningKey",
            summary: "Make a new key the signer; older keys verify until their tokens expire",
            tags,
            security,
            response: {
              201: { type: "object", properties: { kid: { type: "string" } }, required: ["kid"] },
              ...errors,
            },
          },
        },
        async (request, reply) => reply.code(201).send(await rotateSigningKey(deps, request.actor)),
      );

      admin.post<{ Params: { kid: string } }>(
        "/keys/:kid/revoke",
        {
          schema: {
            operationId: "adminRevokeSigningKey",
            summary:
              "Revoke a leaked signing key: out of the JWKS and verification at once, on every instance within a second",
            description:
              "Every token the key signed is refused from now on; clients refresh. Revoking the signer makes a new key the signer (`newSigner`). Revoking a revoked key changes nothing (`alreadyRevoked`).",
            tags,
            security,
            params: {
              type: "object",
              properties: { kid: { type: "string", maxLength: 128 } },
              required: ["kid"],
            },
            response: {
              200: {
                type: "object",
                properties: {
                  kid: { type: "string" },
                  alreadyRevoked: { type: "boolean" },
                  newSigner: { type: ["string", "null"] },
                },
                required: ["kid", "alreadyRevoked", "newSigner"],
              },
              ...errors,
            },
          },
        },
        async (request) => revokeSigningKey(deps, request.actor, request.params.kid),
      );
    },
    { prefix: "/api/admin" },
  );
}
