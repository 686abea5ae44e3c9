import type { DomainDeps, RequestContext, TokenPair } from "../context.js";
import { normaliseEmail } from "../context.js";
import { AuthError, type AuthErrorCode } from "../errors.js";
import { createMfaChallenge, isMfaEnabled, type MfaChallenge } from "../factors/challenges.js";
import { EMAIL_TOKEN_RULES, mailTokenLink } from "../accounts/email-tokens.js";
import { clientKey } from "../lib/network.js";
import { sha256Hex } from "../lib/secret-box.js";
import type { UserRecord } from "../accounts/ports.js";
import { recordEvent } from "../security/events.js";
import { checkedWithin } from "../security/rate-limits.js";
import { startSession } from "./sessions.js";

/** Tokens, or (when the user has a second factor) a challenge to answer first. */
export type LoginResult = TokenPair | MfaChallenge;

export const needsSecondFactor = (result: LoginResult): result is MfaChallenge => "challengeToken" in result;

export const ACCOUNT_FAILURES = "account-failures";

/** What the account failure budget uses (reserving, recognising a known device, mailing an unlock link). */
type BudgetDeps = Pick<
  DomainDeps,
  "limiter" | "sessions" | "events" | "clock" | "config" | "mailer" | "emailTokens" | "random"
>;
/** A known device's own budget, used once the account's is spent. */
const KNOWN_DEVICE_FAILURES = "known-device-failures";
/** Recent session addresses compared with the caller's network (IPv4 address or IPv6 /64). */
const KNOWN_NETWORKS_CHECKED = 50;

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
  // The place in the hash queue comes first: under overload the login is refused before its reads.
  const admission = deps.hasher.admit();
  let user: UserRecord | null;
  let budget: { refund(): Promise<void> };
  let valid: boolean;
  try {
    user = await deps.users.findByEmail(email);
    budget = await reserveAccountBudget(deps, email, user, ctx);
    // Hash even when the email is unknown, so the response time does not tell which emails exist.
    valid = await checkedWithin(budget, () =>
      deps.hasher.verify(user?.passwordHash ?? deps.hasher.dummyHash, input.password, "login", admission),
    );
  } finally {
    // verify gave the place back when its hash was queued; this covers a login refused before that.
    admission.release();
  }
  if (!user || !valid || user.deletedAt) {
    // The reserved unit stays spent: that is the failure counted.
    if (user) await recordEvent(deps, user, "login_failure", ctx, { reason: "invalid_password" });
    throw new AuthError("INVALID_CREDENTIALS");
  }
  await budget.refund();

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

  return completeLogin(deps, user, ctx, { amr: ["pwd"] });
}

/**
 * The end of every first-factor login (password, Google, Apple): the MFA challenge when the
 * user has a second factor, else the session. `amr` is how the first factor was proved;
 * `detail` goes into the security events; `refusal` answers a login a password reset overtook.
 */
export async function completeLogin(
  deps: DomainDeps,
  user: UserRecord,
  ctx: RequestContext,
  options: { amr: string[]; detail?: Record<string, unknown>; refusal?: AuthErrorCode },
): Promise<LoginResult> {
  const { amr, detail, refusal } = options;
  if (await isMfaEnabled(deps, user)) return createMfaChallenge(deps, user, ctx, { amr, detail, refusal });
  const tokens = await startSession(deps, user, ctx, {
    amr,
    refusal,
    within: (tx) => recordEvent(tx, user, "login_success", ctx, detail),
  });
  // Only a completed login makes a browser a known device (with MFA: after the code, in verify.ts).
  ctx.device?.remember(user.id);
  return tokens;
}

/**
 * NIST SP 800-63B 5.2.2: at most ACCOUNT_FAILURE_LIMIT wrong passwords and second-factor codes
 * per account per window, from all IPs together. Reserve-then-verify: one unit is taken with an
 * atomic increment before the password or code is checked, and given back when it was right,
 * so concurrent guesses can never exceed the budget.
 *
 * The owner keeps a way in once the budget is spent: a known device (a browser with a valid
 * device cookie, or a client on the network of a session of the last KNOWN_DEVICE_DAYS: the
 * same IPv4 address or IPv6 /64) gets a budget of its own, and an owner on a new device is
 * mailed a one-time link that lifts the throttle (POST /api/auth/unlock). A step-up comes from a
 * live session of the user (`sessionId`): that session is the known device, with a budget of its
 * own, wherever its request comes from (a phone that changed networks since it signed in).
 */
export async function reserveAccountBudget(
  deps: BudgetDeps,
  email: string,
  user: UserRecord | null,
  ctx: RequestContext,
  sessionId?: string,
): Promise<{ refund(): Promise<void> }> {
  const rule = deps.config.ACCOUNT_FAILURE_LIMIT;
  const reservation = await deps.limiter.reserve(ACCOUNT_FAILURES, rule, email);
  if (reservation.allowed) return reservation;
  if (user && !user.deletedAt) {
    const device = sessionId ? `session:${sessionId}` : await knownDevice(deps, user, ctx);
    if (device) {
      const own = await deps.limiter.reserve(KNOWN_DEVICE_FAILURES, rule, `${email}|${device}`);
      if (own.allowed) return own;
    }
    await offerUnlock(deps, user, ctx);
  }
  throw new AuthError("ACCOUNT_THROTTLED", { retryAfterSeconds: reservation.retryAfterSeconds });
}

/** How the caller is known to the user: `cookie:<device id>`, `net:<network>`, or null for a new device. */
async function knownDevice(
  deps: Pick<DomainDeps, "sessions" | "clock" | "config">,
  user: UserRecord,
  ctx: RequestContext,
): Promise<string | null> {
  const cookie = ctx.device?.knownId(user.id);
  if (cookie) return `cookie:${cookie}`;
  if (!ctx.ip) return null;
  const network = clientKey(ctx.ip);
  const since = new Date(deps.clock.now().getTime() - deps.config.KNOWN_DEVICE_DAYS * 86_400_000);
  const recent = await deps.sessions.recentSessionIps(user.id, since, KNOWN_NETWORKS_CHECKED);
  return recent.some((ip) => clientKey(ip) === network) ? `net:${network}` : null;
}

/** Tells a throttled owner, at most once an hour, and mails the link that lets them back in. */
async function offerUnlock(deps: BudgetDeps, user: UserRecord, ctx: RequestContext): Promise<void> {
  const rules = EMAIL_TOKEN_RULES.unlock;
  for (const cap of rules.caps) if (!(await deps.limiter.hit(cap.name, cap.rule, user.id)).allowed) return;
  mailTokenLink(deps, user, "unlock", ctx);
  await recordEvent(deps, user, "account_throttled", ctx);
}

export const UNLOCK_DONE_MESSAGE = "Sign-in is unlocked. You can log in now.";

/**
 * POST /api/auth/unlock: spends the mailed token (one conditional write: single use), empties
 * the account budget, and remembers the browser that opened the link as a device of the owner.
 */
export async function unlockAccount(
  deps: Pick<DomainDeps, "emailTokens" | "users" | "limiter" | "events" | "clock" | "config">,
  token: string,
  ctx: RequestContext,
): Promise<{ message: string }> {
  const spent = await deps.emailTokens.consume(sha256Hex(token), "unlock", deps.clock.now());
  const user = spent ? await deps.users.findById(spent.userId) : null;
  if (!spent || !user || user.deletedAt) throw new AuthError("EMAIL_TOKEN_INVALID");
  await deps.limiter.clear(ACCOUNT_FAILURES, deps.config.ACCOUNT_FAILURE_LIMIT, user.email);
  ctx.device?.remember(user.id);
  await recordEvent(deps, user, "account_unlocked", ctx);
  return { message: UNLOCK_DONE_MESSAGE };
}
