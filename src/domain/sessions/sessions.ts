import type { Authenticated } from "./authentication.js";
import type { DomainDeps, RequestContext, TokenPair } from "../context.js";
import { AuthError, type AuthErrorCode } from "../errors.js";
import type { UserRecord } from "../accounts/ports.js";
import { sha256Hex } from "../lib/secret-box.js";
import { recordEvent } from "../security/events.js";
import { inTransaction } from "../unit-of-work.js";
import type { SessionClaims } from "./access-tokens.js";

/** An opaque refresh token: 256 random bits, base64url. Only its SHA-256 is stored. */
export const newRefreshToken = (deps: Pick<DomainDeps, "random">): string =>
  deps.random.bytes(32).toString("base64url");

/** A session just written, before its access token is signed. */
export interface OpenedSession {
  session: SessionClaims;
  refreshToken: string;
}

/** RFC 8176 references of a login with two factors: the first factor's, the second's, and `mfa`. */
export const combinedAmr = (first: string[], second: string[]): string[] => [...new Set([...first, ...second]), "mfa"];

/**
 * Writes a new session and its first refresh token, after `within`. Call it inside a transaction
 * (startSession does): it first confirms, under the user's row lock, that the password verified
 * for this login is still the user's, so a login that read the old hash before a reset committed
 * cannot leave a session behind it.
 */
export async function openSession(
  tx: Pick<DomainDeps, "clock" | "random" | "config" | "users" | "sessions">,
  user: UserRecord,
  ctx: RequestContext,
  options: {
    /** How the user proved who they are (RFC 8176): ["pwd"], ["fed"], ["pwd", "otp", "mfa"]... */
    amr: string[];
    /** Writes of the same transaction, made once the user's row is locked (the login event). */
    within?: () => Promise<void>;
    /** What a login that a password reset or change overtook is answered with. */
    refusal?: AuthErrorCode;
  },
): Promise<OpenedSession> {
  // The user's row is locked first, before `within` touches anything else: a reset locks the row
  // first too, so the two never wait on each other in opposite orders. The same write records
  // the login as the user's last connection.
  const now = tx.clock.now();
  if (!(await tx.users.confirmPasswordEpoch(user.id, user.passwordEpoch, now))) {
    throw new AuthError(options.refusal ?? "INVALID_CREDENTIALS");
  }
  await options.within?.();
  const { amr } = options;
  const sessionId = tx.random.uuid();
  const refreshToken = newRefreshToken(tx);
  const sessionEnd = now.getTime() + tx.config.SESSION_MAX_LIFETIME * 1000;
  await tx.sessions.createSession(
    {
      id: sessionId,
      userId: user.id,
      createdAt: now,
      lastUsedAt: now,
      expiresAt: new Date(sessionEnd),
      ip: ctx.ip,
      userAgent: ctx.userAgent,
      authTime: now,
      amr,
    },
    {
      tokenHash: sha256Hex(refreshToken),
      expiresAt: new Date(Math.min(sessionEnd, now.getTime() + tx.config.REFRESH_TOKEN_TTL * 1000)),
    },
  );
  return { session: { id: sessionId, authTime: now, amr }, refreshToken };
}

/** Signs the access token of a session opened (and committed) by openSession. */
export async function issueTokens(
  deps: Pick<DomainDeps, "accessTokens">,
  user: UserRecord,
  opened: OpenedSession,
): Promise<TokenPair> {
  return { accessToken: await deps.accessTokens.issue(user, opened.session), refreshToken: opened.refreshToken };
}

/**
 * Opens a session for a user whose credentials (and second factor) checked out, in one
 * transaction with `within` (spending the MFA challenge, recording the login event), and signs
 * its access token after commit.
 */
export async function startSession(
  deps: DomainDeps,
  user: UserRecord,
  ctx: RequestContext,
  options: { amr: string[]; refusal?: AuthErrorCode; within?: (tx: DomainDeps) => Promise<void> },
): Promise<TokenPair> {
  const { amr, refusal, within } = options;
  const opened = await inTransaction(deps, (tx) =>
    openSession(tx, user, ctx, { amr, refusal, within: within && (() => within(tx)) }),
  );
  return issueTokens(deps, user, opened);
}

/**
 * POST /api/auth/logout: revokes the session the token belongs to, i.e. its whole rotation
 * family. Any token the session ever had is accepted (logging out is never harmful); an unknown one is 401.
 */
export async function logout(
  deps: Pick<DomainDeps, "sessions" | "events" | "clock">,
  refreshToken: string | undefined,
  ctx: RequestContext,
): Promise<void> {
  if (!refreshToken) throw new AuthError("REFRESH_TOKEN_MISSING");
  const token = await deps.sessions.findRefreshToken(sha256Hex(refreshToken));
  if (!token) throw new AuthError("REFRESH_TOKEN_INVALID");
  if (await deps.sessions.revokeSession(token.sessionId, "logout", deps.clock.now())) {
    await recordEvent(deps, { id: token.userId }, "logout", ctx, { sessionId: token.sessionId });
  }
}

/** Signing out of the session the caller is in (a hosted page's sign-out): as logout, by session. */
export async function logoutSession(
  deps: Pick<DomainDeps, "sessions" | "events" | "clock">,
  auth: Authenticated,
  ctx: RequestContext,
): Promise<void> {
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

/** A user's live sessions: unrevoked, within their lifetime, and refreshed (or opened) within REFRESH_TOKEN_TTL. */
export async function liveSessionsOf(
  deps: Pick<DomainDeps, "sessions" | "clock" | "config">,
  userId: string,
): Promise<Array<Omit<SessionView, "current">>> {
  const now = deps.clock.now();
  const activeSince = new Date(now.getTime() - deps.config.REFRESH_TOKEN_TTL * 1000);
  const sessions = await deps.sessions.listLiveSessions(userId, now, activeSince);
  return sessions.map((s) => ({
    id: s.id,
    createdAt: s.createdAt.toISOString(),
    lastUsedAt: s.lastUsedAt.toISOString(),
    ip: s.ip,
    userAgent: s.userAgent,
  }));
}

/** GET /api/v1/me/sessions: the caller's live sessions, the one it is in marked `current`. */
export async function listSessions(deps: DomainDeps, auth: Authenticated): Promise<SessionView[]> {
  return (await liveSessionsOf(deps, auth.user.id)).map((s) => ({ ...s, current: s.id === auth.sessionId }));
}

/** DELETE /api/v1/me/sessions/{id}. Another user's session, or one already ended, is NOT_FOUND alike. */
export async function endSession(
  deps: Pick<DomainDeps, "sessions" | "events" | "clock">,
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
