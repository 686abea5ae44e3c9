import type { SecondFactor } from "../second-factor.js";
import { spendBackupCode } from "./backup-codes.js";

/** Single-use recovery codes, issued with TOTP. A fallback: having them does not turn two-factor on. */
export const backupCodeFactor: SecondFactor = {
  method: "backup_code",
  aliases: ["backup"],
  turnsMfaOn: false,
  isAvailable: async (deps, subject) => (await deps.backupCodes.countUnused(subject.user.id)) > 0,
  missingInput: (input) => (typeof input.code === "string" && input.code.trim() ? null : "MFA_CODE_MISSING"),
  async verify(tx, subject, input) {
    const accepted = await spendBackupCode(tx, subject.user.id, String(input.code).trim());
    // RFC 8176 has no value of its own for a recovery code; it is a one-time password.
    return accepted ? { accepted: true, amr: ["otp"] } : { accepted: false };
  },
};
