/** The one email code a user may hold: a new send replaces it. */
export interface EmailOtpRecord {
  userId: string;
  /** SHA-256 of the challenge (login MFA or step-up) the code was sent for; it answers only that one. */
  challengeHash: string;
  /** Keyed hash (secret-box) of the 6 digits: a leaked table alone cannot be brute-forced. */
  codeHash: string;
  sentAt: Date;
  expiresAt: Date;
  usedAt: Date | null;
}

export interface EmailOtpStore {
  /**
   * Stores `code` in place of the user's previous one, only when that one was sent at or before
   * `sentNoLaterThan` (send spacing). One conditional upsert: of concurrent sends at most one
   * writes; false when the spacing refused it.
   */
  replace(code: Omit<EmailOtpRecord, "usedAt">, sentNoLaterThan: Date): Promise<boolean>;
  find(userId: string): Promise<EmailOtpRecord | null>;
  /**
   * Spends the code if it is still the user's unused, unexpired code with this hash for this
   * challenge. One conditional write: of two concurrent callers exactly one wins.
   */
  consume(userId: string, challengeHash: string, codeHash: string, now: Date): Promise<boolean>;
  /** Removes the user's code, used or not (account deletion). */
  deleteForUser(userId: string): Promise<void>;
}
