import type { DomainDeps } from "../context.js";
import { AuthError } from "../errors.js";
import { confirmPassword } from "../factors/password/reauthentication.js";
import type { Authenticated } from "./authentication.js";

/**
 * Step-up verification tokens: proof of a fresh second factor for one session, minted by the
 * step-up flow. The port is here so sensitive operations can accept them; until that flow exists
 * (helper D1) the implementation refuses every token.
 */
export interface StepUpTokens {
  /** Spends `token` if it is live and was minted for this user and session; true exactly once. */
  consume(token: string, userId: string, sessionId: string): Promise<boolean>;
}

export const noStepUpTokens: StepUpTokens = { consume: async () => false };

/** What a request to a sensitive operation may offer beyond a recent login. */
export interface ReauthProof {
  /** The current password, on endpoints that take one (it must then be right, whatever else holds). */
  password?: string;
  /** The body field the password came in, for the 422 `errors` map. */
  passwordField?: string;
  /** A step-up token (body `verification_token`/`verificationToken` or header X-Verification-Token). */
  verificationToken?: string;
}

/**
 * The sensitive-operation rule (api-contract-2, "Sessions know how they were authenticated"):
 * passes when the session authenticated within REAUTH_MAX_AGE seconds, or a valid step-up token
 * for this session is given, or the right current password where the endpoint takes one
 * (counted against the per-account password re-check limit). Otherwise 403 mfa_required.
 * A password that is given is always checked: a wrong one is refused even in a fresh session.
 */
export async function requireRecentAuthentication(
  deps: Pick<DomainDeps, "clock" | "config" | "stepUpTokens" | "limiter" | "hasher">,
  auth: Authenticated,
  proof: ReauthProof = {},
): Promise<void> {
  if (proof.password !== undefined) {
    await confirmPassword(deps, auth.user, proof.password, proof.passwordField ?? "password");
    return;
  }
  const ageMs = deps.clock.now().getTime() - auth.session.authTime.getTime();
  if (ageMs <= deps.config.REAUTH_MAX_AGE * 1000) return;
  if (
    proof.verificationToken &&
    (await deps.stepUpTokens.consume(proof.verificationToken, auth.user.id, auth.sessionId))
  )
    return;
  throw new AuthError("MFA_REQUIRED");
}
