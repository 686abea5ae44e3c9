import type { AuthenticationResponseJSON, PublicKeyCredentialRequestOptionsJSON } from "@simplewebauthn/server";
import { webauthn } from "./webauthn.js";
import type { DomainDeps } from "../../context.js";
import { AuthError } from "../../errors.js";
import { sha256Hex } from "../../lib/secret-box.js";
import type { Ceremony, PasskeyRecord } from "./ports.js";

/** A challenge lives this long, whatever the ceremony (contract: 300 s). */
export const CHALLENGE_TTL_SECONDS = 300;
/** What the browser is told to wait, in milliseconds. */
export const CEREMONY_TIMEOUT_MS = 60_000;

export type CeremonyDeps = Pick<DomainDeps, "config" | "clock" | "random" | "webauthnChallenges">;

/** Where a challenge is bound: its ceremony, its user (null for discoverable login) and what it answers. */
export interface ChallengeBinding {
  ceremony: Ceremony;
  userId: string | null;
  /** The login's sessionId, the MFA challenge token, the step-up challenge token, or the Bearer session. */
  bindingSecret: string;
}

/** 32 random bytes, base64url, as the browser echoes it back in clientDataJSON. Stored only as a hash. */
export async function issueChallenge(deps: CeremonyDeps, binding: ChallengeBinding): Promise<Uint8Array<ArrayBuffer>> {
  const challenge = deps.random.bytes(32);
  const now = deps.clock.now();
  await deps.webauthnChallenges.create({
    challengeHash: sha256Hex(challenge.toString("base64url")),
    ceremony: binding.ceremony,
    userId: binding.userId,
    bindingHash: sha256Hex(binding.bindingSecret),
    createdAt: now,
    expiresAt: new Date(now.getTime() + CHALLENGE_TTL_SECONDS * 1000),
  });
  return new Uint8Array(challenge);
}

/**
 * Spends the challenge the credential answers, before its signature is checked: a challenge is
 * good for one attempt, right or wrong. It must have been issued for this very ceremony, user and
 * binding; a registration challenge presented at login (or another user's) is simply not found.
 */
export async function spendChallenge(
  deps: CeremonyDeps,
  credential: unknown,
  binding: ChallengeBinding,
): Promise<string> {
  const challenge = challengeOf(credential);
  const spent =
    challenge !== null &&
    (await deps.webauthnChallenges.consume(
      sha256Hex(challenge),
      { ceremony: binding.ceremony, userId: binding.userId, bindingHash: sha256Hex(binding.bindingSecret) },
      deps.clock.now(),
    ));
  if (!spent) throw new AuthError("PASSKEY_CHALLENGE_INVALID");
  return challenge;
}

/** The challenge from the credential's clientDataJSON, or null when the credential is not shaped like one. */
function challengeOf(credential: unknown): string | null {
  const clientDataJSON = (credential as { response?: { clientDataJSON?: unknown } } | null)?.response?.clientDataJSON;
  if (typeof clientDataJSON !== "string" || clientDataJSON.length > 8192) return null;
  try {
    const parsed = JSON.parse(Buffer.from(clientDataJSON, "base64url").toString("utf8")) as { challenge?: unknown };
    return typeof parsed.challenge === "string" && parsed.challenge.length <= 512 ? parsed.challenge : null;
  } catch {
    return null;
  }
}

/** Request options for a sign-in ceremony: `allowCredentials` empty for discoverable login. */
export async function requestOptions(
  deps: CeremonyDeps,
  binding: ChallengeBinding,
  passkeys: PasskeyRecord[],
  userVerification: "required" | "preferred",
): Promise<PublicKeyCredentialRequestOptionsJSON> {
  return (await webauthn()).generateAuthenticationOptions({
    rpID: deps.config.webauthn.rpId,
    challenge: await issueChallenge(deps, binding),
    timeout: CEREMONY_TIMEOUT_MS,
    userVerification,
    allowCredentials: passkeys.map((p) => ({ id: p.credentialId, transports: p.transports })),
  });
}

export interface VerifiedAssertion {
  passkey: PasskeyRecord;
  isUserVerified: boolean;
}

/**
 * Checks an assertion against one stored passkey (signature, origin, RP ID, flags, counter) and
 * records its use. The RP ID and origins come from configuration only, never from the request.
 * A counter that does not move forward is refused (a cloned authenticator), except for synced
 * credentials that always report 0; the write is conditional on the counter read, so two
 * assertions racing with one counter value cannot both pass.
 */
export async function verifyAssertion(
  deps: CeremonyDeps & Pick<DomainDeps, "passkeys">,
  credential: unknown,
  expectedChallenge: string,
  passkey: PasskeyRecord,
  requireUserVerification: boolean,
): Promise<VerifiedAssertion> {
  let info;
  try {
    const result = await (
      await webauthn()
    ).verifyAuthenticationResponse({
      response: credential as AuthenticationResponseJSON,
      expectedChallenge,
      expectedOrigin: deps.config.webauthn.origins,
      expectedRPID: deps.config.webauthn.rpId,
      requireUserVerification,
      credential: {
        id: passkey.credentialId,
        publicKey: new Uint8Array(Buffer.from(passkey.publicKey, "base64url")),
        counter: passkey.counter,
        transports: passkey.transports as never,
      },
    });
    if (!result.verified) throw new Error("signature did not verify");
    info = result.authenticationInfo;
  } catch (error) {
    throw new AuthError("PASSKEY_ASSERTION_FAILED", { cause: error });
  }
  const recorded = await deps.passkeys.recordUse(
    passkey.id,
    passkey.counter,
    { counter: info.newCounter, isBackedUp: info.credentialBackedUp },
    deps.clock.now(),
  );
  if (!recorded) throw new AuthError("PASSKEY_ASSERTION_FAILED");
  return { passkey, isUserVerified: info.userVerified };
}

/** The credential ID an assertion names, as stored (base64url). */
export function credentialIdOf(credential: unknown): string | null {
  const c = credential as { id?: unknown; rawId?: unknown } | null;
  const id = typeof c?.id === "string" ? c.id : typeof c?.rawId === "string" ? c.rawId : null;
  return id && id.length <= 1400 && /^[A-Za-z0-9_-]+$/.test(id) ? id : null;
}

/**
 * RFC 8176: `hwk` for a key bound to one device's hardware, `swk` for a synced passkey whose
 * private key also lives in a cloud keychain (backup eligible, `multiDevice`).
 */
export const amrOf = (passkey: PasskeyRecord): "hwk" | "swk" => (passkey.deviceType === "multiDevice" ? "swk" : "hwk");
