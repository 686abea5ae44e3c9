import type { PublicKeyCredentialCreationOptionsJSON, RegistrationResponseJSON } from "@simplewebauthn/server";
import { webauthn } from "./webauthn.js";
import type { DomainDeps, RequestContext } from "../../context.js";
import { AuthError } from "../../errors.js";
import { recordEvent } from "../../security/events.js";
import { inTransaction } from "../../unit-of-work.js";
import type { Authenticated } from "../../sessions/authentication.js";
import { CEREMONY_TIMEOUT_MS, issueChallenge, spendChallenge, type ChallengeBinding } from "./ceremonies.js";
import type { PasskeyRecord } from "./ports.js";

/** ES256 and RS256, the two every platform authenticator and security key supports. */
const ALGORITHMS = [-7, -257];
const DEFAULT_NAME = "Passkey";

export interface PasskeyView {
  id: string;
  name: string;
  createdAt: Date;
  lastUsedAt: Date | null;
}

export const viewOf = (p: PasskeyRecord): PasskeyView => ({
  id: p.id,
  name: p.name,
  createdAt: p.createdAt,
  lastUsedAt: p.lastUsedAt,
});

/** The registration challenge is bound to the user and to the session that asked for it. */
const bindingFor = (auth: Authenticated): ChallengeBinding => ({
  ceremony: "registration",
  userId: auth.user.id,
  bindingSecret: `session:${auth.sessionId}`,
});

/**
 * POST /api/v1/passkey/register/options. The caller has passed the sensitive-operation rule
 * (http layer): adding a way in is as sensitive as changing the password.
 */
export async function registrationOptions(
  deps: Pick<DomainDeps, "config" | "clock" | "random" | "webauthnChallenges" | "passkeys">,
  auth: Authenticated,
): Promise<PublicKeyCredentialCreationOptionsJSON> {
  const { user } = auth;
  const existing = await deps.passkeys.listForUser(user.id);
  const displayName = [user.firstName, user.lastName].filter(Boolean).join(" ") || user.email;
  return (await webauthn()).generateRegistrationOptions({
    rpName: deps.config.webauthn.rpName,
    rpID: deps.config.webauthn.rpId,
    userName: user.email,
    userDisplayName: displayName,
    // The user handle an authenticator returns at discoverable login: the user's id, nothing personal.
    userID: new Uint8Array(Buffer.from(user.id, "utf8")),
    challenge: await issueChallenge(deps, bindingFor(auth)),
    timeout: CEREMONY_TIMEOUT_MS,
    attestationType: "none",
    supportedAlgorithmIDs: ALGORITHMS,
    excludeCredentials: existing.map((p) => ({ id: p.credentialId, transports: p.transports })),
    authenticatorSelection: { residentKey: "preferred", userVerification: "preferred" },
  });
}

/** POST /api/v1/passkey/register: checks the attestation against the spent challenge and stores the key. */
export async function registerPasskey(
  deps: DomainDeps,
  auth: Authenticated,
  input: { name?: string; credential?: unknown; response?: unknown },
  ctx: RequestContext,
): Promise<PasskeyView> {
  const credential = input.credential ?? input.response;
  if (!isRegistrationShaped(credential)) throw new AuthError("PASSKEY_RESPONSE_INVALID");
  const challenge = await spendChallenge(deps, credential, bindingFor(auth));

  let info;
  try {
    const result = await (
      await webauthn()
    ).verifyRegistrationResponse({
      response: credential,
      expectedChallenge: challenge,
      expectedOrigin: deps.config.webauthn.origins,
      expectedRPID: deps.config.webauthn.rpId,
      // Registration asks for UV "preferred": a security key without a PIN may still be a second factor.
      requireUserVerification: false,
      supportedAlgorithmIDs: ALGORITHMS,
    });
    if (!result.verified) throw new Error("the attestation did not verify");
    // The verifier takes the ID from the signed authenticator data; the outer `id` must agree with it.
    if (result.registrationInfo.credential.id !== credential.id)
      throw new Error("the credential ID does not match the attested one");
    info = result.registrationInfo;
  } catch (error) {
    throw new AuthError("PASSKEY_ATTESTATION_FAILED", { cause: error, reason: reasonOf(error) });
  }

  const now = deps.clock.now();
  const passkey: PasskeyRecord = {
    id: deps.random.uuid(),
    userId: auth.user.id,
    credentialId: info.credential.id,
    publicKey: Buffer.from(info.credential.publicKey).toString("base64url"),
    counter: info.credential.counter,
    transports: (info.credential.transports ?? []).slice(0, 8),
    deviceType: info.credentialDeviceType,
    isBackedUp: info.credentialBackedUp,
    name: input.name?.trim() || DEFAULT_NAME,
    createdAt: now,
    lastUsedAt: null,
  };
  await inTransaction(deps, async (tx) => {
    if (!(await tx.passkeys.insert(passkey))) throw new AuthError("PASSKEY_ALREADY_REGISTERED");
    await recordEvent(tx, auth.user, "passkey_added", ctx, { passkeyId: passkey.id, deviceType: passkey.deviceType });
  });
  return viewOf(passkey);
}

function isRegistrationShaped(credential: unknown): credential is RegistrationResponseJSON {
  const c = credential as Partial<RegistrationResponseJSON> | null;
  return (
    typeof c === "object" &&
    c !== null &&
    c.type === "public-key" &&
    typeof c.id === "string" &&
    typeof c.response?.clientDataJSON === "string" &&
    typeof c.response?.attestationObject === "string"
  );
}

/** The verifier's own sentence (origin, RP ID, flags...), bounded; it never holds a secret. */
const reasonOf = (error: unknown): string =>
  (error instanceof Error ? error.message : "unknown error").replace(/\s+/g, " ").slice(0, 200);
