import type { DomainDeps, RequestContext } from "../context.js";
import type { UserRecord } from "../ports.js";
import { sha256Hex } from "../lib/secret-box.js";
import { isEmailOtpAvailable } from "./email-otp/email-otp.js";

export type MfaMethod = "totp" | "backup_code" | "email_otp";

export interface MfaChallengeResponse {
  mfa_required: true;
  mfa_token: string;
  mfa_methods: MfaMethod[];
}

/** The methods a user can answer a challenge with right now. */
export async function mfaMethodsOf(
  deps: Pick<DomainDeps, "backupCodes" | "config" | "clock">,
  user: UserRecord,
): Promise<MfaMethod[]> {
  const methods: MfaMethod[] = [];
  if (user.totpEnabledAt) methods.push("totp");
  if ((await deps.backupCodes.countUnused(user.id)) > 0) methods.push("backup_code");
  if (isEmailOtpAvailable(deps, user)) methods.push("email_otp");
  return methods;
}

export const isMfaEnabled = (user: UserRecord): boolean => user.totpEnabledAt !== null;

/**
 * Issues a challenge instead of tokens: 64 hex characters (256 random bits), bound to the user,
 * valid MFA_CHALLENGE_TTL seconds, single use. Only its hash is stored.
 */
export async function createMfaChallenge(
  deps: DomainDeps,
  user: UserRecord,
  ctx: RequestContext,
): Promise<MfaChallengeResponse> {
  const now = deps.clock.now();
  const token = deps.random.bytes(32).toString("hex");
  await deps.mfaChallenges.create({
    tokenHash: sha256Hex(token),
    userId: user.id,
    createdAt: now,
    expiresAt: new Date(now.getTime() + deps.config.MFA_CHALLENGE_TTL * 1000),
    ip: ctx.ip,
    userAgent: ctx.userAgent,
  });
  return { mfa_required: true, mfa_token: token, mfa_methods: await mfaMethodsOf(deps, user) };
}

/** Codes checked against one challenge at most; then it is dead and the user must log in again. */
export const MAX_MFA_ATTEMPTS = 5;
