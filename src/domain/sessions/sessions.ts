import type { Authenticated } from "./authentication.js";
import type { DomainDeps, RequestContext, TokenPair } from "../context.js";
import { AuthError } from "../errors.js";
import type { UserRecord } from "../ports.js";
import { sha256Hex } from "../lib/secret-box.js";
import { recordEvent } from "../security/events.js";

/** An opaque refresh token: 256 random bits, base64url. Only its SHA-256 is stored. */
export const newRefreshToken = (deps: Pick<DomainDeps, "random">): string =>
  deps.random.bytes(32).toString("base64url");

/** Opens a session for a user whose credentials (and second factor) checked out. */
export async function startSession(deps: DomainDeps, user: UserRecord, ctx: RequestContext): Promise<TokenPair> {
  const now = deps.clock.now();
  const sessionId = deps.random.uuid();
  const refreshToken = newRefreshToken(deps);
  const sessionEnd = now.getTime() + deps.config.SESSION_MAX_LIFETIME * 1000;
  await deps.sessions.createSession(
    {
      id: sessionId,
      userId: user.id,
      createdAt: now,
      lastUsedAt: now,
      expiresAt: new Date(sessionEnd),
      ip: ctx.ip,
      userAgent: ctx.userAgent,
    },
    {
      tokenHash: sha256Hex(refreshToken),
      expiresAt: new Date(Math.min(sessionEnd, now.getTime() + deps.config.REFRESH_TOKEN_TTL * 1000)),
    },
  );
  await deps.users.touchLastConnected(user.id, now);
  const token = await deps.accessTokens.issue(user, sessionId);
  return { token, refresh_token: refreshToken };
}

/**
 * POST /api/auth/logout: revokes the session the token belongs to, i.e. its whole rotation
 * family. Any token the session ever had is accepted (logging out is never harmful); an unknown one is 401.
 */
export async function logout(deps: DomainDeps, refreshToken: string | undefined, ctx: RequestContext): Promise<void> {
  if (!refreshToken) throw new AuthError("REFRESH_TOKEN_MISSING");
  const token = await deps.sessions.findRefreshToken(sha256Hex(refreshToken));
  if (!token) throw new AuthError("REFRESH_TOKEN_INVALID");
  if (await deps.sessions.revokeSession(token.sessionId, "logout", deps.clock.now())) {
    await recordEvent(deps, { id: token.userId }, "logout", ctx, { sessionId: token.sessionId });
  }
}

/** Signing out of the session the caller is in (a hosted page's sign-out): as logout, by session. */
export async function logoutSession(deps: DomainDeps, auth: Authenticated, ctx: RequestContext): Promise<void> {
  if (await deps.sessions.revokeSession(auth.sessionId, "logout", deps.clock.now())) {
    await recordEvent(deps, auth.user, "logout", ctx, { sessionId: auth.sessionId });
  }
}

export interface SessionView {
  id: string;
  createdAt: string;
  lastUsedAt: string;
  ip: string | null;
  userAgent: string | null;
  current: boolean;
}

/** The user's live sessions: unrevoked, within their lifetime, and refreshed (or opened) within REFRESH_TOKEN_TTL. */
export async function listSessions(deps: DomainDeps, auth: Authenticated): Promise<SessionView[]> {
  const now = deps.clock.now();
  const activeSince = new Date(now.getTime() - deps.config.REFRESH_TOKEN_TTL * 1000);
  const sessions = await deps.sessions.listLiveSessions(auth.user.id, now, activeSince);
  return sessions.map((s) => ({
    id: s.id,
    createdAt: s.createdAt.toISOString(),
    lastUsedAt: s.lastUsedAt.toISOString(),
    ip: s.ip,
    userAgent: s.userAgent,
    current: s.id === auth.sessionId,
  }));
}

/** DELETE /api/v1/me/sessions/{id}. Another user's session, or one already ended, is NOT_FOUND alike. */
export async function endSession(
  deps: DomainDeps,
  auth: Authenticated,
  sessionId: string,
  ctx: RequestContext,
): Promise<void> {
  const session = await deps.sessions.findSession(sessionId);
  if (!session || session.userId !== auth.user.id) throw new AuthError("NOT_FOUND");
  if (!(await deps.sessions.revokeSession(session.id, "revoked_by_user", deps.clock.now())))
    throw new AuthError("NOT_FOUND");
  await recordEvent(deps, auth.user, "session_revoked", ctx, { sessionId: session.id, reason: "revoked_by_user" });
}
