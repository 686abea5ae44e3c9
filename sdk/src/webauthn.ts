/**
 * The browser half of a passkey ceremony: Warden's options (JSON, base64url) in, the
 * authenticator's answer (JSON, base64url) out, as `@simplewebauthn/browser` and the WebAuthn
 * Level 3 `toJSON()` shape them. No network here: `WardenClient` and the hosted pages fetch the
 * options and post the answer.
 *
 * Written out rather than taken from `@simplewebauthn/browser` so the SDK stays an ES module an
 * app can serve as is (no bundler, no import map); it is the one encoding WebAuthn defines.
 */

/** PublicKeyCredentialCreationOptions as Warden sends them (`/api/v1/passkey/register/options`). */
export interface CreationOptionsJSON {
  rp: { id?: string; name: string };
  user: { id: string; name: string; displayName: string };
  challenge: string;
  pubKeyCredParams: Array<{ type: "public-key"; alg: number }>;
  timeout?: number;
  excludeCredentials?: CredentialDescriptorJSON[];
  authenticatorSelection?: AuthenticatorSelectionCriteria;
  attestation?: AttestationConveyancePreference;
  extensions?: Record<string, unknown>;
  [other: string]: unknown;
}

/** PublicKeyCredentialRequestOptions as Warden sends them (login, MFA, step-up). */
export interface RequestOptionsJSON {
  challenge: string;
  rpId?: string;
  timeout?: number;
  allowCredentials?: CredentialDescriptorJSON[];
  userVerification?: UserVerificationRequirement;
  extensions?: Record<string, unknown>;
  [other: string]: unknown;
}

export interface CredentialDescriptorJSON {
  id: string;
  type: "public-key";
  transports?: string[];
}

/** What Warden's `credential` fields take: a PublicKeyCredential as JSON. */
export interface CredentialJSON {
  id: string;
  rawId: string;
  type: string;
  response: Record<string, unknown>;
  clientExtensionResults: Record<string, unknown>;
  authenticatorAttachment?: string | null;
}

/** The authenticator said no: the person cancelled, it timed out, or no passkey matched. */
export class PasskeyCancelledError extends Error {
  constructor(options?: { cause?: unknown }) {
    super("The passkey prompt was cancelled or timed out.", options);
    this.name = "PasskeyCancelledError";
  }
}

/** Whether this browser can run a passkey ceremony at all (a secure context with WebAuthn). */
export function isPasskeySupported(): boolean {
  return (
    typeof window !== "undefined" &&
    window.isSecureContext === true &&
    typeof window.PublicKeyCredential === "function" &&
    typeof navigator.credentials?.create === "function"
  );
}

export function base64urlToBytes(value: string): Uint8Array<ArrayBuffer> {
  const base64 = value
    .replace(/-/g, "+")
    .replace(/_/g, "/")
    .padEnd(Math.ceil(value.length / 4) * 4, "=");
  return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
}

export function bytesToBase64url(bytes: ArrayBuffer | ArrayBufferView): string {
  const view =
    bytes instanceof ArrayBuffer
      ? new Uint8Array(bytes)
      : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let binary = "";
  for (const byte of view) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

const descriptor = (d: CredentialDescriptorJSON): PublicKeyCredentialDescriptor => ({
  id: base64urlToBytes(d.id),
  type: d.type,
  ...(d.transports ? { transports: d.transports as AuthenticatorTransport[] } : {}),
});

/** Runs navigator.credentials, turning the "nobody answered" refusals into PasskeyCancelledError. */
async function ceremony(run: () => Promise<Credential | null>): Promise<PublicKeyCredential> {
  let credential: Credential | null;
  try {
    credential = await run();
  } catch (error) {
    const name = (error as Error)?.name;
    if (name === "NotAllowedError" || name === "AbortError") throw new PasskeyCancelledError({ cause: error });
    throw error;
  }
  if (!credential) throw new PasskeyCancelledError();
  return credential as PublicKeyCredential;
}

const common = (credential: PublicKeyCredential) => ({
  id: credential.id,
  rawId: bytesToBase64url(credential.rawId),
  type: credential.type,
  clientExtensionResults: credential.getClientExtensionResults() as Record<string, unknown>,
  authenticatorAttachment: credential.authenticatorAttachment ?? null,
});

/** Creates a passkey from Warden's creation options; the answer goes to `/api/v1/passkey/register`. */
export async function createPasskeyCredential(
  options: CreationOptionsJSON,
  signal?: AbortSignal,
): Promise<CredentialJSON> {
  const { challenge, user, excludeCredentials, ...rest } = options;
  const publicKey = {
    ...rest,
    challenge: base64urlToBytes(challenge),
    user: { ...user, id: base64urlToBytes(user.id) },
    excludeCredentials: (excludeCredentials ?? []).map(descriptor),
  } as PublicKeyCredentialCreationOptions;
  const credential = await ceremony(() => navigator.credentials.create({ publicKey, signal }));
  const response = credential.response as AuthenticatorAttestationResponse;
  return {
    ...common(credential),
    response: {
      clientDataJSON: bytesToBase64url(response.clientDataJSON),
      attestationObject: bytesToBase64url(response.attestationObject),
      ...(typeof response.getTransports === "function" ? { transports: response.getTransports() } : {}),
    },
  };
}

/** Signs Warden's challenge with a passkey (discoverable when `allowCredentials` is empty). */
export async function getPasskeyCredential(options: RequestOptionsJSON, signal?: AbortSignal): Promise<CredentialJSON> {
  const { challenge, allowCredentials, ...rest } = options;
  const publicKey = {
    ...rest,
    challenge: base64urlToBytes(challenge),
    allowCredentials: (allowCredentials ?? []).map(descriptor),
  } as PublicKeyCredentialRequestOptions;
  const credential = await ceremony(() => navigator.credentials.get({ publicKey, signal }));
  const response = credential.response as AuthenticatorAssertionResponse;
  return {
    ...common(credential),
    response: {
      clientDataJSON: bytesToBase64url(response.clientDataJSON),
      authenticatorData: bytesToBase64url(response.authenticatorData),
      signature: bytesToBase64url(response.signature),
      ...(response.userHandle ? { userHandle: bytesToBase64url(response.userHandle) } : {}),
    },
  };
}
