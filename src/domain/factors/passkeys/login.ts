import type { PublicKeyCredentialRequestOptionsJSON } from "@simplewebauthn/server";
import type { DomainDeps, RequestContext, TokenPair } from "../../context.js";
import { AuthError } from "../../errors.js";
import { recordEvent } from "../../security/events.js";
import { startSession } from "../../sessions/sessions.js";
import { amrOf, credentialIdOf, requestOptions, spendChallenge, verifyAssertion } from "./ceremonies.js";

export interface PasskeyLoginOptions extends PublicKeyCredentialRequestOptionsJSON {
  /** Names this ceremony at /api/auth/passkey/login; the challenge is bound to it. */
  sessionId: string;
}

/**
 * POST /api/auth/passkey/login/options. Discoverable credentials: nobody is named (an `email`
 * in the body is ignored), so the answer says nothing about which accounts exist.
 */
export async function passkeyLoginOptions(
  deps: Pick<DomainDeps, "config" | "clock" | "random" | "webauthnChallenges">,
): Promise<PasskeyLoginOptions> {
  const sessionId = deps.random.bytes(32).toString("base64url");
  const options = await requestOptions(
    deps,
    { ceremony: "login", userId: null, bindingSecret: sessionId },
    [],
    "required",
  );
  return { ...options, sessionId };
}

/**
 * POST /api/auth/passkey/login. A passkey with user verification is two factors (something held,
 * unlocked by something known or something one is), so it returns tokens without an MFA
 * challenge; an assertion without the UV flag is refused.
 */
export async function loginWithPasskey(
  deps: DomainDeps,
  input: { sessionId?: string; credential?: unknown },
  ctx: RequestContext,
): Promise<TokenPair> {
  if (!input.sessionId) throw new AuthError("PASSKEY_SESSION_MISSING");
  const challenge = await spendChallenge(deps, input.credential, {
    ceremony: "login",
    userId: null,
    bindingSecret: input.sessionId,
  });
  const credentialId = credentialIdOf(input.credential);
  const passkey = credentialId ? await deps.passkeys.findByCredentialId(credentialId) : null;
  if (!passkey) throw new AuthError("PASSKEY_ASSERTION_FAILED");
  // The user handle, when the authenticator sends one, must name the passkey's owner.
  const userHandle = (input.credential as { response?: { userHandle?: unknown } }).response?.userHandle;
  if (typeof userHandle === "string" && Buffer.from(userHandle, "base64url").toString("utf8") !== passkey.userId)
    throw new AuthError("PASSKEY_ASSERTION_FAILED");

  const { isUserVerified } = await verifyAssertion(deps, input.credential, challenge, passkey, true);
  if (!isUserVerified) throw new AuthError("PASSKEY_ASSERTION_FAILED");

  const user = await deps.users.findById(passkey.userId);
  if (!user || user.deletedAt) throw new AuthError("PASSKEY_ASSERTION_FAILED");
  if (user.deactivatedAt) {
    await recordEvent(deps, user, "login_failure", ctx, { method: "passkey", reason: "account_inactive" });
    throw new AuthError("ACCOUNT_INACTIVE");
  }
  if (!user.emailConfirmedAt) {
    await recordEvent(deps, user, "login_failure", ctx, { method: "passkey", reason: "email_not_confirmed" });
    throw new AuthError("EMAIL_NOT_CONFIRMED");
  }
  // A user-verified passkey is two factors in one (something held, and a PIN or biometric).
  const amr = [amrOf(passkey), "mfa"];
  return startSession(deps, user, ctx, {
    amr,
    refusal: "PASSKEY_ASSERTION_FAILED",
    within: (tx) => recordEvent(tx, user, "login_success", ctx, { method: "passkey", passkeyId: passkey.id, amr }),
  });
}
