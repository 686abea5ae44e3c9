import type { DomainDeps, RequestContext, TokenPair } from "./context.js";
import type { UserRecord } from "./ports.js";
import { sha256Hex } from "./secret-box.js";

/** An opaque refresh token: 256 random bits, base64url. Only its SHA-256 is stored. */
export const newRefreshToken = (deps: Pick<DomainDeps, "random">): string => deps.random.bytes(32).toString("base64url");

/** Opens a session for a user whose credentials (and second factor) checked out. */
export async function startSession(deps: DomainDeps, user: UserRecord, ctx: RequestContext): Promise<TokenPair> {
  const now = deps.clock.now();
  const sessionId = deps.random.uuid();
  const refreshToken = newRefreshToken(deps);
  const sessionEnd = now.getTime() + deps.config.SESSION_MAX_LIFETIME * 1000;
  await deps.sessions.createSession(
    { id: sessionId, userId: user.id, createdAt: now, lastUsedAt: now, expiresAt: new Date(sessionEnd), ip: ctx.ip, userAgent: ctx.userAgent },
    {
      tokenHash: sha256Hex(refreshToken),
      expiresAt: new Date(Math.min(sessionEnd, now.getTime() + deps.config.REFRESH_TOKEN_TTL * 1000)),
    },
  );
  await deps.users.touchLastConnected(user.id, now);
  const token = await deps.accessTokens.issue(user, sessionId);
  return { token, refresh_token: refreshToken };
}
