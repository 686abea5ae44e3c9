import type { DomainDeps } from "../../context.js";
import type { Random } from "../../lib/ports.js";
import { requireCode, type SecondFactor } from "../second-factor.js";

/** No 0/o, 1/l/i: nothing a user could misread off paper. 31 symbols, 8 per code: about 40 bits. */
export const BACKUP_CODE_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789";
export const BACKUP_CODE_COUNT = 10;
const CODE_LENGTH = 8;

/** SecretBox purpose of the keyed hash backup codes are stored under. */
const BACKUP_CODE_PURPOSE = "backup-code";

/**
 * One `xxxx-xxxx` code from the CSPRNG. Rejection sampling keeps every symbol equally likely:
 * bytes >= 248 (the largest multiple of 31 below 256) are drawn again, never folded.
 */
function newBackupCode(random: Pick<Random, "bytes">): string {
  const limit = 256 - (256 % BACKUP_CODE_ALPHABET.length);
  let code = "";
  while (code.length < CODE_LENGTH) {
    for (const byte of random.bytes(CODE_LENGTH * 2)) {
      if (byte < limit && code.length < CODE_LENGTH) code += BACKUP_CODE_ALPHABET[byte % BACKUP_CODE_ALPHABET.length];
    }
  }
  return `${code.slice(0, 4)}-${code.slice(4)}`;
}

/** Accepted in any case, with or without the dash and spaces; null when it cannot be a code. */
export function normaliseBackupCode(input: string): string | null {
  const code = input.replace(/[\s-]/g, "").toLowerCase();
  if (code.length !== CODE_LENGTH) return null;
  for (const char of code) if (!BACKUP_CODE_ALPHABET.includes(char)) return null;
  return code;
}

/**
 * HMAC under a key derived from the master secret, not a plain hash: 40 bits fall to brute
 * force in hours, so a leaked table alone must not be enough to test guesses against.
 */
const hashBackupCode = (deps: Pick<DomainDeps, "box">, normalised: string): string =>
  deps.box.keyedHash(BACKUP_CODE_PURPOSE, normalised);

/** Issues a fresh set of codes; every older code of the user dies in the same transaction. */
export async function issueBackupCodes(deps: DomainDeps, userId: string): Promise<string[]> {
  const codes = new Set<string>();
  while (codes.size < BACKUP_CODE_COUNT) codes.add(newBackupCode(deps.random));
  const hashes = [...codes].map((code) => hashBackupCode(deps, normaliseBackupCode(code)!));
  await deps.backupCodes.replaceAll(userId, hashes, deps.clock.now());
  return [...codes];
}

/** Spends one code with a single conditional write: of two concurrent uses exactly one succeeds. */
export async function spendBackupCode(deps: DomainDeps, userId: string, input: string): Promise<boolean> {
  const normalised = normaliseBackupCode(input);
  if (!normalised) return false;
  return deps.backupCodes.consume(userId, hashBackupCode(deps, normalised), deps.clock.now());
}

/** Backup codes as a SecondFactor: they back up a factor that turns MFA on, never turn it on themselves. */
export function backupCodeFactor(deps: DomainDeps): SecondFactor {
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
