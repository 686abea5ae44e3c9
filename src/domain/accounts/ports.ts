/**
 * What the accounts module needs from storage: users and their emailed tokens.
 * Implementations: src/storage/users.ts, email-tokens.ts.
 */

export interface UserRecord {
  id: string;
  /** Trimmed and lower-cased. */
  email: string;
  passwordHash: string;
  /** Bumped by every password reset or change, never by a rehash of the same password. */
  passwordEpoch: number;
  firstName: string | null;
  lastName: string | null;
  phone: string | null;
  locale: string | null;
  timezone: string | null;
  roles: string[];
  preferences: Record<string, unknown>;
  emailConfirmedAt: Date | null;
  deactivatedAt: Date | null;
  deletedAt: Date | null;
  lastConnectedAt: Date | null;
  /** Last password reset by mail link: email codes are withheld for EMAIL_OTP_COOLDOWN after it. */
  passwordResetAt: Date | null;
  /** Last change of the email address: email codes are withheld for EMAIL_OTP_COOLDOWN after it. */
  emailChangedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface NewUser {
  email: string;
  passwordHash: string;
  roles: string[];
  emailConfirmedAt: Date | null;
  deactivatedAt: Date | null;
  firstName?: string | null;
  lastName?: string | null;
  locale?: string | null;
}

export type ProfilePatch = Partial<
  Pick<UserRecord, "firstName" | "lastName" | "phone" | "locale" | "timezone" | "preferences">
>;

export interface UserStore {
  findById(id: string): Promise<UserRecord | null>;
  /** `email` must already be normalised (trimmed, lower-cased). */
  findByEmail(email: string): Promise<UserRecord | null>;
  /** Returns null when the email is taken (the unique index decides, so concurrent creates are safe). */
  create(user: NewUser, now: Date): Promise<UserRecord | null>;
  /**
   * Rehash of the same password (the epoch stays): replaces the hash only while it still equals
   * `expectedHash`, so a rehash never undoes a password change.
   */
  replacePasswordHash(id: string, expectedHash: string, newHash: string, now: Date): Promise<boolean>;
  /** A password change: compare-and-set on `expectedHash` like replacePasswordHash, and bumps the epoch. */
  changePasswordHash(id: string, expectedHash: string, newHash: string, now: Date): Promise<boolean>;
  /** A password reset: sets the hash unconditionally and bumps the epoch. */
  setPasswordHash(id: string, newHash: string, now: Date): Promise<void>;
  /** Records that the password was just reset through a mailed link (see `passwordResetAt`). */
  notePasswordReset(id: string, now: Date): Promise<void>;
  /**
   * Inside a transaction, before a session or MFA challenge is written: locks the user's row until
   * commit and tells whether the password is still the one of `passwordEpoch`. A reset or change
   * that committed first makes it false; one that comes later waits for this transaction, then
   * revokes what it wrote. One conditional write, so both engines order it the same way. With
   * `connectedAt` (a session is being opened) the same write records it as the user's last
   * connection: one statement fewer per login.
   */
  confirmPasswordEpoch(id: string, passwordEpoch: number, connectedAt?: Date): Promise<boolean>;
  /**
   * Inside a transaction: locks the user's row until commit and returns it as it stands then.
   * A use case that decides from the user's ways in (removing a passkey or an identity) takes it
   * first, so two such removals are ordered and the second sees what the first left.
   */
  lock(id: string): Promise<UserRecord | null>;
  setDeactivated(id: string, deactivatedAt: Date | null, now: Date): Promise<void>;
  /** Sets email_confirmed_at if it is still null; false when it already was confirmed. */
  confirmEmail(id: string, now: Date): Promise<boolean>;
  /**
   * The account's address becomes `email` (normalised), confirmed, and `emailChangedAt` is now.
   * False, changing nothing, when another account has that address (the unique index decides).
   */
  changeEmail(id: string, email: string, now: Date): Promise<boolean>;
  updateProfile(id: string, patch: ProfilePatch, now: Date): Promise<void>;
  /** Erases personal data and frees the email; the row stays so events and foreign keys keep their meaning. */
  markDeleted(id: string, now: Date): Promise<void>;
}

/**
 * `unlock`: the one-time link that lifts the account budget for its owner (docs/threat-model.md).
 * `email_change`: the link mailed to a new address, which becomes the account's when opened.
 */
export type EmailTokenPurpose = "confirm" | "reset" | "unlock" | "email_change";

export interface EmailTokenRecord {
  /** SHA-256 of the 256-bit token sent by mail, hex. The token itself is never stored. */
  tokenHash: string;
  userId: string;
  purpose: EmailTokenPurpose;
  createdAt: Date;
  expiresAt: Date;
  usedAt: Date | null;
  /** `email_change` only: the address the link was mailed to. */
  newEmail?: string | null;
}

export interface EmailTokenStore {
  create(token: Omit<EmailTokenRecord, "usedAt">): Promise<void>;
  /** The token if it has this purpose and is unused and unexpired at `now`. Reads only: spending is `consume`. */
  findLive(tokenHash: string, purpose: EmailTokenPurpose, now: Date): Promise<EmailTokenRecord | null>;
  /**
   * Marks the token used and returns it; null if absent, of another purpose, expired or already
   * used. One conditional write: of two concurrent callers exactly one wins.
   */
  consume(tokenHash: string, purpose: EmailTokenPurpose, now: Date): Promise<EmailTokenRecord | null>;
  /** Spends every unused token of the user for `purpose`; returns how many. */
  revokeForUser(userId: string, purpose: EmailTokenPurpose, now: Date): Promise<number>;
}
