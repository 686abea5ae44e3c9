import { AuthError, type AuthErrorCode } from "../errors.js";
import type { UserRecord } from "../accounts/ports.js";

export type FactorMethod = "totp" | "backup_code" | "passkey" | "email_otp";

/** The open challenge a factor answers: the login's MFA challenge or a step-up challenge. */
export interface FactorChallenge {
  kind: "mfa" | "step_up";
  /** The challenge token as the client holds it; factors bind their own state to it. */
  token: string;
  userId: string;
}

export interface FactorInput {
  code?: string;
  credential?: unknown;
}

export type FactorResult =
  | { ok: true; /** RFC 8176 values this factor proved (`otp`, `hwk`, `swk`). */ amr: string[] }
  | { ok: false; /** The refusal to report instead of the caller's generic one. */ failure?: AuthErrorCode };

/**
 * One way to prove a second factor. The MFA challenge and step-up list the methods whose
 * `isAvailable` holds and dispatch verify on the method; nothing else branches on the name.
 */
export interface SecondFactor {
  readonly method: FactorMethod;
  /** Whether having this factor turns MFA on (TOTP, a passkey); backup and email codes only back one up. */
  readonly turnsMfaOn: boolean;
  isAvailable(user: UserRecord): Promise<boolean>;
  /** Throws the contract's "Missing ..." error when the input lacks what this factor reads. */
  assertInput(input: FactorInput): void;
  /** Checks, and spends, the answer. Never called before the challenge's attempt was counted. */
  verify(challenge: FactorChallenge, user: UserRecord, input: FactorInput): Promise<FactorResult>;
}

/** assertInput of the factors answered with a typed code (TOTP, backup and email codes). */
export const requireCode = (input: FactorInput): void => {
  if (!input.code?.trim()) throw new AuthError("MFA_CODE_MISSING");
};
