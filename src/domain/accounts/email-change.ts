import type { DomainDeps, RequestContext } from "../context.js";
import { normaliseEmail } from "../context.js";
import { AuthError } from "../errors.js";
import { sha256Hex } from "../lib/secret-box.js";
import { recordEvent } from "../security/events.js";
import type { Authenticated } from "../sessions/authentication.js";
import { requireRecentAuthentication } from "../sessions/step-up.js";
import { inTransaction } from "../unit-of-work.js";
import { EMAIL_TOKEN_RULES, mailTokenLink } from "./email-tokens.js";
import { AccountError, isValidEmail } from "./lifecycle.js";
import { sendNotice } from "./notices.js";
import type { EmailTokenPurpose, UserRecord } from "./ports.js";
import { INVALID_EMAIL } from "./registration.js";

export const EMAIL_CHANGE_REQUESTED_MESSAGE =
  "We have emailed a link to the new address. Your email address changes when it is opened.";
export const EMAIL_CHANGED_MESSAGE = "Your email address has been changed. Sign in with the new one from now on.";
export const SAME_EMAIL = "This is already your email address.";

/** Links mailed to the old address that must not outlive it (a reset link would hand the account back). */
const OLD_ADDRESS_LINKS: EmailTokenPurpose[] = ["confirm", "reset", "unlock", "email_change"];

/**
 * POST /api/v1/me/email: a signed-in user asks for a new sign-in address. Sensitive (a login
 * within REAUTH_MAX_AGE or a step-up verification token), since whoever controls the address
 * controls password resets. Nothing changes yet: a link goes to the new address (proving it is
 * the user's) and a notice to the current one; only the newest link works.
 */
export async function requestEmailChange(
  deps: DomainDeps,
  auth: Authenticated,
  input: { email?: unknown; verificationToken?: string },
  ctx: RequestContext,
): Promise<{ message: string }> {
  const email = typeof input.email === "string" ? normaliseEmail(input.email) : "";
  if (!isValidEmail(email)) throw new AuthError("VALIDATION_FAILED", { errors: { email: [INVALID_EMAIL] } });
  const { user } = auth;
  if (email === user.email) throw new AuthError("VALIDATION_FAILED", { errors: { email: [SAME_EMAIL] } });
  await requireRecentAuthentication(deps, auth, { verificationToken: input.verificationToken });
  // Registration says the same of a taken address (409), so this tells nobody more.
  if (await deps.users.findByEmail(email)) throw new AuthError("EMAIL_TAKEN");
  for (const cap of EMAIL_TOKEN_RULES.email_change.caps) {
    const decision = await deps.limiter.hit(cap.name, cap.rule, user.id);
    if (!decision.allowed) throw new AuthError("RATE_LIMITED", { retryAfterSeconds: decision.resetSeconds });
  }
  await deps.emailTokens.revokeForUser(user.id, "email_change", deps.clock.now());
  await recordEvent(deps, user, "email_change_requested", ctx);
  mailTokenLink(deps, user, "email_change", ctx, email);
  sendNotice(deps, user, "email_change_requested", ctx);
  return { message: EMAIL_CHANGE_REQUESTED_MESSAGE };
}

/**
 * POST /api/auth/confirm-email-change: the link from the new address. In one transaction the
 * token is spent, the address changes (and counts as confirmed), and every link still out for
 * the old address dies; the old address is told afterwards. Sessions stay: the user is the one
 * who asked, from a session that had just proved itself. 409 when another account took the
 * address in the meantime (the link is spent; the user asks again).
 */
export async function confirmEmailChange(
  deps: DomainDeps,
  token: string,
  ctx: RequestContext,
): Promise<{ message: string }> {
  type Outcome = { refusal: "EMAIL_TOKEN_INVALID" | "EMAIL_TAKEN" } | { previous: UserRecord };
  const outcome = await inTransaction(deps, async (tx): Promise<Outcome> => {
    const now = tx.clock.now();
    const spent = await tx.emailTokens.consume(sha256Hex(token), "email_change", now);
    if (!spent?.newEmail) return { refusal: "EMAIL_TOKEN_INVALID" };
    const user = await tx.users.lock(spent.userId);
    if (!user || user.deletedAt) return { refusal: "EMAIL_TOKEN_INVALID" };
    if (!(await tx.users.changeEmail(user.id, spent.newEmail, now))) return { refusal: "EMAIL_TAKEN" };
    for (const purpose of OLD_ADDRESS_LINKS) await tx.emailTokens.revokeForUser(user.id, purpose, now);
    await recordEvent(tx, user, "email_changed", ctx);
    return { previous: user };
  });
  if ("refusal" in outcome) throw new AuthError(outcome.refusal);
  // To the address that was the account's until now: the one that must hear of it.
  sendNotice(deps, outcome.previous, "email_changed", ctx);
  return { message: EMAIL_CHANGED_MESSAGE };
}

/**
 * `warden user set-email`: an operator moves an account to another address (a typo at sign-up,
 * a mailbox that changed hands). The operator vouches for it, so no link is mailed and the new
 * address counts as confirmed; otherwise as when a user's link is opened: links still out for
 * the old address die, the old address is told, and the event says who (`by: "admin"`).
 */
export async function setEmailByOperator(
  deps: DomainDeps,
  user: UserRecord,
  rawEmail: string,
  ctx: RequestContext,
): Promise<string> {
  const email = normaliseEmail(rawEmail);
  if (!isValidEmail(email)) throw new AccountError(`"${rawEmail}" is not a valid email address`);
  if (email === user.email) throw new AccountError(`${email} is already the address of this account`);
  const changed = await inTransaction(deps, async (tx) => {
    const now = tx.clock.now();
    if (!(await tx.users.changeEmail(user.id, email, now))) return false;
    for (const purpose of OLD_ADDRESS_LINKS) await tx.emailTokens.revokeForUser(user.id, purpose, now);
    await recordEvent(tx, user, "email_changed", ctx, { by: "admin" });
    return true;
  });
  if (!changed) throw new AccountError(`a user with email ${email} already exists`);
  sendNotice(deps, user, "email_changed", ctx);
  return email;
}
