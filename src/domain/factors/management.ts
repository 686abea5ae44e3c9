import type { Authenticated } from "../sessions/authentication.js";
import type { DomainDeps, RequestContext } from "../context.js";
import { issueBackupCodes } from "./backup-codes/backup-codes.js";
import { AuthError } from "../errors.js";
import type { UserRecord } from "../ports.js";
import { confirmPassword } from "./password/reauthentication.js";
import { sendNotice } from "../accounts/notices.js";
import { recordEvent } from "../security/events.js";
import { acceptTotpCode, buildOtpauthUri, newTotpSecret, renderQrCode, TOTP_SECRET_PURPOSE } from "./totp/totp.js";

export interface TotpSetup {
  secret: string;
  qrCode: string;
  otpauthUri: string;
}

export interface MfaStatus {
  totpEnabled: boolean;
  backupCodesRemaining: number;
  passkeysCount: number;
}

export async function getMfaStatus(deps: DomainDeps, user: UserRecord): Promise<MfaStatus> {
  return {
    totpEnabled: user.totpEnabledAt !== null,
    backupCodesRemaining: await deps.backupCodes.countUnused(user.id),
    passkeysCount: await deps.passkeys.countForUser(user.id),
  };
}

/**
 * Starts enrolment: a new secret waits, encrypted, as the pending one until a code proves the
 * authenticator holds it. A second setup before that simply replaces it.
 */
export async function setupTotp(deps: DomainDeps, user: UserRecord): Promise<TotpSetup> {
  if (user.totpEnabledAt) throw new AuthError("MFA_ALREADY_ENABLED");
  const secret = newTotpSecret(deps.random);
  await deps.users.setTotpPendingSecret(user.id, deps.box.encrypt(TOTP_SECRET_PURPOSE, secret), deps.clock.now());
  const otpauthUri = buildOtpauthUri(deps.config.MFA_ISSUER, user.email, secret);
  return { secret, otpauthUri, qrCode: await renderQrCode(otpauthUri) };
}

/**
 * Confirms enrolment with a code from the authenticator. The code's time step is recorded as
 * accepted, so the same code cannot then be replayed at a login.
 */
export async function enableTotp(
  deps: DomainDeps,
  auth: Authenticated,
  input: { code: string; revokeOtherSessions?: boolean },
  ctx: RequestContext,
): Promise<{ enabled: true; backupCodes: string[] }> {
  const { user } = auth;
  if (user.totpEnabledAt) throw new AuthError("MFA_ALREADY_ENABLED");
  if (!input.code.trim()) throw new AuthError("MFA_CODE_MISSING");
  const pending = user.totpPendingSecretEnc;
  if (!pending) throw new AuthError("MFA_SETUP_MISSING");
  if (!(await acceptTotpCode(deps, user.id, pending, input.code))) throw new AuthError("MFA_ENABLE_CODE_INVALID");
  // Conditional on the very secret the code was checked against: a setup racing this one loses.
  if (!(await deps.users.enableTotp(user.id, pending, deps.clock.now()))) throw new AuthError("MFA_ALREADY_ENABLED");
  const backupCodes = await issueBackupCodes(deps, user.id);
  await recordEvent(deps, user, "mfa_enabled", ctx, { method: "totp" });
  sendNotice(deps, user, "mfa_enabled", ctx);
  await endOtherSessionsIfAsked(deps, auth, input.revokeOtherSessions, "mfa_enabled");
  return { enabled: true, backupCodes };
}

/** Turns TOTP off: the secret and every backup code are deleted, open challenges die. */
export async function disableTotp(
  deps: DomainDeps,
  auth: Authenticated,
  input: { password: string; revokeOtherSessions?: boolean },
  ctx: RequestContext,
): Promise<{ disabled: true }> {
  const { user } = auth;
  if (!user.totpEnabledAt) throw new AuthError("MFA_NOT_ENABLED");
  await confirmPassword(deps, user, input.password, "password");
  await removeSecondFactors(deps, user.id);
  await recordEvent(deps, user, "mfa_disabled", ctx, { method: "totp" });
  sendNotice(deps, user, "mfa_disabled", ctx);
  await endOtherSessionsIfAsked(deps, auth, input.revokeOtherSessions, "mfa_disabled");
  return { disabled: true };
}

/** A new set of 10 codes; the old ones stop working in the same transaction. */
export async function regenerateBackupCodes(
  deps: DomainDeps,
  user: UserRecord,
  password: string,
  ctx: RequestContext,
): Promise<{ backupCodes: string[] }> {
  if (!user.totpEnabledAt) throw new AuthError("MFA_NOT_ENABLED");
  await confirmPassword(deps, user, password, "password");
  const backupCodes = await issueBackupCodes(deps, user.id);
  await recordEvent(deps, user, "backup_codes_regenerated", ctx);
  return { backupCodes };
}

/**
 * Admin recovery (`warden user mfa-reset`) for a user who lost every factor: TOTP off, codes
 * and open challenges gone. Sessions stay; the admin can deactivate if the account is suspect.
 */
export async function resetMfa(deps: DomainDeps, user: UserRecord, ctx: RequestContext): Promise<void> {
  await removeSecondFactors(deps, user.id);
  await deps.passkeys.deleteAllForUser(user.id);
  await recordEvent(deps, user, "mfa_reset", ctx);
}

async function removeSecondFactors(deps: DomainDeps, userId: string): Promise<void> {
  const now = deps.clock.now();
  await deps.users.disableTotp(userId, now);
  await deps.backupCodes.deleteAll(userId);
  await deps.mfaChallenges.revokeForUser(userId, now);
}

/** A logged-in user re-proves who they are before weakening or reissuing their second factor. */
async function endOtherSessionsIfAsked(
  deps: DomainDeps,
  auth: Authenticated,
  asked: boolean | undefined,
  reason: string,
): Promise<void> {
  if (asked) await deps.sessions.revokeUserSessions(auth.user.id, reason, deps.clock.now(), auth.sessionId);
}
