/** What the factors module needs from storage. src/storage/factors.ts implements it. */

export type FactorState = "pending" | "confirmed";

/** One second factor of a user: a TOTP authenticator, a passkey, ... */
export interface FactorRecord {
  id: string;
  userId: string;
  /** The SecondFactor's method: "totp", "passkey", ... */
  type: string;
  /** Pending from the start of an enrolment until it is confirmed (TOTP: with a first code). */
  state: FactorState;
  /** A label the user gave it ("YubiKey", "Pixel 8"); null when none. */
  name: string | null;
  /** The factor's secret, encrypted with SecretBox; null when it has none. */
  secretEnc: string | null;
  /** TOTP: the highest RFC 6238 time step ever accepted; a code of this step or older is refused. */
  lastStep: number | null;
  /** Whatever else the type keeps (a passkey's public key, counter, transports), as JSON. */
  data: Record<string, unknown> | null;
  createdAt: Date;
  confirmedAt: Date | null;
  lastUsedAt: Date | null;
}

export interface NewFactor {
  userId: string;
  type: string;
  name?: string | null;
  secretEnc?: string | null;
  data?: Record<string, unknown> | null;
}

export interface FactorStore {
  /** Every factor of the user, pending ones included, oldest first. */
  listForUser(userId: string): Promise<FactorRecord[]>;
  /** Adds a factor that needs no confirmation step (a passkey registered in one ceremony). */
  addConfirmed(factor: NewFactor, now: Date): Promise<FactorRecord>;
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
  /** Marks the factor used now. */
  touch(id: string, now: Date): Promise<void>;
  /** Deletes the user's factor `id`; false when the user has no such factor. */
  remove(userId: string, id: string): Promise<boolean>;
  /** Deletes the user's factors of `type`, or every factor when `type` is omitted; returns how many. */
  removeAll(userId: string, type?: string): Promise<number>;
}
