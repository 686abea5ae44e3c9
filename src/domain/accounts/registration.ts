import { isValidEmail } from "./lifecycle.js";
import type { DomainDeps, RequestContext, TokenPair } from "../context.js";
import { normaliseEmail } from "../context.js";
import { countMailAgainstCaps, mailTokenLink } from "./email-tokens.js";
import { AuthError } from "../errors.js";
import { passwordProblems } from "../factors/password/policy.js";
import { recordEvent } from "../security/events.js";
import { issueTokens, openSession } from "../sessions/sessions.js";
import { inTransaction } from "../unit-of-work.js";

export const REGISTERED_MESSAGE = "Registration successful. Please check your email to confirm your account.";
export const INVALID_EMAIL = "This value is not a valid email address.";

export interface RegistrationInput {
  email: string;
  password: string;
  firstName?: string | null;
  lastName?: string | null;
  locale?: string | null;
}

export type RegistrationResult = { message: string; email: string } | TokenPair;

const optionalText = (value: string | null | undefined): string | null => value?.trim() || null;

/** Email and password problems of a new account, per field, in the contract's `errors` shape. */
export function registrationErrors(
  deps: Pick<DomainDeps, "config">,
  email: string,
  password: string,
): Record<string, string[]> {
  const errors: Record<string, string[]> = {};
  if (!isValidEmail(email)) errors.email = [INVALID_EMAIL];
  const problems = passwordProblems(password, { minLength: deps.config.PASSWORD_MIN_LENGTH, email });
  if (problems.length > 0) errors.password = problems;
  return errors;
}

/**
 * POST /api/auth/register. With REQUIRE_EMAIL_CONFIRMATION (the default) the account waits for
 * its address to be confirmed and no tokens are issued; without it the address is taken as
 * given (marked confirmed, so login accepts it) and a session starts at once. With ALLOW_SIGNUP
 * off, every registration is refused first, whatever the body: an answer that differed for a
 * taken address would tell which addresses have accounts.
 */
export async function register(
  deps: DomainDeps,
  input: RegistrationInput,
  ctx: RequestContext,
): Promise<RegistrationResult> {
  if (!deps.config.ALLOW_SIGNUP) throw new AuthError("REGISTRATION_DISABLED");
  const email = normaliseEmail(input.email);
  const errors = registrationErrors(deps, email, input.password);
  if (Object.keys(errors).length > 0) throw new AuthError("VALIDATION_FAILED", { errors });

  const mustConfirm = deps.config.REQUIRE_EMAIL_CONFIRMATION;
  const passwordHash = await deps.hasher.hash(input.password);
  const now = deps.clock.now();
  // The account, its first event and (without confirmation) its first session stand or fall together.
  const created = await inTransaction(deps, async (tx) => {
    // The unique index decides, so two concurrent registrations of one address get one account and one 409.
    const user = await tx.users.create(
      {
        email,
        passwordHash,
        roles: ["ROLE_USER"],
        emailConfirmedAt: mustConfirm ? null : now,
        deactivatedAt: null,
        firstName: optionalText(input.firstName),
        lastName: optionalText(input.lastName),
        locale: optionalText(input.locale),
      },
      now,
    );
    if (!user) throw new AuthError("EMAIL_TAKEN");
    await recordEvent(tx, user, "user_registered", ctx, { confirmationRequired: mustConfirm });
    return { user, session: mustConfirm ? null : await openSession(tx, user, ctx, { amr: ["pwd"] }) };
  });
  const { user } = created;
  if (created.session) return issueTokens(deps, user, created.session);

  // Counts against the per-address caps, so a resend within the minute sends no second mail.
  await countMailAgainstCaps(deps, email, "confirm");
  mailTokenLink(deps, user, "confirm", ctx);
  return { message: REGISTERED_MESSAGE, email };
}
