/** What the API-key module needs from storage. Implemented in storage/api-keys.ts. */
import type { UserRecord } from "../accounts/ports.js";

export interface ApiKeyRecord {
  id: string;
  userId: string;
  name: string;
  /** SHA-256 of the whole key, hex. The key itself is never stored. */
  tokenHash: string;
  /** The first 12 characters (`af_` + 9 hex), shown so a user can tell keys apart. */
  tokenPrefix: string;
  scopes: string[];
  createdAt: Date;
  expiresAt: Date | null;
  /** Written at most once a minute (see LAST_USED_RESOLUTION_MS). */
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

export interface ApiKeyPatch {
  name?: string;
  scopes?: string[];
}

export interface ApiKeyStore {
  insert(key: ApiKeyRecord): Promise<void>;
  /**
   * The key with this hash (revoked or not) and its user, in one read: the request path of every
   * API key and introspection. Null when there is no such key. Remembered for at most
   * AUTH_CACHE_MS per process (deps.recent), so a revocation holds at once on the instance that
   * made it and within AUTH_CACHE_MS on every other.
   */
  findWithOwner(tokenHash: string): Promise<{ key: ApiKeyRecord; user: UserRecord } | null>;
  /** The user's key `id`; null when it does not exist or belongs to someone else. */
  findForUser(userId: string, id: string): Promise<ApiKeyRecord | null>;
  /** Every key of the user, revoked ones too, newest first. */
  listForUser(userId: string): Promise<ApiKeyRecord[]>;
  /** Applies `patch` to the user's key; null when there is no such key. */
  update(userId: string, id: string, patch: ApiKeyPatch): Promise<ApiKeyRecord | null>;
  /** Revokes the user's key if it is still live, in one conditional write; false otherwise. */
  revoke(userId: string, id: string, now: Date): Promise<boolean>;
  /**
   * Revokes the user's key `id` and inserts `successor`, in one transaction. The revocation is
   * conditional (only a live key), so of two concurrent rotations exactly one wins; the loser
   * inserts nothing and gets false.
   */
  rotate(userId: string, id: string, successor: ApiKeyRecord, now: Date): Promise<boolean>;
  /** Revokes every live key of the user; returns how many. */
  revokeAllForUser(userId: string, now: Date): Promise<number>;
  /** Sets last_used_at to `now` only when it is null or older than `staleBefore` (one write per interval, whatever the instance count). */
  touchLastUsed(id: string, now: Date, staleBefore: Date): Promise<void>;
}

/** One entry of API_KEY_SCOPES_FILE. */
export interface ScopeDefinition {
  value: string;
  label: string;
  category: string;
  /** Only a user holding one of these roles may grant the scope; absent: everyone may. */
  roles?: string[];
}
