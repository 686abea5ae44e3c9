import type { AccessClaims } from "./access-tokens.js";
import type { DomainDeps } from "../context.js";
import { AuthError } from "../errors.js";
import type { UserRecord } from "../accounts/ports.js";
import type { SessionRecord } from "./ports.js";

export interface Authenticated {
  claims: AccessClaims;
  user: UserRecord;
  sessionId: string;
  /** The session the token belongs to, as stored: when and how its user authenticated. */
  session: SessionRecord;
}

/**
 * Bearer authentication for Warden's own endpoints. Beyond the signature, the session and the
 * user are checked on every request, so a revoked session (401) or a deactivated user (403) is
 * refused at once on the instance that made the change and within AUTH_CACHE_MS (a second) on
 * every other, not when the token expires (the read is remembered that long: deps.recent).
 */
export async function authenticate(deps: DomainDeps, authorization: string | undefined): Promise<Authenticated> {
  const match = authorization ? /^Bearer\s+(\S+)\s*$/i.exec(authorization) : null;
  if (!match) throw new AuthError("JWT_NOT_FOUND");
  const claims = await deps.accessTokens.verify(match[1]!);
  const found = await deps.recent.remember(`session:${claims.sid}`, () =>
    deps.sessions.findSessionWithUser(claims.sid),
  );
  if (!found || found.user.id !== claims.sub) throw new AuthError("JWT_INVALID");
  const { session, user } = found;
  if (user.deactivatedAt || user.deletedAt) throw new AuthError("ACCOUNT_INACTIVE");
  if (session.revokedAt || session.expiresAt <= deps.clock.now()) throw new AuthError("JWT_INVALID");
  return { claims, user, sessionId: session.id, session };
}
