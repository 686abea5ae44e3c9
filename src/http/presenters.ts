/**
 * Presenters: the one place where domain results become Storno's wire shapes (the contract's
 * field names). The domain returns `{ accessToken, refreshToken }` and `{ challengeToken, methods }`;
 * every route and hosted page that hands them out goes through here. Key order is the wire order.
 */
import type { RegistrationResult } from "../domain/accounts/registration.js";
import type { TokenPair } from "../domain/context.js";
import type { MfaChallenge } from "../domain/factors/challenges.js";
import { needsSecondFactor, type LoginResult } from "../domain/sessions/login.js";
import type { StepUpChallenge } from "../domain/sessions/step-up.js";

export interface TokenPairBody {
  token: string;
  refresh_token: string;
}

export interface MfaChallengeBody {
  mfa_required: true;
  mfa_token: string;
  mfa_methods: MfaChallenge["methods"];
}

export const presentTokens = (tokens: TokenPair): TokenPairBody => ({
  token: tokens.accessToken,
  refresh_token: tokens.refreshToken,
});

export const presentMfaChallenge = (challenge: MfaChallenge): MfaChallengeBody => ({
  mfa_required: true,
  mfa_token: challenge.challengeToken,
  mfa_methods: challenge.methods,
});

/** Password, Google and Apple login: tokens, or the MFA challenge to answer first. */
export const presentLogin = (result: LoginResult): TokenPairBody | MfaChallengeBody =>
  needsSecondFactor(result) ? presentMfaChallenge(result) : presentTokens(result);

/** Registration: tokens when no confirmation is required, else the "check your mail" answer. */
export const presentRegistration = (result: RegistrationResult) =>
  "accessToken" in result ? presentTokens(result) : result;

/** POST /api/v1/mfa/challenge: `mfa_required` false when the user has no second factor. */
export const presentStepUpChallenge = (challenge: StepUpChallenge) =>
  challenge === null
    ? { mfa_required: false as const }
    : { mfa_required: true as const, challenge_token: challenge.challengeToken, methods: challenge.methods };
