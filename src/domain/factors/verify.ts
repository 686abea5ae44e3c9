import type { DomainDeps, RequestContext, TokenPair } from "../context.js";
import { AuthError } from "../errors.js";
import { recordAccountFailure } from "../sessions/login.js";
import { MAX_MFA_ATTEMPTS } from "./challenges.js";
import { sha256Hex } from "../lib/secret-box.js";
import { recordEvent } from "../security/events.js";
import { startSession } from "../sessions/sessions.js";
import { factorFor } from "./registry.js";
import { passkeyChallengeOptions } from "./passkeys/factor.js";
import type { FactorResult } from "./second-factor.js";

export interface MfaVerifyInput {
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

  const result: FactorResult = (await factor.isAvailable(user))
    ? await factor.verify({ kind: "mfa", token, userId: user.id }, user, input)
    : { ok: false };
  if (!result.ok) {
    await recordAccountFailure(deps, user.email);
    await recordEvent(deps, user, "mfa_failure", ctx, { method: factor.method, attempt: attempt.attempts });
    if (attempt.attempts >= MAX_MFA_ATTEMPTS) throw new AuthError("MFA_TOO_MANY_ATTEMPTS");
    throw new AuthError(result.failure ?? "MFA_CODE_INVALID");
  }
  if (!(await deps.mfaChallenges.consume(tokenHash, deps.clock.now()))) throw new AuthError("MFA_CHALLENGE_INVALID");
  const tokens = await startSession(deps, user, ctx);
  await recordEvent(deps, user, "login_success", ctx, { mfa: factor.method, amr: ["pwd", ...result.amr, "mfa"] });
  return tokens;
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
