import crypto from "node:crypto";

/** The least length of the master secret (WARDEN_SECRET, and the one `warden secret rotate` puts in its place). */
export const MIN_SECRET_LENGTH = 32;

/**
 * A sealed value does not open with this process's master secret: it was sealed under another
 * one, or altered. For a value Warden stored (a TOTP secret, a signing key) that means the secret
 * was changed (`warden secret rotate`) while this instance ran, and the HTTP layer answers 503 as
 * for a store it cannot reach (storage/faults.ts); for a cookie the caller treats it as no cookie.
 */
export class SealedValueError extends Error {
  override name = "SealedValueError";
}

/**
 * Encryption at rest (TOTP secrets, signing keys, grace-window successors) and keyed hashes
 * (backup codes), all from node:crypto. Each purpose gets its own key, derived from the one
 * master secret with HKDF, so a key serves exactly one use.
 */
export class SecretBox {
  private readonly keys = new Map<string, Buffer>();

  constructor(private readonly masterSecret: string) {}

  private key(purpose: string): Buffer {
    let key = this.keys.get(purpose);
    if (!key) {
      key = Buffer.from(crypto.hkdfSync("sha256", this.masterSecret, "warden", purpose, 32));
      this.keys.set(purpose, key);
    }
    return key;
  }

  /** AES-256-GCM; `purpose` is also bound as associated data. Output: `v1.<iv>.<ciphertext>.<tag>`. */
  encrypt(purpose: string, plaintext: string): string {
    return sealWithKey(this.key(purpose), purpose, plaintext);
  }

  /** Throws SealedValueError when the data was not sealed with this secret and purpose. */
  decrypt(purpose: string, sealed: string): string {
    try {
      return openWithKey(this.key(purpose), purpose, sealed);
    } catch (cause) {
      throw new SealedValueError(`a sealed ${purpose} value does not open with this WARDEN_SECRET`, { cause });
    }
  }

  /** HMAC-SHA256, hex: a value that cannot be brute-forced offline without the master secret. */
  keyedHash(purpose: string, value: string): string {
    return crypto.createHmac("sha256", this.key(purpose)).update(value).digest("hex");
  }
}

export function sealWithKey(key: Buffer, aad: string, plaintext: string): string {
  const iv = crypto.randomBytes(12);
  const cipher = crypto.createCipheriv("aes-256-gcm", key, iv);
  cipher.setAAD(Buffer.from(aad));
  const ciphertext = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
  return [
    "v1",
    iv.toString("base64url"),
    ciphertext.toString("base64url"),
    cipher.getAuthTag().toString("base64url"),
  ].join(".");
}

export function openWithKey(key: Buffer, aad: string, sealed: string): string {
  const [version, iv, ciphertext, tag] = sealed.split(".");
  if (version !== "v1" || !iv || ciphertext === undefined || !tag) throw new Error("unrecognised sealed value");
  const decipher = crypto.createDecipheriv("aes-256-gcm", key, Buffer.from(iv, "base64url"));
  decipher.setAAD(Buffer.from(aad));
  decipher.setAuthTag(Buffer.from(tag, "base64url"));
  return Buffer.concat([decipher.update(Buffer.from(ciphertext, "base64url")), decipher.final()]).toString("utf8");
}

/** SHA-256 hex of a high-entropy token: enough for lookup, since such tokens cannot be guessed. */
export const sha256Hex = (value: string): string => crypto.createHash("sha256").update(value).digest("hex");
