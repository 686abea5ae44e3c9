/** What step-up verification needs from storage. Implementation: src/storage/step-up.ts. */

export interface StepUpChallengeRecord {
  /** SHA-256 of the challenge token, hex. */
  tokenHash: string;
  userId: string;
  /** The session that asked: the challenge, and the verification token it buys, serve only it. */
  sessionId: string;
  createdAt: Date;
  expiresAt: Date;
}

export interface VerificationTokenRecord {
  tokenHash: string;
  userId: string;
  sessionId: string;
  /** The factor that was proven (totp, backup_code, passkey, email_otp). */
  method: string;
  createdAt: Date;
  expiresAt: Date;
}

export interface StepUpStore {
  createChallenge(challenge: StepUpChallengeRecord): Promise<void>;
  /** The challenge while open (unspent, unexpired, under `maxAttempts`) and held by this user and session. */
  findOpenChallenge(
    tokenHash: string,
    owner: { userId: string; sessionId: string },
    now: Date,
    maxAttempts: number,
  ): Promise<StepUpChallengeRecord | null>;
  /**
   * Counts one answer against the open challenge of this user and session before it is checked,
   * in one conditional write; returns the new count, or null when the challenge is unknown,
   * someone else's, spent, expired or already at `maxAttempts`.
   */
  recordAttempt(
    tokenHash: string,
    owner: { userId: string; sessionId: string },
    now: Date,
    maxAttempts: number,
  ): Promise<number | null>;
  /** Marks the challenge spent; of two concurrent callers exactly one wins. */
  consumeChallenge(tokenHash: string, now: Date): Promise<boolean>;
  createVerificationToken(token: VerificationTokenRecord): Promise<void>;
  /**
   * Spends the token if it is unused, unexpired and issued to this user AND session: one
   * conditional write, so of two requests presenting it at once exactly one gets true.
   */
  consumeVerificationToken(
    tokenHash: string,
    owner: { userId: string; sessionId: string },
    now: Date,
  ): Promise<boolean>;
}
