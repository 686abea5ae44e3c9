import crypto from "node:crypto";
import type { DomainDeps, RequestContext, TokenPair } from "../context.js";
import { AuthError } from "../errors.js";
import type { UserRecord } from "../accounts/ports.js";
import type { RefreshTokenRecord, SessionRecord } from "./ports.js";
import { openWithKey, sealWithKey, sha256Hex } from "../lib/secret-box.js";
import { sendNotice } from "../accounts/notices.js";
import { recordEvent } from "../security/events.js";
import { newRefreshToken } from "./sessions.js";

const SUCCESSOR_PURPOSE = "refresh-successor";

/** What refreshing a session uses. */
type RefreshDeps = Pick<DomainDeps, "sessions" | "events" | "clock" | "random" | "config" | "accessTokens" | "mailer">;

/**
 * The grace-window copy of a successor is sealed under a key derived from the spent token, not
 * from the master secret: only whoever presents the spent token can open it, and a leaked
 * database (which holds only hashes of tokens) reveals no live token.
 */
const successorKey = (spentToken: string): Buffer =>
  Buffer.from(crypto.hkdfSync("sha256", spentToken, "warden", SUCCESSOR_PURPOSE, 32));

/**
 * POST /api/auth/token/refresh. States of a refresh token: live -> spent (rotated once, by the
 * one caller whose conditional write won) -> within REFRESH_REUSE_GRACE a repeat gets the same
 * successor again; after it, a repeat is theft: the whole session is revoked.
 */
export async function refreshSession(
  deps: RefreshDeps,
  refreshToken: string | undefined,
  ctx: RequestContext,
): Promise<TokenPair> {
  if (!refreshToken) throw new AuthError("REFRESH_TOKEN_MISSING");
  const now = deps.clock.now();
  const successor = newRefreshToken(deps);
  const result = await deps.sessions.rotateRefreshToken(
    sha256Hex(refreshToken),
    {
      tokenHash: sha256Hex(successor),
      // Sliding: each rotation grants a full TTL from now (the store caps it at the session's end).
      expiresAt: new Date(now.getTime() + deps.config.REFRESH_TOKEN_TTL * 1000),
      successorEnc: sealWithKey(successorKey(refreshToken), SUCCESSOR_PURPOSE, successor),
    },
    now,
  );
  const { token, session, user } = result;
  if (!token || !session || !user) throw new AuthError("REFRESH_TOKEN_INVALID");
  if (user.deactivatedAt || user.deletedAt) {
    // The account is gone: so is this session, even if nothing revoked it yet.
    if (await deps.sessions.revokeSession(session.id, "account_inactive", now)) {
      await recordEvent(deps, { id: token.userId }, "session_revoked", ctx, {
        sessionId: session.id,
        reason: "account_inactive",
      });
    }
    throw new AuthError("ACCOUNT_INACTIVE");
  }
  // The new access token carries the session's own authentication: refreshing proves nothing new.
  if (result.rotated) return { accessToken: await deps.accessTokens.issue(user, session), refreshToken: successor };
  if (session.revokedAt) throw new AuthError("REFRESH_TOKEN_INVALID");
  if (token.usedAt) return replaySpentToken(deps, refreshToken, token, session, user, ctx);
  // Unspent, session unrevoked, and still not rotated: the token or the session has run out.
  throw new AuthError("REFRESH_TOKEN_EXPIRED");
}

async function replaySpentToken(
  deps: RefreshDeps,
  refreshToken: string,
  token: RefreshTokenRecord,
  session: SessionRecord,
  user: UserRecord,
  ctx: RequestContext,
): Promise<TokenPair> {
  const now = deps.clock.now();
  const graceMs = deps.config.REFRESH_REUSE_GRACE * 1000;
  const withinGrace = graceMs > 0 && now.getTime() - token.usedAt!.getTime() <= graceMs && session.expiresAt > now;
  if (withinGrace && token.successorEnc) {
    // A client that raced itself (two tabs, a retried request) converges on the one successor.
    const successor = openWithKey(successorKey(refreshToken), SUCCESSOR_PURPOSE, token.successorEnc);
    await recordEvent(deps, user, "refresh_token_grace_replay", ctx, { sessionId: session.id });
    return { accessToken: await deps.accessTokens.issue(user, session), refreshToken: successor };
  }
  // A spent token after the window: someone holds a copy. Kill the family, successor included.
  const isFirstDetection = await deps.sessions.revokeSession(session.id, "refresh_token_reuse", now);
  await recordEvent(deps, user, "refresh_token_reuse_detected", ctx, { sessionId: session.id });
  // One mail per stolen family, however often the copy is replayed afterwards.
  if (isFirstDetection) sendNotice(deps, user, "refresh_token_reuse", ctx);
  throw new AuthError("REFRESH_TOKEN_INVALID");
}
