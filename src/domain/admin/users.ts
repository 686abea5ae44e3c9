import { activateUser, confirmUserEmail, deactivateUser, deleteUserAccount } from "../accounts/lifecycle.js";
import { getProfile, type ProfileView } from "../accounts/profile.js";
import { endSessionsAndLogins } from "../sessions/revocation.js";
import { revokeAllApiKeys } from "../api-keys/management.js";
import { AuthError } from "../errors.js";
import { resetMfa } from "../factors/management.js";
import type { UserRecord } from "../accounts/ports.js";
import { liveSessionsOf, type SessionView } from "../sessions/sessions.js";
import type { Actor, AdminDeps } from "./context.js";
import type { UserStatus } from "./ports.js";

export const USERS_PAGE_DEFAULT = 50;
export const USERS_PAGE_MAX = 200;

export type AdminUserView = ProfileView & {
  status: UserStatus;
  emailConfirmedAt: string | null;
  deactivatedAt: string | null;
  deletedAt: string | null;
};

export function statusOf(user: UserRecord): UserStatus {
  if (user.deletedAt) return "deleted";
  if (user.deactivatedAt) return "inactive";
  if (!user.emailConfirmedAt) return "unconfirmed";
  return "active";
}

/** What an operator sees of a user: the profile (two-factor read from the factors) and the account's state. */
export const viewAdminUser = async (deps: AdminDeps, user: UserRecord): Promise<AdminUserView> => ({
  ...(await getProfile(deps, user)),
  status: statusOf(user),
  emailConfirmedAt: user.emailConfirmedAt?.toISOString() ?? null,
  deactivatedAt: user.deactivatedAt?.toISOString() ?? null,
  deletedAt: user.deletedAt?.toISOString() ?? null,
});

/**
 * Every admin action is a security event naming the actor: on the target user's record when
 * there is one (so the user's own log shows it), else unattached.
 */
export async function recordAdminAction(
  deps: Pick<AdminDeps, "events" | "clock">,
  actor: Actor,
  action: string,
  targetUserId: string | null,
  detail: Record<string, unknown> = {},
): Promise<void> {
  await deps.events.record(
    {
      userId: targetUserId,
      type: `admin_${action}`,
      ip: actor.ip,
      userAgent: actor.userAgent,
      detail: { ...detail, actorId: actor.id, actorEmail: actor.email },
    },
    deps.clock.now(),
  );
}

const ctxOf = (actor: Actor) => ({ ip: actor.ip, userAgent: actor.userAgent });

/** A cursor is the last email of the previous page, base64url: opaque to clients. */
const encodeUserCursor = (email: string) => Buffer.from(email).toString("base64url");
function decodeUserCursor(cursor: string): string {
  const email = Buffer.from(cursor, "base64url").toString("utf8");
  if (!email || email.length > 320)
    throw new AuthError("VALIDATION_FAILED", { errors: { cursor: ["This value is not a valid cursor."] } });
  return email;
}

export async function searchUsers(
  deps: AdminDeps,
  actor: Actor,
  query: { email?: string; status?: UserStatus; limit?: number; cursor?: string },
): Promise<{ data: AdminUserView[]; next: string | null }> {
  const limit = Math.min(Math.max(query.limit ?? USERS_PAGE_DEFAULT, 1), USERS_PAGE_MAX);
  const rows = await deps.userDirectory.search({
    emailPrefix: query.email?.trim().toLowerCase() || undefined,
    status: query.status,
    afterEmail: query.cursor ? decodeUserCursor(query.cursor) : undefined,
    limit: limit + 1,
  });
  await recordAdminAction(deps, actor, "users_searched", null, { email: query.email, status: query.status });
  const page = rows.slice(0, limit);
  return {
    data: await Promise.all(page.map((user) => viewAdminUser(deps, user))),
    next: rows.length > limit ? encodeUserCursor(page.at(-1)!.email) : null,
  };
}

async function target(deps: AdminDeps, userId: string, options: { deleted?: boolean } = {}): Promise<UserRecord> {
  const user = await deps.users.findById(userId);
  if (!user || (user.deletedAt && !options.deleted)) throw new AuthError("USER_NOT_FOUND");
  return user;
}

/** The user ids arrive from the URL: anything but a user that exists is USER_NOT_FOUND. */
export async function showUser(deps: AdminDeps, actor: Actor, userId: string): Promise<AdminUserView> {
  const user = await target(deps, userId, { deleted: true });
  await recordAdminAction(deps, actor, "user_viewed", user.id);
  return viewAdminUser(deps, user);
}

export async function findUserByEmail(deps: AdminDeps, email: string): Promise<UserRecord> {
  const user = await deps.users.findByEmail(email.trim().toLowerCase());
  if (!user || user.deletedAt) throw new AuthError("USER_NOT_FOUND");
  return user;
}

export type UserAction = "deactivate" | "activate" | "confirm" | "mfa-reset";

/** The CLI's powers over one user, as the admin API and the CLI both use them. */
export async function actOnUser(
  deps: AdminDeps,
  actor: Actor,
  userId: string,
  action: UserAction,
): Promise<AdminUserView> {
  const user = await target(deps, userId);
  const ctx = ctxOf(actor);
  if (action === "deactivate") await deactivateUser(deps, user, ctx);
  if (action === "activate") await activateUser(deps, user, ctx);
  if (action === "confirm") await confirmUserEmail(deps, user, ctx);
  if (action === "mfa-reset") await resetMfa(deps, user, ctx);
  await recordAdminAction(deps, actor, action.replace("-", "_"), user.id);
  return viewAdminUser(deps, (await deps.users.findById(user.id))!);
}

export async function revokeUserSessions(deps: AdminDeps, actor: Actor, userId: string): Promise<{ revoked: number }> {
  const user = await target(deps, userId);
  const revoked = await endSessionsAndLogins(deps, user.id, "revoked_by_admin", deps.clock.now());
  await recordAdminAction(deps, actor, "sessions_revoked", user.id, { count: revoked });
  return { revoked };
}

export async function revokeUserKeys(deps: AdminDeps, actor: Actor, userId: string): Promise<{ revoked: number }> {
  const user = await target(deps, userId);
  const revoked = await revokeAllApiKeys(deps, user.id, "revoked_by_admin", ctxOf(actor));
  await recordAdminAction(deps, actor, "api_keys_revoked", user.id, { count: revoked });
  return { revoked };
}

/** Deletes the account as the user's own deletion does (accounts/lifecycle.ts deleteUserAccount), and ends its API keys. */
export async function deleteUser(deps: AdminDeps, actor: Actor, userId: string): Promise<void> {
  const user = await target(deps, userId);
  await deleteUserAccount(deps, user, ctxOf(actor));
  await revokeAllApiKeys(deps, user.id, "account_deleted", ctxOf(actor));
  await recordAdminAction(deps, actor, "user_deleted", user.id, { email: user.email });
}

export async function listUserSessions(
  deps: AdminDeps,
  actor: Actor,
  userId: string,
): Promise<Array<Omit<SessionView, "current">>> {
  const user = await target(deps, userId, { deleted: true });
  const sessions = await liveSessionsOf(deps, user.id);
  await recordAdminAction(deps, actor, "sessions_viewed", user.id);
  return sessions;
}
