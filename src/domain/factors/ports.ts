/**
 * What the factors module needs from storage: its factors and the MFA challenges of logins.
 * Implementations: src/storage/factors.ts, mfa-challenges.ts.
 */

export type FactorState = "pending" | "confirmed";

/**
 * One second factor of a user that is a secret their authenticator holds: a TOTP authenticator.
 * Factors with a shape of their own keep their own store (passkeys: PasskeyStore; backup codes,
 * email codes); the SecondFactor registry (registry.ts) is what makes them all one model.
 */
export interface FactorRecord {
  id: string;
  userId: string;
  /** The SecondFactor's method: "totp". */
  type: string;
  /** Pending from the start of an enrolment until it is confirmed (TOTP: with a first code). */
  state: FactorState;
  /** The factor's secret, encrypted with SecretBox. */
  secretEnc: string;
  /** TOTP: the highest RFC 6238 time step ever accepted; a code of this step or older is refused. */
  lastStep: number | null;
  createdAt: Date;
  confirmedAt: Date | null;
  lastUsedAt: Date | null;
}

export interface NewFactor {
  userId: string;
  type: string;
  secretEnc: string;
}

export interface FactorStore {
  /** Every factor of the user, pending ones included, oldest first. */
  listForUser(userId: string): Promise<FactorRecord[]>;
  /**
   * Starts an enrolment: stores `factor` as the user's pending factor of its type, replacing any
   * earlier pending one (one conditional upsert, so concurrent setups leave exactly one).
   */
  savePending(factor: NewFactor, now: Date): Promise<FactorRecord>;
  /**
   * Confirms pending factor `id`, only while it is still pending (not replaced by a newer setup)
   * and the user has no confirmed factor of the same type; false otherwise. Of two concurrent
   * callers at most one wins.
   */
  confirm(id: string, now: Date): Promise<boolean>;
  /**
   * Compare-and-set: records `step` as the factor's last accepted one only if it is newer than
   * every accepted step, and marks the factor used. Of two concurrent callers with one step, one wins.
   */
  advanceStep(id: string, step: number, now: Date): Promise<boolean>;
  /** Deletes the user's factors of `type`, or every factor when `type` is omitted; returns how many. */
  removeAll(userId: string, type?: string): Promise<number>;
}

/** The MFA challenge of a login (challenges.ts, verify.ts). Implementation: src/storage/mfa-challenges.ts. */

export interface MfaChallengeRecord {
  /** SHA-256 of the 64-character challenge token, hex. */
  tokenHash: string;
  userId: string;
  createdAt: Date;
  expiresAt: Date;
  failedAttempts: number;
  consumedAt: Date | null;
  ip: string | null;
  userAgent: string | null;
  /** RFC 8176 references of the first factor that won the challenge: ["pwd"], ["fed"]. */
  amr: string[];
}

export interface MfaChallengeStore {
  create(challenge: Omit<MfaChallengeRecord, "failedAttempts" | "consumedAt">): Promise<void>;
  find(tokenHash: string): Promise<MfaChallengeRecord | null>;
  /**
   * Counts one answer against an open challenge before the code is checked, in one conditional
   * write, and returns the new count with the challenge's user; null when the challenge is
   * unknown, spent, expired or already at `maxAttempts`. However many requests race, at most
   * `maxAttempts` codes are ever checked against one challenge.
   */
  recordAttempt(
    tokenHash: string,
    now: Date,
    maxAttempts: number,
  ): Promise<{ userId: string; attempts: number; amr: string[] } | null>;
  /** Marks the challenge spent; false when it was already spent or expired. Of two concurrent callers exactly one wins. */
  consume(tokenHash: string, now: Date): Promise<boolean>;
  /** Kills every open challenge of the user (deactivation, MFA reset). */
  revokeForUser(userId: string, now: Date): Promise<void>;
}
