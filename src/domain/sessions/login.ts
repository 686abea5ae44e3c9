import type { DomainDeps, RequestContext, TokenPair } from "../context.js";
import { normaliseEmail } from "../context.js";
import { AuthError } from "../errors.js";
import { createMfaChallenge, isMfaEnabled, type MfaChallengeResponse } from "../factors/challenges.js";
import type { UserRecord } from "../ports.js";
import { recordEvent } from "../security/events.js";
import { startSession } from "./sessions.js";

export type LoginResult = TokenPair | MfaChallengeResponse;

const ACCOUNT_FAILURES = "account-failures";
/** A device the owner logged in from within this many days is not slowed by the account budget. */
const KNOWN_DEVICE_DAYS = 30;

/**
 * POST /api/auth. The per-IP limit ran before this (http layer). Order matters for privacy:
 * nothing about the account is revealed until its password checked out.
 */
export async function login(
  deps: DomainDeps,
  input: { email: string; password: string },
  ctx: RequestContext,
): Promise<LoginResult> {
  const email = normaliseEmail(input.email);
  const user = await deps.users.findByEmail(email);
  await enforceAccountBudget(deps, email, user, ctx);

  // Hash even when the email is unknown, so the response time does not tell which emails exist.
  const valid = await deps.hasher.verify(user?.passwordHash ?? deps.hasher.dummyHash, input.password);
  if (!user || !valid || user.deletedAt) {
    await recordAccountFailure(deps, email);
    if (user) await recordEvent(deps, user, "login_failure", ctx, { reason: "invalid_password" });
    throw new AuthError("INVALID_CREDENTIALS");
  }

  if (deps.hasher.needsRehash(user.passwordHash)) {
    const upgraded = await deps.hasher.hash(input.password);
    await deps.users.replacePasswordHash(user.id, user.passwordHash, upgraded, deps.clock.now());
  }

  if (user.deactivatedAt) {
    await recordEvent(deps, user, "login_failure", ctx, { reason: "account_inactive" });
    throw new AuthError("ACCOUNT_INACTIVE");
  }
  if (!user.emailConfirmedAt) {
    await recordEvent(deps, user, "login_failure", ctx, { reason: "email_not_confirmed" });
    throw new AuthError("EMAIL_NOT_CONFIRMED");
  }

  if (await isMfaEnabled(deps, user)) {
    await recordEvent(deps, user, "mfa_challenge_issued", ctx);
    return createMfaChallenge(deps, user, ctx);
  }
  const tokens = await startSession(deps, user, ctx);
  await recordEvent(deps, user, "login_success", ctx);
  return tokens;
}

/** One failed authentication (a wrong password, or a wrong second-factor code) against the account's budget. */
export async function recordAccountFailure(deps: Pick<DomainDeps, "limiter" | "config">, email: string): Promise<void> {
  await deps.limiter.record(ACCOUNT_FAILURES, deps.config.ACCOUNT_FAILURE_LIMIT, email);
}

/**
 * NIST SP 800-63B 5.2.2: at most ACCOUNT_FAILURE_LIMIT wrong passwords per account per window,
 * from all IPs together. The window slides, so the budget refills gradually (a delay, not a
 * lock-out), and a device the owner already logged in from is exempt, so an attacker who
 * burns the budget cannot keep the owner out.
 */
async function enforceAccountBudget(
  deps: DomainDeps,
  email: string,
  user: UserRecord | null,
  ctx: RequestContext,
): Promise<void> {
  const decision = await deps.limiter.check(ACCOUNT_FAILURES, deps.config.ACCOUNT_FAILURE_LIMIT, email);
  if (decision.allowed) return;
  if (user && ctx.ip) {
    const since = new Date(deps.clock.now().getTime() - KNOWN_DEVICE_DAYS * 86_400_000);
    if (await deps.sessions.hasSessionFromIp(user.id, ctx.ip, since)) return;
  }
  throw new AuthError("ACCOUNT_THROTTLED", { retryAfterSeconds: decision.retryAfterSeconds });
}
