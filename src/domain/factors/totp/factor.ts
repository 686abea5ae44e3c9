import type { FactorRecord } from "../ports.js";

export const TOTP = "totp";

/** The user's TOTP authenticator in use, if any, among their factor rows. */
export const confirmedTotp = (factors: FactorRecord[]): FactorRecord | undefined =>
  factors.find((f) => f.type === TOTP && f.state === "confirmed");

/** A TOTP setup waiting for its first code, if any. */
export const pendingTotp = (factors: FactorRecord[]): FactorRecord | undefined =>
  factors.find((f) => f.type === TOTP && f.state === "pending");
