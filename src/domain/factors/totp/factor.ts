import type { DomainDeps } from "../../context.js";
import type { FactorRecord, FactorStore } from "../ports.js";
import { requireCode, type SecondFactor } from "../second-factor.js";
import { acceptTotpCode } from "./totp.js";

export const TOTP = "totp";

/** The user's TOTP authenticator in use, if any, among their factor rows. */
export const confirmedTotp = (factors: FactorRecord[]): FactorRecord | undefined =>
  factors.find((f) => f.type === TOTP && f.state === "confirmed");

/** A TOTP setup waiting for its first code, if any. */
export const pendingTotp = (factors: FactorRecord[]): FactorRecord | undefined =>
  factors.find((f) => f.type === TOTP && f.state === "pending");

/** Whether the user has TOTP on. */
export const totpEnabled = async (deps: { factors: FactorStore }, userId: string): Promise<boolean> =>
  confirmedTotp(await deps.factors.listForUser(userId)) !== undefined;

/** TOTP as a SecondFactor: the confirmed authenticator in the factors table, each step accepted once. */
export function totpFactor(deps: DomainDeps): SecondFactor {
  return {
    method: "totp",
    turnsMfaOn: true,
    isAvailable: (user) => totpEnabled(deps, user.id),
    assertInput: requireCode,
    async verify(_challenge, user, input) {
      const factor = confirmedTotp(await deps.factors.listForUser(user.id));
      const ok = factor !== undefined && (await acceptTotpCode(deps, factor, input.code!.trim()));
      return ok ? { ok: true, amr: ["otp"] } : { ok: false };
    },
  };
}
