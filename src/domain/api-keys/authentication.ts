import { AuthError } from "../errors.js";
import type { UserRecord } from "../accounts/ports.js";
import type { ApiKeyDeps } from "./context.js";
import { hashApiKey, isWellFormedApiKey } from "./format.js";
import type { ApiKeyRecord } from "./ports.js";

/** lastUsedAt has minute resolution: at most one write per key per minute, however busy the key. */
export const LAST_USED_RESOLUTION_MS = 60_000;

const invalid = () => new AuthError("API_KEY_INVALID");

/**
 * The key and its user when the key is well formed, known, unrevoked, unexpired and its user not
 * deleted; null otherwise. A malformed key (bad shape or checksum) is refused before any lookup.
 * A revocation holds at once on the instance that made it, within AUTH_CACHE_MS on every other
 * (the read is remembered that long: deps.recent).
 */
async function resolveKey(deps: ApiKeyDeps, token: string): Promise<{ key: ApiKeyRecord; user: UserRecord } | null> {
  if (!isWellFormedApiKey(token)) return null;
  const tokenHash = hashApiKey(token);
  const found = await deps.recent.remember(`api-key:${tokenHash}`, () => deps.apiKeys.findWithOwner(tokenHash));
  if (!found) return null;
  const { key, user } = found;
  if (key.revokedAt || (key.expiresAt && key.expiresAt <= deps.clock.now()) || user.deletedAt) return null;
  return found;
}

async function touch(deps: ApiKeyDeps, key: ApiKeyRecord): Promise<void> {
  const now = deps.clock.now();
  const staleBefore = new Date(now.getTime() - LAST_USED_RESOLUTION_MS);
  // Decided on the row just read, so a busy key costs no write at all between minutes.
  if (key.lastUsedAt === null || key.lastUsedAt < staleBefore)
    await deps.apiKeys.touchLastUsed(key.id, now, staleBefore);
}

export interface ApiKeyAuthenticated {
  key: ApiKeyRecord;
  user: UserRecord;
}

/**
 * An API key on Warden's own GET /api/v1/me. Counts against the key's own limit
 * (API_KEY_RATE_LIMIT, in the shared counters, so it holds across instances). A key of a
 * deactivated user is not dead (reactivation revives it) but is refused meanwhile.
 */
export async function authenticateApiKey(deps: ApiKeyDeps, token: string): Promise<ApiKeyAuthenticated> {
  const found = await resolveKey(deps, token);
  if (!found) throw invalid();
  if (found.user.deactivatedAt) throw new AuthError("ACCOUNT_INACTIVE");
  const decision = await deps.limiter.hit("api-key", deps.config.API_KEY_RATE_LIMIT, found.key.id);
  if (!decision.allowed) throw new AuthError("RATE_LIMITED", { retryAfterSeconds: decision.retryAfterSeconds });
  await touch(deps, found.key);
  return found;
}

/** RFC 7662 answer for an API key. */
export type Introspection =
  | {
      active: true;
      token_type: "api_key";
      sub: string;
      username: string;
      scope: string;
      iat: number;
      exp?: number;
      client_id: string;
    }
  | { active: false };

const seconds = (date: Date) => Math.floor(date.getTime() / 1000);

/**
 * POST /api/auth/introspect, for resource servers holding a key. Anything but a live key of an
 * active user is `{active: false}` (RFC 7662 2.2: say nothing more about why).
 */
export async function introspectApiKey(deps: ApiKeyDeps, token: string): Promise<Introspection> {
  const found = await resolveKey(deps, token);
  if (!found || found.user.deactivatedAt) return { active: false };
  await touch(deps, found.key);
  const { key, user } = found;
  return {
    active: true,
    token_type: "api_key",
    sub: user.id,
    username: user.email,
    scope: key.scopes.join(" "),
    iat: seconds(key.createdAt),
    ...(key.expiresAt ? { exp: seconds(key.expiresAt) } : {}),
    client_id: key.id,
  };
}
