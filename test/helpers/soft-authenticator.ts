/**
 * A software WebAuthn authenticator for tests: P-256 keys from node:crypto, "none" attestation in
 * CBOR, ES256 assertions over authenticatorData || sha256(clientDataJSON). It plays the browser's
 * part too (clientDataJSON with type, challenge, origin), so each refusal can be produced by
 * changing exactly one thing: the origin, the RP ID, the UV flag, the counter, the challenge.
 * Independent of the verifier: its own CBOR encoder, no code from @simplewebauthn.
 */
import crypto from "node:crypto";

const sha256 = (data: Buffer | string): Buffer => crypto.createHash("sha256").update(data).digest();
const b64url = (data: Buffer): string => data.toString("base64url");

// --- A minimal CBOR encoder (RFC 8949): unsigned/negative integers, byte and text strings, maps.
type Cbor = number | Buffer | string | Map<Cbor, Cbor>;

function head(major: number, value: number): Buffer {
  if (value < 24) return Buffer.from([(major << 5) | value]);
  if (value < 0x100) return Buffer.from([(major << 5) | 24, value]);
  if (value < 0x10000) {
    const b = Buffer.alloc(3);
    b[0] = (major << 5) | 25;
    b.writeUInt16BE(value, 1);
    return b;
  }
  const b = Buffer.alloc(5);
  b[0] = (major << 5) | 26;
  b.writeUInt32BE(value, 1);
  return b;
}

export function cborEncode(value: Cbor): Buffer {
  if (typeof value === "number") return value >= 0 ? head(0, value) : head(1, -1 - value);
  if (Buffer.isBuffer(value)) return Buffer.concat([head(2, value.length), value]);
  if (typeof value === "string") {
    const bytes = Buffer.from(value, "utf8");
    return Buffer.concat([head(3, bytes.length), bytes]);
  }
  const parts = [head(5, value.size)];
  for (const [k, v] of value) parts.push(cborEncode(k), cborEncode(v));
  return Buffer.concat(parts);
}

// --- Authenticator data flags (WebAuthn §6.1).
const UP = 0x01;
const UV = 0x04;
const BE = 0x08;
const BS = 0x10;
const AT = 0x40;

export interface StoredKey {
  credentialId: Buffer;
  privateKey: crypto.KeyObject;
  publicKey: crypto.KeyObject;
  rpId: string;
  userHandle: string;
  counter: number;
}

export interface CeremonyOverrides {
  /** The browser's origin (default: the authenticator's). */
  origin?: string;
  /** The RP ID hashed into authenticator data (default: the options' RP ID). */
  rpId?: string;
  /** User verification performed (default: the authenticator's setting). */
  userVerified?: boolean;
  /** Sign with this exact counter instead of the next one. */
  counter?: number;
  /** Answer this challenge instead of the options'. */
  challenge?: string;
  /** clientDataJSON type (default webauthn.create / webauthn.get). */
  type?: string;
  /** Use this stored key (default: the first one registered for the RP); at registration, attest it again. */
  credentialId?: string;
}

export interface AuthenticatorOptions {
  origin: string;
  /** Performs user verification (PIN, biometrics) unless told otherwise. */
  userVerified?: boolean;
  /** A synced passkey: backup eligible and backed up, and its counter stays 0. */
  synced?: boolean;
}

export class SoftAuthenticator {
  readonly keys: StoredKey[] = [];
  constructor(readonly options: AuthenticatorOptions) {}

  /** navigator.credentials.create(): a RegistrationResponseJSON for the creation options. */
  create(creation: any, overrides: CeremonyOverrides = {}) {
    const rpId = creation.rp.id as string;
    let key = this.keys.find((k) => b64url(k.credentialId) === overrides.credentialId);
    if (!key) {
      const { privateKey, publicKey } = crypto.generateKeyPairSync("ec", { namedCurve: "P-256" });
      key = {
        credentialId: crypto.randomBytes(16),
        privateKey,
        publicKey,
        rpId,
        userHandle: creation.user.id,
        counter: 0,
      };
      this.keys.push(key);
    }
    const { credentialId, publicKey } = key;
    const jwk = publicKey.export({ format: "jwk" });
    const coseKey = cborEncode(
      new Map<Cbor, Cbor>([
        [1, 2], // kty: EC2
        [3, -7], // alg: ES256
        [-1, 1], // crv: P-256
        [-2, Buffer.from(jwk.x!, "base64url")],
        [-3, Buffer.from(jwk.y!, "base64url")],
      ]),
    );
    const idLength = Buffer.alloc(2);
    idLength.writeUInt16BE(credentialId.length);
    const attestedCredentialData = Buffer.concat([Buffer.alloc(16), idLength, credentialId, coseKey]);
    const authData = Buffer.concat([
      this.authDataHead(overrides.rpId ?? rpId, AT, overrides, 0),
      attestedCredentialData,
    ]);
    const clientDataJSON = this.clientData(overrides.type ?? "webauthn.create", creation.challenge, overrides);
    const attestationObject = cborEncode(
      new Map<Cbor, Cbor>([
        ["fmt", "none"],
        ["attStmt", new Map()],
        ["authData", authData],
      ]),
    );
    return {
      id: b64url(credentialId),
      rawId: b64url(credentialId),
      type: "public-key",
      response: {
        clientDataJSON: b64url(clientDataJSON),
        attestationObject: b64url(attestationObject),
        transports: ["internal"],
      },
      clientExtensionResults: {},
      authenticatorAttachment: "platform",
    };
  }

  /** navigator.credentials.get(): an AuthenticationResponseJSON for the request options. */
  get(request: any, overrides: CeremonyOverrides = {}) {
    const key = overrides.credentialId
      ? this.keys.find((k) => b64url(k.credentialId) === overrides.credentialId)
      : this.keys[0];
    if (!key) throw new Error("the soft authenticator holds no such credential");
    let counter: number;
    if (overrides.counter !== undefined) counter = overrides.counter;
    else if (this.options.synced) counter = 0;
    else counter = ++key.counter;
    const authData = this.authDataHead(overrides.rpId ?? request.rpId ?? key.rpId, 0, overrides, counter);
    const clientDataJSON = this.clientData(overrides.type ?? "webauthn.get", request.challenge, overrides);
    const signature = crypto.sign("sha256", Buffer.concat([authData, sha256(clientDataJSON)]), key.privateKey);
    return {
      id: b64url(key.credentialId),
      rawId: b64url(key.credentialId),
      type: "public-key",
      response: {
        clientDataJSON: b64url(clientDataJSON),
        authenticatorData: b64url(authData),
        signature: b64url(signature),
        userHandle: key.userHandle,
      },
      clientExtensionResults: {},
      authenticatorAttachment: "platform",
    };
  }

  private authDataHead(rpId: string, extraFlags: number, overrides: CeremonyOverrides, counter: number): Buffer {
    const verified = overrides.userVerified ?? this.options.userVerified ?? true;
    let flags = UP | extraFlags | (verified ? UV : 0);
    if (this.options.synced) flags |= BE | BS;
    const counterBytes = Buffer.alloc(4);
    counterBytes.writeUInt32BE(counter);
    return Buffer.concat([sha256(rpId), Buffer.from([flags]), counterBytes]);
  }

  private clientData(type: string, challenge: string, overrides: CeremonyOverrides): Buffer {
    return Buffer.from(
      JSON.stringify({
        type,
        challenge: overrides.challenge ?? challenge,
        origin: overrides.origin ?? this.options.origin,
        crossOrigin: false,
      }),
    );
  }
}
