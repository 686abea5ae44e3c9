import type { DomainDeps } from "../context.js";
import type { UserRecord } from "../accounts/ports.js";
import { backupCodeFactor } from "./backup-codes/backup-codes.js";
import { passkeyFactor } from "./passkeys/factor.js";
import { emailOtpFactor } from "./email-otp/email-otp.js";
import type { FactorMethod, SecondFactor } from "./second-factor.js";
import { totpFactor } from "./totp/factor.js";

/**
 * Every second factor Warden knows, in the order `mfa_methods` lists them. New factors are added
 * here: one line (and the method's name in FactorMethod). Built from `deps`, so inside a unit of
 * work (`factorFor(tx, ...)`) every factor writes through the transaction.
 */
export function secondFactors(deps: DomainDeps): SecondFactor[] {
  return [totpFactor(deps), backupCodeFactor(deps), passkeyFactor(deps), emailOtpFactor(deps)];
}

/** The methods the user can answer a challenge with right now. */
export async function availableMethods(deps: DomainDeps, user: UserRecord): Promise<FactorMethod[]> {
  const factors = secondFactors(deps);
  const available = await Promise.all(factors.map((f) => f.isAvailable(user)));
  return factors.filter((_, i) => available[i]).map((f) => f.method);
}

/** MFA is on when the user holds a factor that turns it on (TOTP or a passkey). */
export async function hasMfa(deps: DomainDeps, user: UserRecord): Promise<boolean> {
  for (const factor of secondFactors(deps)) if (factor.turnsMfaOn && (await factor.isAvailable(user))) return true;
  return false;
}

/** Storno's spellings of a method in `type`: `backup` is `backup_code`; absent is `totp`. */
export function factorFor(deps: DomainDeps, type: string | undefined): SecondFactor | null {
  const method = type === undefined || type === "" ? "totp" : type === "backup" ? "backup_code" : type;
  return secondFactors(deps).find((f) => f.method === method) ?? null;
}
