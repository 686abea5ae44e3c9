import type { PublicKeyCredentialRequestOptionsJSON } from "@simplewebauthn/server";
import type { DomainDeps, RequestContext } from "../context.js";
import { AuthError } from "../errors.js";
import { passkeyChallengeOptions } from "../factors/passkeys/factor.js";
import { availableMethods, factorFor } from "../factors/registry.js";
import type { FactorInput, FactorMethod, FactorResult } from "../factors/second-factor.js";
import { sha256Hex } from "../lib/secret-box.js";
import { recordEvent } from "../security/events.js";
import type { Authenticated } from "./authentication.js";
import { checkedWithin } from "../security/rate-limits.js";
import { reserveAccountBudget } from "./login.js";
import { confirmPassword } from "../factors/password/reauthentication.js";
import { inTransaction } from "../unit-of-work.js";

/** A step-up challenge lives as long as a login challenge and takes as many answers. */
export const MAX_STEP_UP_ATTEMPTS = 5;
/** A verification token buys one sensitive operation within this many seconds. */
export const VERIFICATION_TOKEN_TTL_SECONDS = 120;

/** A step-up challenge, or null when the user has no second factor to step up with. */
export type StepUpChallenge = { challengeToken: string; methods: FactorMethod[] } | null;

const ownerOf = (auth: Authenticated) => ({ userId: auth.user.id, sessionId: auth.sessionId });

/**
 * POST /api/v1/mfa/challenge. A user without a second factor has nothing to step up with: the
 * current password (where the endpoint takes one) or a fresh session then serves.
 */
export async function startStepUp(deps: DomainDeps, auth: Authenticated): Promise<StepUpChallenge> {
  const methods = await availableMethods(deps, auth.user);
  if (methods.length === 0) return null;
  const token = deps.random.bytes(32).toString("hex");
  const now = deps.clock.now();
  await deps.stepUp.createChallenge({
    tokenHash: sha256Hex(token),
    ...ownerOf(auth),
    createdAt: now,
    expiresAt: new Date(now.getTime() + deps.config.MFA_CHALLENGE_TTL * 1000),
  });
  return { challengeToken: token, methods };
}

/** POST /api/v1/mfa/passkey/options: request options bound to this step-up challenge. */
export async function stepUpPasskeyOptions(
  deps: DomainDeps,
  auth: Authenticated,
  input: { challengeToken?: string },
): Promise<PublicKeyCredentialRequestOptionsJSON> {
  const token = input.challengeToken;
  if (!token) throw new AuthError("STEP_UP_CHALLENGE_MISSING");
  const open = await deps.stepUp.findOpenChallenge(
    sha256Hex(token),
    ownerOf(auth),
    deps.clock.now(),
    MAX_STEP_UP_ATTEMPTS,
  );
  if (!open) throw new AuthError("STEP_UP_CHALLENGE_INVALID");
  return passkeyChallengeOptions(deps, { kind: "step_up", token, userId: auth.user.id });
}

export interface StepUpVerifyInput extends FactorInput {
  challengeToken?: string;
  type?: string;
}

/**
 * POST /api/v1/mfa/verify: a second factor, answered inside a live session, buys a verification
 * token for one sensitive operation of that same session within 120 s. Only its hash is stored.
 */
export async function verifyStepUp(
  deps: DomainDeps,
  auth: Authenticated,
  input: StepUpVerifyInput,
  ctx: RequestContext,
): Promise<{ verification_token: string }> {
  const token = input.challengeToken;
  if (!token) throw new AuthError("STEP_UP_CHALLENGE_MISSING");
  const factor = factorFor(deps, input.type);
  if (!factor) throw new AuthError("STEP_UP_METHOD_UNAVAILABLE");
  factor.assertInput(input);

  const tokenHash = sha256Hex(token);
  // Counted before the answer is checked, as at login: at most five answers per challenge.
  const attempts = await deps.stepUp.recordAttempt(tokenHash, ownerOf(auth), deps.clock.now(), MAX_STEP_UP_ATTEMPTS);
  if (attempts === null) throw new AuthError("STEP_UP_CHALLENGE_INVALID");

  const { user } = auth;
  // Within the account budget, reserved before the answer is checked and refunded when it is
  // right; the budget lives outside the transaction (its counters may share SQLite's one writer).
  // Once strangers' guesses have spent it, this session has a budget of its own.
  const budget = await reserveAccountBudget(deps, user.email, user, ctx, auth.sessionId);
  const verificationToken = deps.random.bytes(32).toString("base64url");
  // The answer is spent, the challenge consumed and the token stored together; a refused answer
  // commits what the factor spent (a passkey challenge).
  const result: FactorResult = await checkedWithin(budget, () =>
    inTransaction(deps, async (tx) => {
      const bound = factorFor(tx, input.type)!;
      const answer: FactorResult = (await bound.isAvailable(user))
        ? await bound.verify({ kind: "step_up", token, userId: user.id }, user, input)
        : { ok: false };
      if (!answer.ok) return answer;
      const now = tx.clock.now();
      if (!(await tx.stepUp.consumeChallenge(tokenHash, now))) throw new AuthError("STEP_UP_CHALLENGE_INVALID");
      await tx.stepUp.createVerificationToken({
        tokenHash: sha256Hex(verificationToken),
        ...ownerOf(auth),
        method: factor.method,
        createdAt: now,
        expiresAt: new Date(now.getTime() + VERIFICATION_TOKEN_TTL_SECONDS * 1000),
      });
      await recordEvent(tx, user, "step_up_verified", ctx, { method: factor.method, amr: answer.amr });
      return answer;
    }),
  );
  if (!result.ok) {
    // The reserved unit stays spent: that is the failure counted.
    await recordEvent(deps, user, "step_up_failure", ctx, { method: factor.method, attempt: attempts });
    throw new AuthError("STEP_UP_VERIFICATION_INVALID");
  }
  await budget.refund();
  return { verification_token: verificationToken };
}

/** The port the sensitive-operation rule uses to accept a step-up verification token. */
export interface StepUpTokens {
  /** Spends the token if it was issued to this user and session and is unused and unexpired; one winner. */
  consume(token: string, owner: { userId: string; sessionId: string }): Promise<boolean>;
}

export const stepUpTokens = (deps: Pick<DomainDeps, "stepUp" | "clock">): StepUpTokens => ({
  consume: (token, owner) => deps.stepUp.consumeVerificationToken(sha256Hex(token), owner, deps.clock.now()),
});

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
 * passes when the session authenticated (sessions.auth_time: login or MFA, never a refresh)
 * within REAUTH_MAX_AGE seconds, or a verification token of this user and session is given
 * (spent here), or the right current password where the endpoint takes one (counted against
 * the per-account password re-check limit). Otherwise 403 `mfa_required`, and the client steps
 * up. A password that is given is always checked: a wrong one is refused in a fresh session too.
 */
export async function requireRecentAuthentication(
  deps: Pick<DomainDeps, "clock" | "config" | "stepUp" | "limiter" | "hasher">,
  auth: Authenticated,
  proof: ReauthProof = {},
): Promise<void> {
  if (proof.password !== undefined) {
    await confirmPassword(deps, auth.user, proof.password, proof.passwordField ?? "password");
    return;
  }
  const ageMs = deps.clock.now().getTime() - auth.session.authTime.getTime();
  if (ageMs <= deps.config.REAUTH_MAX_AGE * 1000) return;
  if (proof.verificationToken && (await stepUpTokens(deps).consume(proof.verificationToken, ownerOf(auth)))) return;
  throw new AuthError("MFA_REQUIRED", { oauthError: "mfa_required" });
}
