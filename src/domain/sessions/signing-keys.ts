import crypto, { type KeyObject } from "node:crypto";
import type { JWK } from "jose";
import type { Clock, SigningKeyRecord, SigningKeyStore } from "../ports.js";
import type { SecretBox } from "../lib/secret-box.js";

const PURPOSE = "signing-key";
/** How long after its last token expired a retired key is still used to recognise that token as expired. */
const EXPIRED_KEY_MEMORY_SECONDS = 86_400;

interface LoadedKey {
  kid: string;
  publicKey: KeyObject;
  publicJwk: JWK;
  createdAt: Date;
  retiredAt: Date | null;
}

/**
 * The RS256 key ring, shared by every instance through the database. The newest unretired key
 * signs; a retired key keeps verifying (and stays in the JWKS) until every token it signed has
 * expired. Instances reload the ring periodically, so a rotation made by the CLI reaches them all.
 */
export class SigningKeys {
  private keys: LoadedKey[] = [];
  private current: { kid: string; privateKey: KeyObject } | null = null;
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
    const records = await this.store.list();
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
    if (this.current?.kid !== signer.kid) {
      let pem: string;
      try {
        pem = this.box.decrypt(PURPOSE, signer.privateKeyEnc);
      } catch (cause) {
        throw new Error("cannot decrypt the signing key: WARDEN_SECRET differs from the one that encrypted it", {
          cause,
        });
      }
      this.current = { kid: signer.kid, privateKey: crypto.createPrivateKey(pem) };
    }
    this.keys = keys;
  }

  /** Reloads every `intervalMs` so a rotation by another process takes effect here too. */
  startAutoReload(intervalMs: number, onError: (error: unknown) => void): void {
    this.timer = setInterval(() => this.reload().catch(onError), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
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
   * Verification keeps a retired key a day longer than the JWKS does. Every token it signed has
   * expired by then, so it can only ever conclude "expired": a client holding an old token is
   * told "Expired JWT Token" (refresh) rather than "Invalid JWT Token" (log in again).
   */
  publicKey(kid: string): KeyObject | undefined {
    return this.keysRetiredWithin(EXPIRED_KEY_MEMORY_SECONDS).find((k) => k.kid === kid)?.publicKey;
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

  list(): Array<{ kid: string; createdAt: Date; retiredAt: Date | null; signing: boolean; published: boolean }> {
    const live = new Set(this.liveKeys().map((k) => k.kid));
    return this.keys.map((k) => ({
      kid: k.kid,
      createdAt: k.createdAt,
      retiredAt: k.retiredAt,
      signing: k.kid === this.current?.kid,
      published: live.has(k.kid),
    }));
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
    const { publicKey, privateKey } = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
    const jwk = publicKey.export({ format: "jwk" });
    const kid = crypto.createHash("sha256").update(`${jwk.n}.${jwk.e}`).digest("base64url").slice(0, 16);
    const pem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    return {
      kid,
      publicJwk: JSON.stringify({ kty: jwk.kty, n: jwk.n, e: jwk.e }),
      privateKeyEnc: this.box.encrypt(PURPOSE, pem),
      createdAt: this.clock.now(),
      retiredAt: null,
    };
  }
}
