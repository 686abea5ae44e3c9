import type { RequestContext } from "../context.js";
import { AuthError } from "../errors.js";
import type { UserRecord } from "../accounts/ports.js";
import { recordEvent } from "../security/events.js";
import type { ApiKeyDeps } from "./context.js";
import { hashApiKey, newApiKey, TOKEN_PREFIX_LENGTH } from "./format.js";
import type { ApiKeyPatch, ApiKeyRecord, ScopeDefinition } from "./ports.js";

export interface ApiKeyView {
  id: string;
  name: string;
  tokenPrefix: string;
  scopes: string[];
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

export const viewApiKey = (key: ApiKeyRecord): ApiKeyView => ({
  id: key.id,
  name: key.name,
  tokenPrefix: key.tokenPrefix,
  scopes: key.scopes,
  createdAt: key.createdAt.toISOString(),
  expiresAt: key.expiresAt?.toISOString() ?? null,
  lastUsedAt: key.lastUsedAt?.toISOString() ?? null,
  revokedAt: key.revokedAt?.toISOString() ?? null,
});

export const NAME_MAX_LENGTH = 100;

/** GET /api/v1/api-tokens/scopes: the catalogue, without the roles (a user sees what exists, not who may grant it). */
export function listScopes(deps: Pick<ApiKeyDeps, "apiKeyScopes">, user: UserRecord) {
  return deps.apiKeyScopes
    .filter((scope) => mayGrant(user, scope))
    .map(({ value, label, category }) => ({ value, label, category }));
}

const mayGrant = (user: UserRecord, scope: ScopeDefinition): boolean =>
  !scope.roles || scope.roles.length === 0 || scope.roles.some((role) => user.roles.includes(role));

function checkName(name: unknown): string {
  const trimmed = typeof name === "string" ? name.trim() : "";
  if (!trimmed) throw new AuthError("API_KEY_NAME_REQUIRED");
  return trimmed.slice(0, NAME_MAX_LENGTH);
}

/** Unknown scopes are a 400 naming them; a known scope the user's roles do not cover is a 403 naming it. */
function checkScopes(deps: Pick<ApiKeyDeps, "apiKeyScopes">, user: UserRecord, scopes: unknown): string[] {
  if (!Array.isArray(scopes) || scopes.length === 0) throw new AuthError("API_KEY_SCOPES_REQUIRED");
  const wanted = [...new Set(scopes as string[])];
  const catalogue = new Map(deps.apiKeyScopes.map((s) => [s.value, s]));
  const unknown = wanted.filter((s) => !catalogue.has(s));
  if (unknown.length > 0)
    throw new AuthError("API_KEY_SCOPES_INVALID", { message: `Invalid scopes: ${unknown.join(", ")}` });
  const forbidden = wanted.find((s) => !mayGrant(user, catalogue.get(s)!));
  if (forbidden !== undefined)
    throw new AuthError("API_KEY_SCOPE_FORBIDDEN", { message: `Cannot grant scope "${forbidden}".` });
  return wanted;
}

/** ISO 8601 with a date; a time in the past is as invalid as a malformed one (the key would be born dead). */
function checkExpiry(value: unknown, now: Date): Date | null {
  if (value === undefined || value === null) return null;
  const parsed = typeof value === "string" && /^\d{4}-\d{2}-\d{2}/.test(value) ? new Date(value) : null;
  if (!parsed || Number.isNaN(parsed.getTime()) || parsed <= now) throw new AuthError("API_KEY_EXPIRY_INVALID");
  return parsed;
}

export interface NewApiKeyInput {
  name?: unknown;
  scopes?: unknown;
  expiresAt?: unknown;
}

function mint(deps: ApiKeyDeps, userId: string, fields: Pick<ApiKeyRecord, "name" | "scopes" | "expiresAt">) {
  const token = newApiKey(deps.random);
  const record: ApiKeyRecord = {
    id: deps.random.uuid(),
    userId,
    ...fields,
    tokenHash: hashApiKey(token),
    tokenPrefix: token.slice(0, TOKEN_PREFIX_LENGTH),
    createdAt: deps.clock.now(),
    lastUsedAt: null,
    revokedAt: null,
  };
  return { token, record };
}

/** POST /api/v1/api-tokens (sensitive: the caller checked freshness). The key is returned here and never again. */
export async function createApiKey(
  deps: ApiKeyDeps,
  user: UserRecord,
  input: NewApiKeyInput,
  ctx: RequestContext,
): Promise<ApiKeyView & { token: string }> {
  const name = checkName(input.name);
  const now = deps.clock.now();
  const expiresAt = checkExpiry(input.expiresAt, now);
  const scopes = checkScopes(deps, user, input.scopes);
  const { token, record } = mint(deps, user.id, { name, scopes, expiresAt });
  await deps.apiKeys.insert(record);
  await recordEvent(deps, user, "api_key_created", ctx, { keyId: record.id, tokenPrefix: record.tokenPrefix, scopes });
  return { ...viewApiKey(record), token };
}

export async function listApiKeys(deps: Pick<ApiKeyDeps, "apiKeys">, user: UserRecord): Promise<ApiKeyView[]> {
  return (await deps.apiKeys.listForUser(user.id)).map(viewApiKey);
}

/** PATCH /api/v1/api-tokens/{id}: rename or change scopes (within the user's roles, as at creation). */
export async function updateApiKey(
  deps: ApiKeyDeps,
  user: UserRecord,
  id: string,
  input: { name?: unknown; scopes?: unknown },
  ctx: RequestContext,
): Promise<ApiKeyView> {
  const patch: ApiKeyPatch = {};
  if (input.name !== undefined) patch.name = checkName(input.name);
  if (input.scopes !== undefined) patch.scopes = checkScopes(deps, user, input.scopes);
  const updated = await deps.apiKeys.update(user.id, id, patch);
  if (!updated) throw new AuthError("API_KEY_NOT_FOUND");
  await recordEvent(deps, user, "api_key_updated", ctx, { keyId: id, ...patch });
  return viewApiKey(updated);
}

/** DELETE /api/v1/api-tokens/{id}: revoked at once on every instance (keys are never cached). */
export async function revokeApiKey(deps: ApiKeyDeps, user: UserRecord, id: string, ctx: RequestContext): Promise<void> {
  if (!(await deps.apiKeys.revoke(user.id, id, deps.clock.now()))) throw new AuthError("API_KEY_NOT_FOUND");
  await recordEvent(deps, user, "api_key_revoked", ctx, { keyId: id });
}

/**
 * POST /api/v1/api-tokens/{id}/rotate (sensitive): a new key with the same name, scopes and
 * expiry; the old one dies in the same transaction. A revoked or expired key is not rotated.
 */
export async function rotateApiKey(
  deps: ApiKeyDeps,
  user: UserRecord,
  id: string,
  ctx: RequestContext,
): Promise<ApiKeyView & { token: string }> {
  const old = await deps.apiKeys.findForUser(user.id, id);
  if (!old) throw new AuthError("API_KEY_NOT_FOUND");
  if (old.revokedAt) throw new AuthError("API_KEY_ROTATE_REVOKED");
  // The new key keeps the old one's expiry: past it, rotating would hand out a key born dead.
  if (old.expiresAt && old.expiresAt <= deps.clock.now()) throw new AuthError("API_KEY_ROTATE_EXPIRED");
  const { token, record } = mint(deps, user.id, { name: old.name, scopes: old.scopes, expiresAt: old.expiresAt });
  // A concurrent revoke or rotation won: the old key is dead, and nothing was inserted.
  if (!(await deps.apiKeys.rotate(user.id, id, record, deps.clock.now())))
    throw new AuthError("API_KEY_ROTATE_REVOKED");
  await recordEvent(deps, user, "api_key_rotated", ctx, { keyId: id, newKeyId: record.id });
  return { ...viewApiKey(record), token };
}

/** Account deletion and the admin's revoke-keys: every live key of the user dies. */
export async function revokeAllApiKeys(
  deps: Pick<ApiKeyDeps, "apiKeys" | "clock" | "events">,
  userId: string,
  reason: string,
  ctx: RequestContext,
): Promise<number> {
  const revoked = await deps.apiKeys.revokeAllForUser(userId, deps.clock.now());
  if (revoked > 0) await recordEvent(deps, { id: userId }, "api_keys_revoked", ctx, { count: revoked, reason });
  return revoked;
}
