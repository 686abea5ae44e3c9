import type { DomainDeps, RequestContext } from "../context.js";
import type { AuthErrorCode } from "../errors.js";
import type { UserRecord } from "../ports.js";
import type { FactorRecord } from "./ports.js";

/**
 * RFC 8176 authentication method references a factor adds to a session: `otp` for TOTP, backup
 * and email codes, `hwk`/`swk` for a passkey (hardware- or software-bound key).
 */
export type AuthMethodReference = "pwd" | "otp" | "hwk" | "swk" | "fed" | "mfa";

/** The user a second factor is asked about, with every factor row of theirs (read once per request). */
export interface MfaSubject {
  user: UserRecord;
  factors: FactorRecord[];
}

/** The fields of POST /api/auth/mfa/verify a factor reads: a code, a WebAuthn credential... */
export interface FactorInput {
  code?: string;
  credential?: unknown;
  [field: string]: unknown;
}

export type FactorResult = { accepted: false } | { accepted: true; amr: AuthMethodReference[] };

/**
 * One way to prove a second factor. Login lists the methods whose `isAvailable` holds, and
 * /api/auth/mfa/verify dispatches on the request's `type` through the registry
 * (factors/registry.ts): nothing else in Warden branches on a method's name.
 *
 * To add one (passkeys, email codes): implement this in domain/factors/<name>/, then add it to
 * SECOND_FACTORS in factors/registry.ts. That one line makes it appear in `mfa_methods`, makes
 * verify accept its `type`, and counts it in `mfaEnabled` when `turnsMfaOn`. Enrolment is not
 * part of the interface: each ceremony takes different input (a TOTP code, a WebAuthn
 * attestation), so each factor's module exports its own (totp/enrolment.ts) for its routes, and
 * stores the result through FactorStore (savePending + confirm, or addConfirmed).
 */
export interface SecondFactor {
  /** Its name in `mfa_methods` and in verify's `type`. */
  readonly method: string;
  /** Other spellings of `type` clients send for it (Storno's "backup"). */
  readonly aliases?: readonly string[];
  /** Whether having it means two-factor is on (TOTP, a passkey: yes; backup codes, a fallback: no). */
  readonly turnsMfaOn: boolean;
  /** Whether the user can answer a challenge with it right now. */
  isAvailable(deps: DomainDeps, subject: MfaSubject): Promise<boolean>;
  /**
   * Work before the user can answer, where there is any: mail an email code, or return WebAuthn
   * request options for a passkey. TOTP and backup codes need none.
   */
  challenge?(deps: DomainDeps, subject: MfaSubject, ctx: RequestContext): Promise<Record<string, unknown>>;
  /** The error when `input` lacks what this factor needs (checked before an attempt is counted), or null. */
  missingInput(input: FactorInput): AuthErrorCode | null;
  /**
   * Checks `input` and spends it (a TOTP step, a backup code, a passkey challenge), writing through
   * `tx`, the transaction that also consumes the MFA challenge `challengeId` and opens the session.
   */
  verify(tx: DomainDeps, subject: MfaSubject, input: FactorInput, challengeId: string): Promise<FactorResult>;
}
