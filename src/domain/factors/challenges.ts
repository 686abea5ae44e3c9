import type { DomainDeps, RequestContext } from "../context.js";
import type { UserRecord } from "../ports.js";
import { sha256Hex } from "../lib/secret-box.js";
import { availableMethods, hasMfa } from "./registry.js";
import type { FactorMethod } from "./second-factor.js";

export type MfaMethod = FactorMethod;

export interface MfaChallengeResponse {
  mfa_required: true;
  mfa_token: string;
  mfa_methods: MfaMethod[];
}

/** The methods a user can answer a challenge with right now. */
export const mfaMethodsOf = (deps: DomainDeps, user: UserRecord): Promise<MfaMethod[]> => availableMethods(deps, user);

/** TOTP or a passkey turns MFA on (Storno's rule). */
export const isMfaEnabled = (deps: DomainDeps, user: UserRecord): Promise<boolean> => hasMfa(deps, user);

/**
 * Issues a challenge instead of tokens: 64 hex characters (256 random bits), bound to the user,
 * valid MFA_CHALLENGE_TTL seconds, single use. Only its hash is stored.
 */
export async function createMfaChallenge(
  deps: DomainDeps,
  user: UserRecord,
  ctx: RequestContext,
): Promise<MfaChallengeResponse> {
  const now = deps.clock.now();
  const token = deps.random.bytes(32).toString("hex");
  await deps.mfaChallenges.create({
    tokenHash: sha256Hex(token),
    userId: user.id,
    createdAt: now,
    expiresAt: new Date(now.getTime() + deps.config.MFA_CHALLENGE_TTL * 1000),
    ip: ctx.ip,
    userAgent: ctx.userAgent,
  });
  return { mfa_required: true, mfa_token: token, mfa_methods: await mfaMethodsOf(deps, user) };
}

/** Codes checked against one challenge at most; then it is dead and the user must log in again. */
export const MAX_MFA_ATTEMPTS = 5;
