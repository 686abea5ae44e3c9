import type { FastifyInstance } from "fastify";
import type { ApiKeyDeps } from "../../domain/api-keys/context.js";
import {
  createApiKey,
  listApiKeys,
  listScopes,
  NAME_MAX_LENGTH,
  revokeApiKey,
  rotateApiKey,
  updateApiKey,
  type NewApiKeyInput,
} from "../../domain/api-keys/management.js";
import type { DomainDeps } from "../../domain/context.js";
import { requestContext } from "../context.js";
import { errorResponses } from "../schemas.js";
import { assertSensitiveAllowed } from "../sensitive-operation.js";

const isoDate = { type: "string", format: "date-time" } as const;
const nullableIsoDate = { type: ["string", "null"], format: "date-time" } as const;

const apiKey = {
  type: "object",
  properties: {
    id: { type: "string" },
    name: { type: "string" },
    tokenPrefix: { type: "string", description: "The first 12 characters of the key" },
    scopes: { type: "array", items: { type: "string" } },
    createdAt: isoDate,
    expiresAt: nullableIsoDate,
    lastUsedAt: { ...nullableIsoDate, description: "Minute resolution" },
    revokedAt: nullableIsoDate,
  },
  required: ["id", "name", "tokenPrefix", "scopes", "createdAt", "expiresAt", "lastUsedAt", "revokedAt"],
} as const;

const apiKeyWithToken = {
  ...apiKey,
  properties: {
    ...apiKey.properties,
    token: { type: "string", description: "The key: af_ + 64 hex. Shown this once; only its SHA-256 is stored." },
  },
  required: [...apiKey.required, "token"],
} as const;

/** Name and scopes are checked by the domain, so a missing one gets the contract's own sentence. */
const createBody = {
  type: "object",
  properties: {
    name: { type: "string", maxLength: NAME_MAX_LENGTH },
    scopes: { type: "array", items: { type: "string", maxLength: 100 }, maxItems: 100 },
    expiresAt: { type: ["string", "null"], maxLength: 64, description: "ISO 8601, in the future; absent: never" },
    verification_token: { type: "string", maxLength: 512 },
    verificationToken: { type: "string", maxLength: 512 },
  },
  examples: [{ name: "CI deploys", scopes: ["invoices:read"], expiresAt: "2027-01-01T00:00:00Z" }],
} as const;

const patchBody = {
  type: "object",
  properties: {
    name: { type: "string", maxLength: NAME_MAX_LENGTH },
    scopes: { type: "array", items: { type: "string", maxLength: 100 }, maxItems: 100 },
  },
  examples: [{ name: "CI deploys (staging)" }],
} as const;

const idParams = {
  type: "object",
  properties: { id: { type: "string", maxLength: 64 } },
  required: ["id"],
} as const;

const security = [{ bearer: [] }];
const tags = ["api-keys"];
const config = { apiKeyManagement: true };

/** Registered inside the /api/v1 scope, after requireBearer. A request carrying a key never gets here (plugins/api-key.ts). */
export function apiTokenRoutes(v1: FastifyInstance, deps: DomainDeps & ApiKeyDeps): void {
  v1.get(
    "/api-tokens",
    {
      config,
      schema: {
        operationId: "listApiTokens",
        summary: "The current user's API keys, revoked ones too",
        tags,
        security,
        response: {
          200: { type: "object", properties: { data: { type: "array", items: apiKey } }, required: ["data"] },
          ...errorResponses(401, 403),
        },
      },
    },
    async (request) => ({ data: await listApiKeys(deps, request.auth.user) }),
  );

  v1.post<{ Body: NewApiKeyInput }>(
    "/api-tokens",
    {
      config,
      schema: {
        operationId: "createApiToken",
        summary: "Create an API key (sensitive: needs a fresh login); the key is in this response only",
        tags,
        security,
        body: createBody,
        response: { 201: apiKeyWithToken, ...errorResponses(400, 401, 403) },
      },
    },
    async (request, reply) => {
      await assertSensitiveAllowed(deps, request);
      const created = await createApiKey(deps, request.auth.user, request.body ?? {}, requestContext(request));
      return reply.code(201).send(created);
    },
  );

  v1.get(
    "/api-tokens/scopes",
    {
      config,
      schema: {
        operationId: "listApiTokenScopes",
        summary: "The scopes the current user may grant to a key",
        tags,
        security,
        response: {
          200: {
            type: "object",
            properties: {
              scopes: {
                type: "array",
                items: {
                  type: "object",
                  properties: { value: { type: "string" }, label: { type: "string" }, category: { type: "string" } },
                  required: ["value", "label", "category"],
                },
              },
            },
            required: ["scopes"],
          },
          ...errorResponses(401, 403),
        },
      },
    },
    async (request) => ({ scopes: listScopes(deps, request.auth.user) }),
  );

  v1.patch<{ Params: { id: string }; Body: { name?: string; scopes?: string[] } }>(
    "/api-tokens/:id",
    {
      config,
      schema: {
        operationId: "updateApiToken",
        summary: "Rename a key or change its scopes",
        tags,
        security,
        params: idParams,
        body: patchBody,
        response: { 200: apiKey, ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request) =>
      updateApiKey(deps, request.auth.user, request.params.id, request.body ?? {}, requestContext(request)),
  );

  v1.delete<{ Params: { id: string } }>(
    "/api-tokens/:id",
    {
      config,
      schema: {
        operationId: "revokeApiToken",
        summary: "Revoke a key, at once on every instance",
        tags,
        security,
        params: idParams,
        response: { 204: { type: "null" }, ...errorResponses(401, 403, 404) },
      },
    },
    async (request, reply) => {
      await revokeApiKey(deps, request.auth.user, request.params.id, requestContext(request));
      return reply.code(204).send();
    },
  );

  v1.post<{ Params: { id: string } }>(
    "/api-tokens/:id/rotate",
    {
      config,
      schema: {
        operationId: "rotateApiToken",
        summary: "Replace a key by a new one with the same name, scopes and expiry (sensitive); the old key dies",
        tags,
        security,
        params: idParams,
        response: { 201: apiKeyWithToken, ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      await assertSensitiveAllowed(deps, request);
      return reply
        .code(201)
        .send(await rotateApiKey(deps, request.auth.user, request.params.id, requestContext(request)));
    },
  );
}
