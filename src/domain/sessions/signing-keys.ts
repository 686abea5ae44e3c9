import crypto, { type KeyObject } from "node:crypto";
import { promisify } from "node:util";
import type { JWK } from "jose";
import type { Clock } from "../lib/ports.js";
import type { SigningKeyRecord, SigningKeyStore } from "./ports.js";
import { SealedValueError, type SecretBox } from "../lib/secret-box.js";
import { AuthError } from "../errors.js";

/** What a signing key's private key is sealed for (SecretBox purpose). */
export const SIGNING_KEY_PURPOSE = "signing-key";
/**
 * RSA key generation (~100 ms of CPU for 2048 bits) runs on libuv's thread pool, not on the event
 * loop: a first start overlaps it with loading the app (main.ts), and a rotation or revocation
 * in a running server does not stall the requests in flight.
 */
const generateKeyPair = promisify(crypto.generateKeyPair);
/** How long after its last token expired a retired key is still used to recognise that token as expired. */
const EXPIRED_KEY_MEMORY_SECONDS = 86_400;
/**
 * How often every instance re-reads the key ring. A revocation must be seen everywhere within a
 * second; the read is one small query, and the ring is rebuilt only when a row changed.
 */
export const KEY_RELOAD_MS = 1_000;
/**
 * Tokens a retired key signed up to this long after it retired still verify: other instances
 * sign with it until their next reload (KEY_RELOAD_MS), and a reload can be late by a slow query.
 */
export const RETIREMENT_GRACE_SECONDS = 60;

interface LoadedKey {
  kid: string;
  publicKey: KeyObject;
  publicJwk: JWK;
  createdAt: Date;
  retiredAt: Date | null;
}

/** What verification may accept from a key: none of it once revoked, and nothing newer than its retirement. */
export interface VerificationKey {
  publicKey: KeyObject;
  /** Latest `iat` (seconds) accepted; undefined while the key signs. */
  maxIssuedAt?: number;
  /** Latest `exp` (seconds) accepted; undefined while the key signs. */
  maxExpiresAt?: number;
}

export type SigningKeyStatus = "signing" | "retired" | "revoked";

/**
 * The RS256 key ring, shared by every instance through the database. The newest unretired key
 * signs; a retired key keeps verifying (and stays in the JWKS) until every token it signed has
 * expired. Instances reload the ring periodically, so a rotation made by the CLI reaches them all.
 */
export class SigningKeys {
  private keys: LoadedKey[] = [];
  private revoked: Array<{ kid: string; createdAt: Date; retiredAt: Date | null; revokedAt: Date }> = [];
  private current: { kid: string; privateKey: KeyObject; sealed: string } | null = null;
  private fingerprint = "";
  private secretRotatedAway = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: SigningKeyStore,
    private readonly box: SecretBox,
    private readonly clock: Clock,
    private readonly accessTokenTtlSeconds: number,
  ) {}

  /** Creates the first key if the database has none, then loads the ring. */
  async init(): Promise<void> {
    if ((await this.store.list()).length === 0) {
      await this.store.insertFirst(await this.generate());
    }
    await this.reload();
  }

  async reload(): Promise<void> {
    const all = await this.store.list();
    // The sealed private key is part of it: `warden secret rotate` seals every key anew.
    const fingerprint = all
      .map((r) => `${r.kid}:${r.retiredAt?.getTime()}:${r.revokedAt?.getTime()}:${r.privateKeyEnc}`)
      .join(",");
    if (fingerprint === this.fingerprint && this.current) return;
    // A revoked key is gone for verification and the JWKS; `list()` still shows it.
    const records = all.filter((r) => !r.revokedAt);
    const keys = records.map((r): LoadedKey => {
      const publicJwk = JSON.parse(r.publicJwk) as JWK;
      return {
        kid: r.kid,
        publicJwk,
        publicKey: crypto.createPublicKey({ key: publicJwk as crypto.JsonWebKey, format: "jwk" }),
        createdAt: r.createdAt,
        retiredAt: r.retiredAt,
      };
    });
    const signer = records.filter((r) => r.retiredAt === null).at(-1);
    if (!signer) throw new Error("no active signing key: run `warden keys rotate`");
    if (this.current?.sealed !== signer.privateKeyEnc) {
      let pem: string;
      try {
        pem = this.box.decrypt(SIGNING_KEY_PURPOSE, signer.privateKeyEnc);
      } catch (cause) {
        if (!this.current) {
          throw new Error("cannot decrypt the signing key: WARDEN_SECRET differs from the one that encrypted it", {
            cause,
          });
        }
        // Running, and the database is now sealed under another secret: whatever this instance
        // sealed or hashed from now on (a TOTP secret, backup codes) no other could open.
        this.secretRotatedAway = true;
        throw new SealedValueError(
          "WARDEN_SECRET was changed while this instance ran (warden secret rotate): the signing key no longer opens; every request gets 503 until this instance is restarted with the new secret",
          { cause },
        );
      }
      this.current = { kid: signer.kid, privateKey: crypto.createPrivateKey(pem), sealed: signer.privateKeyEnc };
      this.secretRotatedAway = false;
    }
    this.keys = keys;
    this.revoked = all
      .filter((r) => r.revokedAt)
      .map((r) => ({ kid: r.kid, createdAt: r.createdAt, retiredAt: r.retiredAt, revokedAt: r.revokedAt! }));
    this.fingerprint = fingerprint;
  }

  /**
   * Reloads every `intervalMs` so a rotation or revocation by another process takes effect here
   * too. `onError` hears of the first failure of a streak and `onRecovered` of its end, so a
   * database outage is one log line, not one a second.
   */
  startAutoReload(intervalMs: number, onError: (error: unknown) => void, onRecovered?: () => void): void {
    let failing = false;
    let running = false;
    this.timer = setInterval(() => {
      if (running) return;
      running = true;
      this.reload()
        .then(() => {
          if (failing) onRecovered?.();
          failing = false;
        })
        .catch((error: unknown) => {
          if (!failing) onError(error);
          failing = true;
        })
        .finally(() => (running = false));
    }, intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /**
   * True once a reload found the signer sealed under a master secret other than this process's:
   * the secret was rotated while this instance ran. Every request then gets 503 (app.ts), so
   * nothing is sealed or hashed under the old secret, until the instance restarts with the new one.
   */
  get secretRotated(): boolean {
    return this.secretRotatedAway;
  }

  signer(): { kid: string; privateKey: KeyObject } {
    if (!this.current) throw new Error("signing keys not loaded");
    return this.current;
  }

  /** Keys retired within `afterSeconds` past a token's life (plus the signer). */
  private keysRetiredWithin(afterSeconds: number): LoadedKey[] {
    const cutoff = this.clock.now().getTime() - (this.accessTokenTtlSeconds + afterSeconds) * 1000;
    return this.keys.filter((k) => k.retiredAt === null || k.retiredAt.getTime() > cutoff);
  }

  /** Published keys: the signer, and retired keys that may still have signed a live token. */
  private liveKeys(): LoadedKey[] {
    return this.keysRetiredWithin(0);
  }

  /**
   * The key for a token's `kid`, with the limits a retired key puts on the token. Verification
   * keeps a retired key a day longer than the JWKS does: every token it legitimately signed has
   * expired by then, so it can only conclude "expired", and a client holding an old token is
   * told "Expired JWT Token" (refresh) rather than "Invalid JWT Token" (log in again). A token
   * it "signed" after it retired (plus RETIREMENT_GRACE_SECONDS) is refused, whatever its `exp`:
   * whoever holds an old key cannot mint new tokens with it. A revoked key verifies nothing.
   */
  verificationKey(kid: string): VerificationKey | undefined {
    const key = this.keysRetiredWithin(EXPIRED_KEY_MEMORY_SECONDS).find((k) => k.kid === kid);
    if (!key) return undefined;
    if (!key.retiredAt) return { publicKey: key.publicKey };
    const maxIssuedAt = Math.floor(key.retiredAt.getTime() / 1000) + RETIREMENT_GRACE_SECONDS;
    return { publicKey: key.publicKey, maxIssuedAt, maxExpiresAt: maxIssuedAt + this.accessTokenTtlSeconds };
  }

  /** The public key for `kid`, if it may verify anything at all. */
  publicKey(kid: string): KeyObject | undefined {
    return this.verificationKey(kid)?.publicKey;
  }

  jwks(): { keys: JWK[] } {
    return {
      keys: this.liveKeys().map((k) => ({
        kty: k.publicJwk.kty,
        n: k.publicJwk.n,
        e: k.publicJwk.e,
        kid: k.kid,
        alg: "RS256",
        use: "sig",
      })),
    };
  }

  list(): Array<{
    kid: string;
    createdAt: Date;
    retiredAt: Date | null;
    revokedAt: Date | null;
    status: SigningKeyStatus;
    signing: boolean;
    published: boolean;
  }> {
    const live = new Set(this.liveKeys().map((k) => k.kid));
    return [
      ...this.keys.map((k) => ({
        kid: k.kid,
        createdAt: k.createdAt,
        retiredAt: k.retiredAt,
        revokedAt: null,
        status: (k.kid === this.current?.kid ? "signing" : "retired") as SigningKeyStatus,
        signing: k.kid === this.current?.kid,
        published: live.has(k.kid),
      })),
      ...this.revoked.map((k) => ({
        ...k,
        status: "revoked" as SigningKeyStatus,
        signing: false,
        published: false,
      })),
    ].sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
  }

  /**
   * Revokes `kid` (a key that leaked): it leaves the JWKS and verifies nothing from now on, here
   * at once and on every other instance at its next reload (KEY_RELOAD_MS). Every token it
   * signed dies; clients refresh and get tokens of the new signer. When `kid` is the signer, a
   * new key replaces it in the same transaction, so there is always exactly one signer.
   * Throws AuthError NOT_FOUND for a kid that is not in the ring.
   */
  async revoke(kid: string): Promise<{ kid: string; alreadyRevoked: boolean; newSigner: string | null }> {
    let replacement: SigningKeyRecord | undefined;
    for (;;) {
      const result = await this.store.revoke(kid, this.clock.now(), replacement);
      switch (result.outcome) {
        case "unknown":
          throw new AuthError("NOT_FOUND");
        case "already_revoked":
          await this.reload();
          return { kid, alreadyRevoked: true, newSigner: null };
        case "revoked":
          await this.reload();
          return { kid, alreadyRevoked: false, newSigner: result.replacedBy };
        case "needs_replacement":
          // Generated outside the transaction (it takes ~100 ms of CPU), then the revocation is retried with it.
          replacement = await this.generate();
      }
    }
  }

  /** Makes a new key the signer; the old one keeps verifying until its tokens expire. */
  async rotate(): Promise<string> {
    const key = await this.generate();
    await this.store.rotate(key, this.clock.now());
    const cutoff = new Date(
      this.clock.now().getTime() - (this.accessTokenTtlSeconds + EXPIRED_KEY_MEMORY_SECONDS) * 1000,
    );
    await this.store.deleteRetiredBefore(cutoff);
    await this.reload();
    return key.kid;
  }

  private async generate(): Promise<SigningKeyRecord> {
    const { publicKey, privateKey } = await generateKeyPair("rsa", { modulusLength: 2048 });
    const jwk = publicKey.export({ format: "jwk" });
    // Hex, not base64url: one base64url kid in 64 began with "-", which `warden keys revoke KID`
    // took for an option. Keys made before keep their kids (`warden keys revoke -- KID`).
    const kid = crypto.createHash("sha256").update(`${jwk.n}.${jwk.e}`).digest("hex").slice(0, 16);
    const pem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    return {
      kid,
      publicJwk: JSON.stringify({ kty: jwk.kty, n: jwk.n, e: jwk.e }),
      privateKeyEnc: this.box.encrypt(SIGNING_KEY_PURPOSE, pem),
      createdAt: this.clock.now(),
      retiredAt: null,
    };
  }
}
