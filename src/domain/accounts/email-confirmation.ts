import { isValidEmail } from "./lifecycle.js";
import type { DomainDeps, RequestContext } from "../context.js";
import { normaliseEmail } from "../context.js";
import { mailTokenLinkIfDue, type MailLinkDeps } from "./email-tokens.js";
import { AuthError } from "../errors.js";
import { INVALID_EMAIL } from "./registration.js";
import { sha256Hex } from "../lib/secret-box.js";
import { recordEvent } from "../security/events.js";
import { inTransaction } from "../unit-of-work.js";

export const CONFIRMED_MESSAGE = "Your email address has been confirmed. You can now log in.";
export const RESENT_MESSAGE =
  "If an account with this email address exists and is not yet confirmed, a new confirmation email has been sent.";

/**
 * POST /api/auth/confirm-email. The token is spent by one conditional write, so it works once.
 * Other confirmation tokens of the user stay valid until they expire: opening an older mail
 * afterwards says "already confirmed" (409) rather than "invalid".
 */
export async function confirmEmail(
  deps: Pick<DomainDeps, "transaction" | "emailTokens" | "users" | "events" | "clock">,
  token: string,
  ctx: RequestContext,
): Promise<{ message: string }> {
  const refusal = await inTransaction(deps, async (tx) => {
    const now = tx.clock.now();
    const spent = await tx.emailTokens.consume(sha256Hex(token), "confirm", now);
    if (!spent) return "EMAIL_TOKEN_INVALID" as const;
    const user = await tx.users.findById(spent.userId);
    if (!user || user.deletedAt) return "EMAIL_TOKEN_INVALID" as const;
    // The link is spent even when the address was already confirmed: commit, then refuse.
    if (!(await tx.users.confirmEmail(user.id, now))) return "EMAIL_ALREADY_CONFIRMED" as const;
    await recordEvent(tx, user, "email_confirmed", ctx);
    return null;
  });
  if (refusal) throw new AuthError(refusal);
  return { message: CONFIRMED_MESSAGE };
}

/**
 * POST /api/auth/resend-confirmation. The same answer, and the same work, whether the address
 * is unknown, confirmed or waiting; a mail goes out only in the last case, at most one per
 * few minutes per address.
 */
export async function resendConfirmation(
  deps: MailLinkDeps,
  rawEmail: string,
  ctx: RequestContext,
): Promise<{ message: string }> {
  const email = normaliseEmail(rawEmail);
  if (!isValidEmail(email)) throw new AuthError("VALIDATION_FAILED", { errors: { email: [INVALID_EMAIL] } });
  await mailTokenLinkIfDue(deps, email, "confirm", (user) => !user.emailConfirmedAt, ctx);
  return { message: RESENT_MESSAGE };
}
