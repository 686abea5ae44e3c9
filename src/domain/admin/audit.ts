import { AuthError } from "../errors.js";
import { decodeCursor, encodeCursor } from "../security/events.js";
import type { Actor, AdminDeps } from "./context.js";
import { recordAdminAction } from "./users.js";

export const AUDIT_PAGE_MAX = 200;

export interface AuditEventView {
  id: string;
  userId: string | null;
  type: string;
  createdAt: string;
  ip: string | null;
  userAgent: string | null;
  detail: Record<string, unknown> | null;
}

/** GET /api/admin/security-events: across users, newest first, filtered; `before` pages to older events. */
export async function searchEvents(
  deps: AdminDeps,
  actor: Actor,
  query: { userId?: string; type?: string; since?: string; limit?: number; before?: string },
): Promise<{ data: AuditEventView[]; next: string | null }> {
  let since: Date | undefined;
  if (query.since) {
    since = new Date(query.since);
    if (Number.isNaN(since.getTime()))
      throw new AuthError("VALIDATION_FAILED", { errors: { since: ["This value is not a valid date."] } });
  }
  const limit = Math.min(Math.max(query.limit ?? 50, 1), AUDIT_PAGE_MAX);
  const rows = await deps.eventSearch.search({
    userId: query.userId,
    type: query.type,
    since,
    before: query.before ? decodeCursor(query.before) : undefined,
    limit: limit + 1,
  });
  await recordAdminAction(deps, actor, "security_events_viewed", null, { filter: { ...query } });
  const page = rows.slice(0, limit);
  return {
    data: page.map((e) => ({
      id: e.id,
      userId: e.userId,
      type: e.type,
      createdAt: e.createdAt.toISOString(),
      ip: e.ip,
      userAgent: e.userAgent,
      detail: e.detail ?? null,
    })),
    next: rows.length > limit ? encodeCursor(page.at(-1)!) : null,
  };
}

/** Signing keys through the admin API: the same powers as `warden keys list|rotate|revoke`. */
export function listSigningKeys(deps: Pick<AdminDeps, "keys">) {
  return deps.keys.list().map((k) => ({
    kid: k.kid,
    status: k.status,
    createdAt: k.createdAt.toISOString(),
    retiredAt: k.retiredAt?.toISOString() ?? null,
    revokedAt: k.revokedAt?.toISOString() ?? null,
    signing: k.signing,
    published: k.published,
  }));
}

export async function rotateSigningKey(deps: AdminDeps, actor: Actor): Promise<{ kid: string }> {
  const kid = await deps.keys.rotate();
  await recordAdminAction(deps, actor, "signing_key_rotated", null, { kid });
  return { kid };
}

/**
 * A leaked key: out of the JWKS and verification here at once, on every instance within a second
 * (KEY_RELOAD_MS); revoking the signer puts a new one in its place. An unknown kid is NOT_FOUND.
 */
export async function revokeSigningKey(
  deps: AdminDeps,
  actor: Actor,
  kid: string,
): Promise<{ kid: string; alreadyRevoked: boolean; newSigner: string | null }> {
  const result = await deps.keys.revoke(kid);
  if (!result.alreadyRevoked)
    await recordAdminAction(deps, actor, "signing_key_revoked", null, { kid, newSigner: result.newSigner });
  return result;
}
