import type { DomainDeps } from "../context.js";
import { AuthError } from "../errors.js";
import type { UserRecord } from "../ports.js";
import { spendBackupCode } from "./backup-codes/backup-codes.js";
import { passkeyFactor } from "./passkeys/factor.js";
import type { FactorInput, FactorMethod, SecondFactor } from "./second-factor.js";
import { acceptTotpCode } from "./totp/totp.js";

const requireCode = (input: FactorInput): void => {
  if (!input.code?.trim()) throw new AuthError("MFA_CODE_MISSING");
};

function totpFactor(deps: DomainDeps): SecondFactor {
  return {
    method: "totp",
    turnsMfaOn: true,
    isAvailable: async (user) => user.totpEnabledAt !== null,
    assertInput: requireCode,
    async verify(_challenge, user, input) {
      const ok =
        user.totpEnabledAt !== null &&
        user.totpSecretEnc !== null &&
        (await acceptTotpCode(deps, user.id, user.totpSecretEnc, input.code!.trim()));
      return ok ? { ok: true, amr: ["otp"] } : { ok: false };
    },
  };
}

function backupCodeFactor(deps: DomainDeps): SecondFactor {
  return {
    method: "backup_code",
    turnsMfaOn: false,
    isAvailable: async (user) => (await deps.backupCodes.countUnused(user.id)) > 0,
    assertInput: requireCode,
    async verify(_challenge, user, input) {
      return (await spendBackupCode(deps, user.id, input.code!.trim())) ? { ok: true, amr: ["otp"] } : { ok: false };
    },
  };
}

/** Every second factor Warden knows, in the order `mfa_methods` lists them. New factors are added here. */
export function secondFactors(deps: DomainDeps): SecondFactor[] {
  return [totpFactor(deps), backupCodeFactor(deps), passkeyFactor(deps)];
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
