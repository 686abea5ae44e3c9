import { sendNotice } from "../accounts/notices.js";
import type { DomainDeps, RequestContext } from "../context.js";
import { AuthError } from "../errors.js";
import type { UserRecord } from "../accounts/ports.js";
import { recordEvent } from "../security/events.js";
import type { Authenticated } from "../sessions/authentication.js";
import { requireRecentAuthentication } from "../sessions/step-up.js";
import { inTransaction, type Stores } from "../unit-of-work.js";
import { issueBackupCodes } from "./backup-codes/backup-codes.js";
import { hasMfa } from "./registry.js";
import { TOTP, totpEnabled } from "./totp/factor.js";

export interface MfaStatus {
  totpEnabled: boolean;
  backupCodesRemaining: number;
  passkeysCount: number;
}

export async function getMfaStatus(deps: DomainDeps, user: UserRecord): Promise<MfaStatus> {
  return {
    totpEnabled: await totpEnabled(deps, user.id),
    backupCodesRemaining: await deps.backupCodes.countUnused(user.id),
    passkeysCount: await deps.passkeys.countForUser(user.id),
  };
}

/** Turns TOTP off: the authenticator and every backup code are deleted, open challenges die. */
export async function disableTotp(
  deps: DomainDeps,
  auth: Authenticated,
  input: { password: string; revokeOtherSessions?: boolean },
  ctx: RequestContext,
): Promise<{ disabled: true }> {
  const { user } = auth;
  if (!(await totpEnabled(deps, user.id))) throw new AuthError("MFA_NOT_ENABLED");
  await requireRecentAuthentication(deps, auth, { password: input.password });
  await inTransaction(deps, async (tx) => {
    await removeSecondFactors(tx, user.id, TOTP);
    await recordEvent(tx, user, "mfa_disabled", ctx, { method: TOTP });
    await endOtherSessionsIfAsked(tx, auth, input.revokeOtherSessions, "mfa_disabled");
  });
  sendNotice(deps, user, "mfa_disabled", ctx);
  return { disabled: true };
}

/** A new set of 10 codes; the old ones stop working in the same transaction. */
export async function regenerateBackupCodes(
  deps: DomainDeps,
  auth: Authenticated,
  password: string,
  ctx: RequestContext,
): Promise<{ backupCodes: string[] }> {
  const { user } = auth;
  if (!(await hasMfa(deps, user))) throw new AuthError("MFA_NOT_ENABLED");
  await requireRecentAuthentication(deps, auth, { password });
  const backupCodes = await inTransaction(deps, async (tx) => {
    const codes = await issueBackupCodes(tx, user.id);
    await recordEvent(tx, user, "backup_codes_regenerated", ctx);
    return codes;
  });
  return { backupCodes };
}

/**
 * Admin recovery (`warden user mfa-reset`) for a user who lost every factor: every factor, code
 * and open challenge gone. Sessions stay; the admin can deactivate if the account is suspect.
 */
export async function resetMfa(deps: DomainDeps, user: UserRecord, ctx: RequestContext): Promise<void> {
  await inTransaction(deps, async (tx) => {
    await removeSecondFactors(tx, user.id);
    await tx.passkeys.deleteAllForUser(user.id);
    await recordEvent(tx, user, "mfa_reset", ctx);
  });
}

/** Deletes the user's factors of `type` (every factor without one), every backup code, and open challenges. */
export async function removeSecondFactors(
  tx: Pick<Stores, "factors" | "backupCodes" | "mfaChallenges"> & Pick<DomainDeps, "clock">,
  userId: string,
  type?: string,
): Promise<void> {
  await tx.factors.removeAll(userId, type);
  await tx.backupCodes.deleteAll(userId);
  await tx.mfaChallenges.revokeForUser(userId, tx.clock.now());
}

/** After a change to the second factor, the user may end every other session with it. */
export async function endOtherSessionsIfAsked(
  deps: Pick<DomainDeps, "sessions" | "clock">,
  auth: Authenticated,
  asked: boolean | undefined,
  reason: string,
): Promise<void> {
  if (asked) await deps.sessions.revokeUserSessions(auth.user.id, reason, deps.clock.now(), auth.sessionId);
}
