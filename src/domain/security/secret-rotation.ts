import { TOTP_SECRET_PURPOSE } from "../factors/totp/totp.js";
import { MIN_SECRET_LENGTH, SecretBox } from "../lib/secret-box.js";
import { SIGNING_KEY_PURPOSE } from "../sessions/signing-keys.js";

/** What a rotation rewrote and what it had to drop. */
export interface ResealCounts {
  signingKeys: number;
  totpSecrets: number;
  backupCodes: number;
  emailCodes: number;
}

/** The stored values the master secret protects (src/storage/secret-rotation.ts). */
export interface SealedStore {
  /**
   * In one transaction: every signing key's private key and every TOTP secret rewritten by
   * `rewrite`, and every backup code and pending email code deleted. A throw from `rewrite`
   * (a value sealed under another secret) leaves everything as it was.
   */
  reseal(rewrite: { signingKey(sealed: string): string; totpSecret(sealed: string): string }): Promise<ResealCounts>;
}

export class SecretRotationError extends Error {}

/**
 * `warden secret rotate`: everything sealed under the current master secret (`deps.box`) is
 * sealed again under `next`, in one transaction. Backup codes and pending email codes are kept
 * as keyed hashes of codes Warden never stores, so they cannot be carried over: they are deleted
 * (their users make new backup codes; an email code is asked for again). Known-device cookies
 * stop matching (their HMAC key changes); a known network still counts. API keys, refresh and
 * mail tokens are plain SHA-256 and do not change.
 */
export async function rotateMasterSecret(
  deps: { box: SecretBox; sealed: SealedStore },
  current: string,
  next: string,
): Promise<ResealCounts> {
  if (next.length < MIN_SECRET_LENGTH)
    throw new SecretRotationError(`the new secret must be at least ${MIN_SECRET_LENGTH} characters`);
  if (next === current) throw new SecretRotationError("the new secret is the current one");
  const nextBox = new SecretBox(next);
  const move = (purpose: string) => (sealed: string) => {
    if (!sealed) return sealed; // a factor row that holds no secret
    let plain: string;
    try {
      plain = deps.box.decrypt(purpose, sealed);
    } catch {
      throw new SecretRotationError(
        "a stored value does not open with the current secret: WARDEN_SECRET is not the one the database was sealed with; nothing was changed",
      );
    }
    return nextBox.encrypt(purpose, plain);
  };
  return deps.sealed.reseal({ signingKey: move(SIGNING_KEY_PURPOSE), totpSecret: move(TOTP_SECRET_PURPOSE) });
}
