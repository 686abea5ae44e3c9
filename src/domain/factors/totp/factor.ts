import type { FactorRecord } from "../ports.js";
import type { MfaSubject, SecondFactor } from "../second-factor.js";
import { acceptTotpCode } from "./totp.js";

export const TOTP = "totp";

/** The user's TOTP authenticator in use, if any. */
export const confirmedTotp = (subject: MfaSubject): FactorRecord | undefined =>
  subject.factors.find((f) => f.type === TOTP && f.state === "confirmed");

/** A TOTP setup waiting for its first code, if any. */
export const pendingTotp = (subject: MfaSubject): FactorRecord | undefined =>
  subject.factors.find((f) => f.type === TOTP && f.state === "pending");

/** RFC 6238 codes from an authenticator app. Enrolment: totp/enrolment.ts. */
export const totpFactor: SecondFactor = {
  method: TOTP,
  turnsMfaOn: true,
  isAvailable: async (_deps, subject) => confirmedTotp(subject) !== undefined,
  missingInput: (input) => (typeof input.code === "string" && input.code.trim() ? null : "MFA_CODE_MISSING"),
  async verify(tx, subject, input) {
    const factor = confirmedTotp(subject);
    const accepted = factor !== undefined && (await acceptTotpCode(tx, factor, String(input.code).trim()));
    return accepted ? { accepted: true, amr: ["otp"] } : { accepted: false };
  },
};
