import type { DomainDeps } from "../context.js";
import type { UserRecord } from "../ports.js";
import { backupCodeFactor } from "./backup-codes/factor.js";
import type { MfaSubject, SecondFactor } from "./second-factor.js";
import { totpFactor } from "./totp/factor.js";

/** Every second factor Warden offers, in the order `mfa_methods` lists them. Add new ones here. */
export const SECOND_FACTORS: readonly SecondFactor[] = [totpFactor, backupCodeFactor];

/** Every `type` verify accepts: each method and its aliases. */
export const FACTOR_TYPES: readonly string[] = SECOND_FACTORS.flatMap((f) => [f.method, ...(f.aliases ?? [])]);

/** The factor a verify request's `type` names (Storno's default: TOTP); undefined when none. */
export const factorFor = (type: string | undefined): SecondFactor | undefined =>
  SECOND_FACTORS.find((f) => f.method === (type ?? totpFactor.method) || f.aliases?.includes(type ?? ""));

/** The user with every factor row of theirs: one query, however many factors ask about it. */
export async function loadSubject(deps: Pick<DomainDeps, "factors">, user: UserRecord): Promise<MfaSubject> {
  return { user, factors: await deps.factors.listForUser(user.id) };
}

/** The methods the user can answer a challenge with right now. */
export async function availableMethods(deps: DomainDeps, subject: MfaSubject): Promise<string[]> {
  const methods: string[] = [];
  for (const factor of SECOND_FACTORS) if (await factor.isAvailable(deps, subject)) methods.push(factor.method);
  return methods;
}

/** Two-factor is on when a factor that turns it on is available (a fallback such as backup codes does not). */
export async function hasSecondFactor(deps: DomainDeps, subject: MfaSubject): Promise<boolean> {
  for (const factor of SECOND_FACTORS) {
    if (factor.turnsMfaOn && (await factor.isAvailable(deps, subject))) return true;
  }
  return false;
}
