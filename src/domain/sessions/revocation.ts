import type { Stores } from "../unit-of-work.js";

/**
 * Ends every session of the user (except `exceptSessionId`, the caller's own when it stays) and
 * every login still waiting for its second factor: a password reset or change, deactivation and
 * deletion all do exactly this. Run it in the use case's transaction, after the write that
 * changes the user's row, so a login racing it is ordered before (and revoked here) or after
 * (and refused by confirmPasswordEpoch or the user's state).
 */
export async function endSessionsAndLogins(
  deps: Pick<Stores, "sessions" | "mfaChallenges">,
  userId: string,
  reason: string,
  now: Date,
  exceptSessionId?: string,
): Promise<number> {
  const revoked = await deps.sessions.revokeUserSessions(userId, reason, now, exceptSessionId);
  await deps.mfaChallenges.revokeForUser(userId, now);
  return revoked;
}
