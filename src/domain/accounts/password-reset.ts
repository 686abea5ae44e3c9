import { isValidEmail } from "./lifecycle.js";
import type { DomainDeps, RequestContext } from "../context.js";
import { normaliseEmail } from "../context.js";
import { mailTokenLinkIfDue, type MailLinkDeps } from "./email-tokens.js";
import { AuthError } from "../errors.js";
import { sendNotice } from "./notices.js";
import { passwordProblems } from "../factors/password/policy.js";
import { INVALID_EMAIL } from "./registration.js";
import { sha256Hex } from "../lib/secret-box.js";
import { recordEvent } from "../security/events.js";
import { endSessionsAndLogins } from "../sessions/revocation.js";
import { inTransaction } from "../unit-of-work.js";

export const RESET_REQUESTED_MESSAGE =
  "If an account with this email address exists, an email with a link to reset the password has been sent.";
export const RESET_DONE_MESSAGE = "Your password has been reset. Please log in with your new password.";

/** POST /api/auth/forgot-password: the same answer and work whether or not the address has an account. */
export async function forgotPassword(
  deps: MailLinkDeps,
  rawEmail: string,
  ctx: RequestContext,
): Promise<{ message: string }> {
  const email = normaliseEmail(rawEmail);
  if (!isValidEmail(email)) throw new AuthError("VALIDATION_FAILED", { errors: { email: [INVALID_EMAIL] } });
  await mailTokenLinkIfDue(deps, email, "reset", () => true, ctx);
  return { message: RESET_REQUESTED_MESSAGE };
}

/**
 * POST /api/auth/reset-password. The token is checked and the new password judged before the
 * token is spent, so a weak password does not cost the user their link. Then: the token is
 * spent (one conditional write), every session and login in progress ends, the other reset
 * links die, and the user gets a notice.
 */
export async function resetPassword(
  deps: Pick<
    DomainDeps,
    | "transaction"
    | "emailTokens"
    | "users"
    | "sessions"
    | "mfaChallenges"
    | "events"
    | "clock"
    | "config"
    | "hasher"
    | "mailer"
  >,
  input: { token: string; password: string },
  ctx: RequestContext,
): Promise<{ message: string }> {
  const tokenHash = sha256Hex(input.token);
  const live = await deps.emailTokens.findLive(tokenHash, "reset", deps.clock.now());
  const user = live ? await deps.users.findById(live.userId) : null;
  if (!live || !user || user.deletedAt) throw new AuthError("EMAIL_TOKEN_INVALID");

  const problems = passwordProblems(input.password, { minLength: deps.config.PASSWORD_MIN_LENGTH, email: user.email });
  if (problems.length > 0) throw new AuthError("WEAK_PASSWORD", { errors: { password: problems } });
  const passwordHash = await deps.hasher.hash(input.password);

  await inTransaction(deps, async (tx) => {
    const now = tx.clock.now();
    if (!(await tx.emailTokens.consume(tokenHash, "reset", now))) throw new AuthError("EMAIL_TOKEN_INVALID");
    // The user's row first (and with it a new password epoch), then the sessions: a login that
    // verified the old password is either revoked below or refused when it opens its session.
    await tx.users.setPasswordHash(user.id, passwordHash, now);
    // Whoever holds the mailbox just chose the password: emailed second-factor codes pause (EMAIL_OTP_COOLDOWN).
    await tx.users.notePasswordReset(user.id, now);
    await tx.emailTokens.revokeForUser(user.id, "reset", now);
    const revoked = await endSessionsAndLogins(tx, user.id, "password_reset", now);
    // Opening the link proved control of the mailbox: that is what confirmation asks for.
    const confirmed = await tx.users.confirmEmail(user.id, now);
    await recordEvent(tx, user, "password_reset", ctx, { sessionsRevoked: revoked, emailConfirmed: confirmed });
  });
  sendNotice(deps, user, "password_reset_done", ctx);
  return { message: RESET_DONE_MESSAGE };
}
