import crypto from "node:crypto";
import type { DomainDeps, RequestContext } from "../../context.js";
import { AuthError } from "../../errors.js";
import { sha256Hex } from "../../lib/secret-box.js";
import type { UserRecord } from "../../accounts/ports.js";
import type { RateRule } from "../../security/rate-limits.js";
import { recordEvent } from "../../security/events.js";
import { MAX_MFA_ATTEMPTS } from "../challenges.js";
import { hasMfa } from "../registry.js";
import type { Authenticated } from "../../sessions/authentication.js";
import { MAX_STEP_UP_ATTEMPTS } from "../../sessions/step-up.js";
import { requireCode, type FactorChallenge, type SecondFactor } from "../second-factor.js";
import { inTransaction } from "../../unit-of-work.js";

/** Codes are valid this long. */
export const EMAIL_OTP_TTL_SECONDS = 300;
/** A new code may be sent this long after the previous one at the earliest. */
export const EMAIL_OTP_SPACING_SECONDS = 60;
/** Codes sent per account per hour at most, whatever the challenges. */
export const EMAIL_OTP_HOURLY: RateRule = { points: 5, durationSeconds: 3600 };
const SEND_BUCKET = "email-otp-send";
const CODE_PURPOSE = "email-otp";

export type EmailOtpPolicy = "fallback" | "always" | "off";

/**
 * Whether the user may answer a challenge with an emailed code now. `fallback`: yes, except
 * within EMAIL_OTP_COOLDOWN after a password reset or an email change, because otherwise whoever
 * holds the mailbox holds both factors (reset the password by mail, then take the code by mail).
 */
export function isEmailOtpAvailable(deps: Pick<DomainDeps, "config" | "clock">, user: UserRecord): boolean {
  const policy = deps.config.EMAIL_OTP_MFA;
  if (policy === "off") return false;
  if (policy === "always") return true;
  const last = Math.max(user.passwordResetAt?.getTime() ?? 0, user.emailChangedAt?.getTime() ?? 0);
  return deps.clock.now().getTime() - last >= deps.config.EMAIL_OTP_COOLDOWN * 1000;
}

/** Six digits, each equally likely: 32-bit draws at or above the largest multiple of 10^6 are drawn again. */
function newCode(deps: Pick<DomainDeps, "random">): string {
  const limit = Math.floor(2 ** 32 / 1_000_000) * 1_000_000;
  for (;;) {
    const value = deps.random.bytes(4).readUInt32BE(0);
    if (value < limit) return String(value % 1_000_000).padStart(6, "0");
  }
}

const hashCode = (deps: Pick<DomainDeps, "box">, code: string): string => deps.box.keyedHash(CODE_PURPOSE, code);

/** What a code is bound to: one challenge of one kind (a login MFA challenge or a step-up challenge). */
export const challengeBinding = (challenge: Pick<FactorChallenge, "kind" | "token">): string =>
  sha256Hex(`${challenge.kind}:${challenge.token}`);

/**
 * POST /api/auth/mfa/email-otp/send: mails a code that answers this login challenge. The
 * challenge must still be open (unspent, unexpired, attempts left).
 */
export async function sendLoginEmailOtp(
  deps: DomainDeps,
  input: { mfaToken?: string; mfa_token?: string },
  ctx: RequestContext,
): Promise<{ sent: true }> {
  const token = input.mfaToken || input.mfa_token;
  if (!token) throw new AuthError("MFA_TOKEN_MISSING");
  const challenge = await deps.mfaChallenges.find(sha256Hex(token));
  const now = deps.clock.now();
  if (
    !challenge ||
    challenge.consumedAt ||
    challenge.expiresAt <= now ||
    challenge.failedAttempts >= MAX_MFA_ATTEMPTS
  ) {
    throw new AuthError("MFA_CHALLENGE_INVALID");
  }
  const user = await deps.users.findById(challenge.userId);
  if (!user || user.deactivatedAt || user.deletedAt) throw new AuthError("MFA_CHALLENGE_INVALID");
  await sendEmailOtp(deps, user, { kind: "mfa", token }, ctx);
  return { sent: true };
}

/**
 * POST /api/v1/mfa/email-otp/send: mails a code that answers this step-up challenge of the
 * caller's own session (open, unexpired, attempts left).
 */
export async function sendStepUpEmailOtp(
  deps: DomainDeps,
  auth: Authenticated,
  input: { challengeToken?: string },
  ctx: RequestContext,
): Promise<{ sent: true }> {
  const token = input.challengeToken;
  if (!token) throw new AuthError("STEP_UP_CHALLENGE_MISSING");
  const owner = { userId: auth.user.id, sessionId: auth.sessionId };
  const open = await deps.stepUp.findOpenChallenge(sha256Hex(token), owner, deps.clock.now(), MAX_STEP_UP_ATTEMPTS);
  if (!open) throw new AuthError("STEP_UP_CHALLENGE_INVALID");
  await sendEmailOtp(deps, auth.user, { kind: "step_up", token }, ctx);
  return { sent: true };
}

/**
 * Mails a fresh code bound to `challenge` (a login or step-up challenge), replacing any earlier
 * code. At most one send per EMAIL_OTP_SPACING_SECONDS (decided by one conditional write) and
 * EMAIL_OTP_HOURLY per account. The hourly unit is reserved before the code is written and given
 * back when the spacing refuses it (counters stay out of the transaction); the code and its event
 * are one unit of work; the mail leaves after it committed.
 */
export async function sendEmailOtp(
  deps: DomainDeps,
  user: UserRecord,
  challenge: Pick<FactorChallenge, "kind" | "token">,
  ctx: RequestContext,
): Promise<void> {
  if (!(await emailOtpFactor(deps).isAvailable(user))) throw new AuthError("EMAIL_OTP_UNAVAILABLE");
  const hourly = await deps.limiter.reserve(SEND_BUCKET, EMAIL_OTP_HOURLY, user.id);
  if (!hourly.allowed) {
    await recordEvent(deps, user, "email_otp_refused", ctx, { reason: "hourly_limit" });
    throw new AuthError("EMAIL_OTP_SEND_LIMIT", { retryAfterSeconds: hourly.retryAfterSeconds });
  }
  const now = deps.clock.now();
  const code = newCode(deps);
  let outcome: { stored: true } | { stored: false; previousSentAt: Date | null };
  try {
    outcome = await inTransaction(deps, async (tx) => {
      const stored = await tx.emailOtps.replace(
        {
          userId: user.id,
          challengeHash: challengeBinding(challenge),
          codeHash: hashCode(deps, code),
          sentAt: now,
          expiresAt: new Date(now.getTime() + EMAIL_OTP_TTL_SECONDS * 1000),
        },
        new Date(now.getTime() - EMAIL_OTP_SPACING_SECONDS * 1000),
      );
      if (!stored) return { stored, previousSentAt: (await tx.emailOtps.find(user.id))?.sentAt ?? null };
      await recordEvent(tx, user, "email_otp_sent", ctx, { for: challenge.kind });
      return { stored };
    });
  } catch (error) {
    await hourly.refund();
    throw error;
  }
  if (!outcome.stored) {
    await hourly.refund();
    const { previousSentAt } = outcome;
    const waitMs = previousSentAt ? previousSentAt.getTime() + EMAIL_OTP_SPACING_SECONDS * 1000 - now.getTime() : 1000;
    throw new AuthError("EMAIL_OTP_TOO_SOON", { retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)) });
  }
  deps.mailer.enqueue({
    kind: "email_otp_code",
    to: user.email,
    userId: user.id,
    locale: user.locale,
    firstName: user.firstName,
    occurredAt: now,
    ip: ctx.ip,
    code,
    codeTtlMinutes: EMAIL_OTP_TTL_SECONDS / 60,
  });
}

/**
 * Email codes as a SecondFactor. Available when the policy allows it and the user has a factor
 * that turns MFA on (TOTP, a passkey): a code only ever backs one up, never stands in for MFA,
 * so a user without a second factor still steps up with a fresh session or the password.
 */
export function emailOtpFactor(deps: DomainDeps): SecondFactor {
  return {
    method: "email_otp",
    turnsMfaOn: false,
    isAvailable: async (user) => isEmailOtpAvailable(deps, user) && (await hasMfa(deps, user)),
    assertInput: requireCode,
    async verify(challenge, user, input) {
      return (await acceptEmailOtp(deps, user, challenge, input.code!)) ? { ok: true, amr: ["otp"] } : { ok: false };
    },
  };
}

/**
 * Checks a code against the user's live code for this challenge and spends it. The hashes are
 * compared in constant time; spending is one conditional write, so a code used twice at once
 * is accepted once. The policy is asked again: a password reset since the send withdraws it.
 */
async function acceptEmailOtp(
  deps: DomainDeps,
  user: UserRecord,
  challenge: FactorChallenge,
  input: string,
): Promise<boolean> {
  const code = input.replace(/\s/g, "");
  if (!/^\d{6}$/.test(code) || !isEmailOtpAvailable(deps, user)) return false;
  const now = deps.clock.now();
  const binding = challengeBinding(challenge);
  const live = await deps.emailOtps.find(user.id);
  if (!live || live.usedAt || live.expiresAt <= now || live.challengeHash !== binding) return false;
  const given = Buffer.from(hashCode(deps, code));
  const stored = Buffer.from(live.codeHash);
  if (given.length !== stored.length || !crypto.timingSafeEqual(given, stored)) return false;
  return deps.emailOtps.consume(user.id, binding, live.codeHash, now);
}
