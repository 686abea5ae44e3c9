import type { DomainDeps, RequestContext, TokenPair } from "../context.js";
import { AuthError } from "../errors.js";
import { recordAccountFailure } from "../sessions/login.js";
import { MAX_MFA_ATTEMPTS } from "./challenges.js";
import { factorFor, loadSubject } from "./registry.js";
import type { FactorInput } from "./second-factor.js";
import { sha256Hex } from "../lib/secret-box.js";
import { recordEvent } from "../security/events.js";
import { issueTokens, openSession } from "../sessions/sessions.js";
import { inTransaction } from "../unit-of-work.js";

export interface MfaVerifyInput extends FactorInput {
  mfaToken?: string;
  /** Storno's clients send either spelling. */
  mfa_token?: string;
  /** A method of SECOND_FACTORS or one of its aliases; TOTP when absent. */
  type?: string;
}

/**
 * POST /api/auth/mfa/verify: the second half of a login. The challenge token only ever buys
 * this one call; the session and refresh token exist from here on, never before.
 */
export async function verifyMfaChallenge(
  deps: DomainDeps,
  input: MfaVerifyInput,
  ctx: RequestContext,
): Promise<TokenPair> {
  const token = input.mfaToken || input.mfa_token;
  if (!token) throw new AuthError("MFA_TOKEN_MISSING");
  const factor = factorFor(input.type);
  if (!factor) throw new AuthError("VALIDATION_FAILED", { errors: { type: ["This value is not a valid choice."] } });
  const missing = factor.missingInput(input);
  if (missing) throw new AuthError(missing);

  // The attempt is counted before the code is looked at, so parallel guesses cannot slip past the limit.
  const tokenHash = sha256Hex(token);
  const attempt = await deps.mfaChallenges.recordAttempt(tokenHash, deps.clock.now(), MAX_MFA_ATTEMPTS);
  if (!attempt) throw await refusalFor(deps, tokenHash);

  const user = await deps.users.findById(attempt.userId);
  // Deactivation revokes open challenges; this also refuses one that raced the deactivation.
  if (!user || user.deactivatedAt || user.deletedAt) throw new AuthError("MFA_CHALLENGE_INVALID");

  // The code is spent, the challenge consumed and the session opened in one transaction: a code
  // is never spent without the session it paid for.
  const subject = await loadSubject(deps, user);
  const opened = await inTransaction(deps, (tx) =>
    openSession(tx, user, ctx, {
      // A reset since the challenge was issued also revoked the challenge.
      amr: ["pwd"],
      refusal: "MFA_CHALLENGE_INVALID",
      within: async () => {
        // A factor the user does not have (TOTP turned off meanwhile) refuses like a wrong code.
        const available = await factor.isAvailable(tx, subject);
        const result = available ? await factor.verify(tx, subject, input, tokenHash) : { accepted: false as const };
        if (!result.accepted) throw new CodeRefused();
        if (!(await tx.mfaChallenges.consume(tokenHash, tx.clock.now()))) throw new AuthError("MFA_CHALLENGE_INVALID");
        await recordEvent(tx, user, "login_success", ctx, { mfa: factor.method });
        return result.amr;
      },
    }),
  ).catch((error: unknown) => {
    if (error instanceof CodeRefused) return null;
    throw error;
  });
  if (!opened) {
    // Outside the transaction, so the failure counts even though nothing else was written.
    await recordAccountFailure(deps, user.email);
    await recordEvent(deps, user, "mfa_failure", ctx, { method: factor.method, attempt: attempt.attempts });
    throw new AuthError(attempt.attempts >= MAX_MFA_ATTEMPTS ? "MFA_TOO_MANY_ATTEMPTS" : "MFA_CODE_INVALID");
  }
  return issueTokens(deps, user, opened);
}

/** A wrong code: rolls the verify transaction back (nothing in it may stand), then counts as a failure. */
class CodeRefused extends Error {}

/** Why no attempt could be counted: a challenge that is still open was exhausted; anything else is unknown, spent or expired. */
async function refusalFor(deps: DomainDeps, tokenHash: string): Promise<AuthError> {
  const challenge = await deps.mfaChallenges.find(tokenHash);
  const isOpen = challenge !== null && challenge.consumedAt === null && challenge.expiresAt > deps.clock.now();
  return new AuthError(isOpen ? "MFA_TOO_MANY_ATTEMPTS" : "MFA_CHALLENGE_INVALID");
}
