import type { DomainDeps, RequestContext, TokenPair } from "../context.js";
import { AuthError } from "../errors.js";
import { reserveAccountBudget } from "../sessions/login.js";
import { MAX_MFA_ATTEMPTS } from "./challenges.js";
import { sha256Hex } from "../lib/secret-box.js";
import { recordEvent } from "../security/events.js";
import { checkedWithin } from "../security/rate-limits.js";
import { combinedAmr, issueTokens, openSession } from "../sessions/sessions.js";
import { inTransaction } from "../unit-of-work.js";
import { factorFor } from "./registry.js";
import { passkeyChallengeOptions } from "./passkeys/factor.js";
import type { FactorInput, FactorResult } from "./second-factor.js";

export interface MfaVerifyInput extends FactorInput {
  mfaToken?: string;
  /** Storno's clients send either spelling. */
  mfa_token?: string;
  code?: string;
  /** `totp` (default), `backup` or `backup_code`, `passkey` (with `credential`). */
  type?: string;
  credential?: unknown;
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
  const factor = factorFor(deps, input.type);
  if (!factor) throw new AuthError("MFA_CODE_INVALID");
  factor.assertInput(input);

  // The attempt is counted before the answer is looked at, so parallel guesses cannot slip past the limit.
  const tokenHash = sha256Hex(token);
  const attempt = await deps.mfaChallenges.recordAttempt(tokenHash, deps.clock.now(), MAX_MFA_ATTEMPTS);
  if (!attempt) throw await refusalFor(deps, tokenHash);

  const user = await deps.users.findById(attempt.userId);
  // Deactivation revokes open challenges; this also refuses one that raced the deactivation.
  if (!user || user.deactivatedAt || user.deletedAt) throw new AuthError("MFA_CHALLENGE_INVALID");

  // An answer is checked only within the account budget (reserved first, refunded if right): many
  // challenges from many IPs together get no more guesses than the account's budget allows. The
  // budget lives outside the transaction (its counters may share SQLite's one writer).
  const budget = await reserveAccountBudget(deps, user.email, user, ctx);
  // The answer is checked and spent, the challenge consumed and the session opened in one
  // transaction: an answer is never spent without the session it paid for. A refused answer
  // commits what the factor spent (a passkey challenge), then counts as a failure.
  const outcome = await checkedWithin(budget, () =>
    inTransaction(deps, async (tx) => {
      // The user's row is locked first, as a reset locks it first (see openSession).
      if (!(await tx.users.confirmPasswordEpoch(user.id, user.passwordEpoch))) {
        throw new AuthError("MFA_CHALLENGE_INVALID");
      }
      const bound = factorFor(tx, input.type)!;
      const result: FactorResult = (await bound.isAvailable(user))
        ? await bound.verify({ kind: "mfa", token, userId: user.id }, user, input)
        : { ok: false };
      if (!result.ok) return { result, opened: null };
      if (!(await tx.mfaChallenges.consume(tokenHash, tx.clock.now()))) throw new AuthError("MFA_CHALLENGE_INVALID");
      const amr = combinedAmr(attempt.amr, result.amr);
      return {
        result,
        opened: await openSession(tx, user, ctx, {
          amr,
          refusal: "MFA_CHALLENGE_INVALID",
          within: () => recordEvent(tx, user, "login_success", ctx, { mfa: factor.method, amr }),
        }),
      };
    }),
  );
  if (!outcome.opened) {
    // The reserved unit stays spent: that is the failure counted.
    await recordEvent(deps, user, "mfa_failure", ctx, { method: factor.method, attempt: attempt.attempts });
    if (attempt.attempts >= MAX_MFA_ATTEMPTS) throw new AuthError("MFA_TOO_MANY_ATTEMPTS");
    throw new AuthError((!outcome.result.ok && outcome.result.failure) || "MFA_CODE_INVALID");
  }
  await budget.refund();
  // Only a completed login makes a browser a known device.
  ctx.device?.remember(user.id);
  return issueTokens(deps, user, outcome.opened);
}

/** Why no attempt could be counted: a challenge that is still open was exhausted; anything else is unknown, spent or expired. */
async function refusalFor(deps: DomainDeps, tokenHash: string): Promise<AuthError> {
  const challenge = await deps.mfaChallenges.find(tokenHash);
  const isOpen = challenge !== null && challenge.consumedAt === null && challenge.expiresAt > deps.clock.now();
  return new AuthError(isOpen ? "MFA_TOO_MANY_ATTEMPTS" : "MFA_CHALLENGE_INVALID");
}

/**
 * POST /api/auth/mfa/passkey/options: request options for answering an open login challenge with
 * a passkey. Asking does not count as an attempt; answering does.
 */
export async function mfaPasskeyOptions(deps: DomainDeps, input: { mfaToken?: string; mfa_token?: string }) {
  const token = input.mfaToken || input.mfa_token;
  if (!token) throw new AuthError("MFA_TOKEN_MISSING");
  const challenge = await deps.mfaChallenges.find(sha256Hex(token));
  const isOpen =
    challenge !== null &&
    challenge.consumedAt === null &&
    challenge.expiresAt > deps.clock.now() &&
    challenge.failedAttempts < MAX_MFA_ATTEMPTS;
  if (!isOpen) throw new AuthError("MFA_CHALLENGE_INVALID");
  return passkeyChallengeOptions(deps, { kind: "mfa", token, userId: challenge.userId });
}
