import type { DomainDeps, RequestContext } from "../context.js";
import { AuthError, type AuthErrorCode } from "../errors.js";
import { sha256Hex } from "../lib/secret-box.js";
import type { UserRecord } from "../accounts/ports.js";
import { recordEvent } from "../security/events.js";
import { inTransaction } from "../unit-of-work.js";
import { availableMethods, hasMfa } from "./registry.js";
import type { FactorMethod } from "./second-factor.js";

export type MfaMethod = FactorMethod;

/** A login that needs a second factor: the challenge's token and the methods that can answer it. */
export interface MfaChallenge {
  challengeToken: string;
  methods: MfaMethod[];
}

/** The methods a user can answer a challenge with right now. */
export const mfaMethodsOf = (deps: DomainDeps, user: UserRecord): Promise<MfaMethod[]> => availableMethods(deps, user);

/** TOTP or a passkey turns MFA on (Storno's rule). */
export const isMfaEnabled = (deps: DomainDeps, user: UserRecord): Promise<boolean> => hasMfa(deps, user);

/**
 * Issues a challenge instead of tokens: 64 hex characters (256 random bits), bound to the user,
 * valid MFA_CHALLENGE_TTL seconds, single use. Only its hash is stored. It lists the methods
 * (the factor registry's) the user can answer it with.
 */
export async function createMfaChallenge(
  deps: DomainDeps,
  user: UserRecord,
  ctx: RequestContext,
  login: {
    /** How the first factor was proved: ["pwd"], ["fed"]; the session adds the second's. */
    amr: string[];
    detail?: Record<string, unknown>;
    refusal?: AuthErrorCode;
  },
): Promise<MfaChallenge> {
  const methods = await mfaMethodsOf(deps, user);
  const now = deps.clock.now();
  const token = deps.random.bytes(32).toString("hex");
  await inTransaction(deps, async (tx) => {
    // Like a session: a challenge won with a password a reset has since replaced is refused, and a
    // reset that commits after this one revokes it (see UserStore.confirmPasswordEpoch).
    if (!(await tx.users.confirmPasswordEpoch(user.id, user.passwordEpoch))) {
      throw new AuthError(login.refusal ?? "INVALID_CREDENTIALS");
    }
    await tx.mfaChallenges.create({
      tokenHash: sha256Hex(token),
      userId: user.id,
      createdAt: now,
      expiresAt: new Date(now.getTime() + tx.config.MFA_CHALLENGE_TTL * 1000),
      ip: ctx.ip,
      userAgent: ctx.userAgent,
      amr: login.amr,
    });
    await recordEvent(tx, user, "mfa_challenge_issued", ctx, login.detail);
  });
  return { challengeToken: token, methods };
}

/** Codes checked against one challenge at most; then it is dead and the user must log in again. */
export const MAX_MFA_ATTEMPTS = 5;
