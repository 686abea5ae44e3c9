import type { PublicKeyCredentialRequestOptionsJSON } from "@simplewebauthn/server";
import type { DomainDeps } from "../../context.js";
import { AuthError } from "../../errors.js";
import type { UserRecord } from "../../accounts/ports.js";
import type { FactorChallenge, SecondFactor } from "../second-factor.js";
import {
  amrOf,
  credentialIdOf,
  requestOptions,
  spendChallenge,
  verifyAssertion,
  type ChallengeBinding,
} from "./ceremonies.js";

/** A passkey challenge answering an MFA or step-up challenge is bound to that challenge and its user. */
const bindingFor = (challenge: FactorChallenge): ChallengeBinding => ({
  ceremony: challenge.kind,
  userId: challenge.userId,
  bindingSecret: challenge.token,
});

/** Request options for answering `challenge` with one of the user's passkeys. */
export async function passkeyChallengeOptions(
  deps: DomainDeps,
  challenge: FactorChallenge,
): Promise<PublicKeyCredentialRequestOptionsJSON> {
  const passkeys = await deps.passkeys.listForUser(challenge.userId);
  if (passkeys.length === 0) throw new AuthError("PASSKEY_NONE_AVAILABLE");
  // As a second factor the passkey is "something held": user verification is welcome, not required.
  return requestOptions(deps, bindingFor(challenge), passkeys, "preferred");
}

export function passkeyFactor(deps: DomainDeps): SecondFactor {
  return {
    method: "passkey",
    turnsMfaOn: true,
    isAvailable: async (user: UserRecord) => (await deps.passkeys.countForUser(user.id)) > 0,
    assertInput(input) {
      if (input.credential === undefined || input.credential === null) throw new AuthError("MFA_CREDENTIAL_MISSING");
    },
    async verify(challenge, user, input) {
      let expectedChallenge: string;
      try {
        expectedChallenge = await spendChallenge(deps, input.credential, bindingFor(challenge));
      } catch {
        return { ok: false, failure: "PASSKEY_CHALLENGE_INVALID" };
      }
      const credentialId = credentialIdOf(input.credential);
      const passkey = credentialId ? await deps.passkeys.findByCredentialId(credentialId) : null;
      // Another user's credential is refused like an unknown one, even with a valid signature.
      if (!passkey || passkey.userId !== user.id) return { ok: false, failure: "PASSKEY_ASSERTION_FAILED" };
      try {
        await verifyAssertion(deps, input.credential, expectedChallenge, passkey, false);
      } catch {
        return { ok: false, failure: "PASSKEY_ASSERTION_FAILED" };
      }
      return { ok: true, amr: [amrOf(passkey)] };
    },
  };
}
