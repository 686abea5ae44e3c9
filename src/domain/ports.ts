/** What the domain needs from the outside world. Implementations live in storage/ and mail/. */

export interface Clock {
  now(): Date;
}

export interface Random {
  bytes(length: number): Buffer;
  uuid(): string;
}

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
   * revokes what it wrote. One conditional write, so both engines order it the same way.
   */
  confirmPasswordEpoch(id: string, passwordEpoch: number): Promise<boolean>;
  /**
   * Inside a transaction: locks the user's row until commit and returns it as it stands then.
   * A use case that decides from the user's ways in (removing a passkey or an identity) takes it
   * first, so two such removals are ordered and the second sees what the first left.
   */
  lock(id: string): Promise<UserRecord | null>;
  setDeactivated(id: string, deactivatedAt: Date | null, now: Date): Promise<void>;
  /** Sets email_confirmed_at if it is still null; false when it already was confirmed. */
  confirmEmail(id: string, now: Date): Promise<boolean>;
  touchLastConnected(id: string, now: Date): Promise<void>;
  updateProfile(id: string, patch: ProfilePatch, now: Date): Promise<void>;
  /** Erases personal data and frees the email; the row stays so events and foreign keys keep their meaning. */
  markDeleted(id: string, now: Date): Promise<void>;
}

export interface SigningKeyRecord {
  kid: string;
  /** Public JWK as JSON text. */
  publicJwk: string;
  /** PKCS#8 PEM of the private key, encrypted with secret-box. */
  privateKeyEnc: string;
  createdAt: Date;
  /** When another key replaced this one as the signer; null while it signs. */
  retiredAt: Date | null;
  /** When an operator revoked it (a leak): it verifies nothing from then on. Null unless revoked. */
  revokedAt?: Date | null;
}

export type KeyRevocation =
  | { outcome: "revoked"; replacedBy: string | null }
  | { outcome: "already_revoked" }
  | { outcome: "unknown" }
  /** The key is the signer and no replacement was given (the caller generates one and retries). */
  | { outcome: "needs_replacement" };

export interface SigningKeyStore {
  list(): Promise<SigningKeyRecord[]>;
  /** Inserts `key` only if no key exists yet; returns false when another process won that race. */
  insertFirst(key: SigningKeyRecord): Promise<boolean>;
  /** Inserts `key` and retires every current signer, in one transaction. */
  rotate(key: SigningKeyRecord, now: Date): Promise<void>;
  /** Deletes keys retired before `cutoff` (no token they signed can still be live). */
  deleteRetiredBefore(cutoff: Date): Promise<number>;
  /**
   * Marks `kid` revoked, in one transaction with the rotation it may need: when `kid` is the
   * signer, `replacement` becomes the signer in the same transaction (so there is never a moment
   * without one); without a replacement the signer is left alone and `needs_replacement` returned.
   */
  revoke(kid: string, now: Date, replacement?: SigningKeyRecord): Promise<KeyRevocation>;
}

export interface SessionRecord {
  id: string;
  userId: string;
  createdAt: Date;
  lastUsedAt: Date;
  /** Absolute end of the session (SESSION_MAX_LIFETIME after login). */
  expiresAt: Date;
  ip: string | null;
  userAgent: string | null;
  revokedAt: Date | null;
  revokedReason: string | null;
  /** When the user last proved who they are in this session; refresh keeps it. */
  authTime: Date;
  /** RFC 8176 method references of that proof: ["pwd"], ["pwd", "otp", "mfa"]...; [] when not recorded (sessions from before 0520). */
  amr: string[];
}

/** A session to create: every path that opens one says when and how the user authenticated. */
export type NewSession = Omit<SessionRecord, "revokedAt" | "revokedReason">;

export interface RefreshTokenRecord {
  /** SHA-256 of the token, hex. The token itself is never stored. */
  tokenHash: string;
  sessionId: string;
  userId: string;
  createdAt: Date;
  /** Sliding expiry: REFRESH_TOKEN_TTL after it was issued. */
  expiresAt: Date;
  usedAt: Date | null;
  /** Hash of the token minted when this one was spent. */
  successorHash: string | null;
  /** The successor, encrypted under a key derived from this token, for the grace window. */
  successorEnc: string | null;
}

export interface NewRefreshToken {
  tokenHash: string;
  expiresAt: Date;
}

/** The token minted when a refresh token is spent. */
export interface SuccessorToken {
  tokenHash: string;
  /** Wanted expiry; the store caps it at the session's end. */
  expiresAt: Date;
  /** The successor's plaintext sealed under a key derived from the spent token (grace window). */
  successorEnc: string;
}

export interface RotationResult {
  /** True only for the one caller whose conditional write spent the token and stored `successor`. */
  rotated: boolean;
  /** The presented token as it stands after the call; null when no such token exists. */
  token: RefreshTokenRecord | null;
  /** Its session (locked while the call ran); null when the token is unknown. */
  session: SessionRecord | null;
}

export interface SessionStore {
  /**
   * Spends `tokenHash` and stores `successor` in one transaction. The spend is ONE conditional
   * write: it happens only while the token is unspent and unexpired and its session unrevoked and
   * unexpired, so of any number of concurrent callers exactly one gets `rotated: true`. The
   * session row is locked for the transaction, so a concurrent revoke lands strictly before or after.
   */
  rotateRefreshToken(tokenHash: string, successor: SuccessorToken, now: Date): Promise<RotationResult>;
  findRefreshToken(tokenHash: string): Promise<RefreshTokenRecord | null>;
  /** Unrevoked sessions of the user that end after `now` and were used since `activeSince`, most recently used first. */
  listLiveSessions(userId: string, now: Date, activeSince: Date): Promise<SessionRecord[]>;
  /** Creates the session and its first refresh token in one transaction. */
  createSession(session: NewSession, token: NewRefreshToken): Promise<void>;
  findSession(id: string): Promise<SessionRecord | null>;
  /** The session and its user in one read (Bearer authentication, every request); null when the session is unknown. */
  findSessionWithUser(id: string): Promise<{ session: SessionRecord; user: UserRecord } | null>;
  /** Revokes one session (its whole refresh-token family); false when it was already revoked. */
  revokeSession(id: string, reason: string, now: Date): Promise<boolean>;
  /** Revokes every live session of the user, except `exceptSessionId`; returns how many. */
  revokeUserSessions(userId: string, reason: string, now: Date, exceptSessionId?: string): Promise<number>;
  /** Whether the user ever had a session from `ip` since `since` (a device the owner used). */
  hasSessionFromIp(userId: string, ip: string, since: Date): Promise<boolean>;
  /** The distinct IPs the user's sessions were created from since `since`, newest first, at most `limit`. */
  recentSessionIps(userId: string, since: Date, limit: number): Promise<string[]>;
}

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

export interface BackupCodeStore {
  /** Unused backup codes of the user. */
  countUnused(userId: string): Promise<number>;
  /** Deletes every code of the user and stores these keyed hashes instead, in one transaction. */
  replaceAll(userId: string, codeHashes: string[], now: Date): Promise<void>;
  /** Marks the code used if it is the user's and unused; of two concurrent callers exactly one wins. */
  consume(userId: string, codeHash: string, now: Date): Promise<boolean>;
  deleteAll(userId: string): Promise<void>;
}

export interface SecurityEvent {
  userId: string | null;
  type: string;
  ip: string | null;
  userAgent: string | null;
  detail?: Record<string, unknown>;
}

export interface SecurityEventRecord extends SecurityEvent {
  id: string;
  createdAt: Date;
}

/** A position in a user's event list: events strictly older than this one (newest first order). */
export interface EventCursor {
  createdAt: Date;
  id: string;
}

export interface SecurityEventStore {
  record(event: SecurityEvent, now: Date): Promise<void>;
  /** The user's events, newest first (ties broken by id), strictly after `before` in that order. */
  listForUser(userId: string, limit: number, before?: EventCursor): Promise<SecurityEventRecord[]>;
}

/** A counter that many processes can share: Redis, PostgreSQL, SQLite or memory. */
export interface CounterStore {
  /** Adds `amount` to the counter `key` (created with `ttlSeconds`) and returns the new value. Atomic. */
  increment(key: string, amount: number, ttlSeconds: number): Promise<number>;
  /** Current value, 0 when absent or expired. `ttlSeconds` as given to increment. */
  get(key: string, ttlSeconds: number): Promise<number>;
}

/** `unlock`: the one-time link that lifts the account budget for its owner (docs/threat-model.md). */
export type EmailTokenPurpose = "confirm" | "reset" | "unlock";

export interface EmailTokenRecord {
  /** SHA-256 of the 256-bit token sent by mail, hex. The token itself is never stored. */
  tokenHash: string;
  userId: string;
  purpose: EmailTokenPurpose;
  createdAt: Date;
  expiresAt: Date;
  usedAt: Date | null;
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

/** Every mail Warden sends; templates exist for each in English and Romanian (src/mail/templates). */
export type MailKind =
  | "confirm_email"
  | "reset_password"
  | "password_changed"
  | "password_reset_done"
  | "mfa_enabled"
  | "mfa_disabled"
  | "refresh_token_reuse"
  | "account_unlock"
  | "email_otp_code"
  | "identity_linked";

/** A mail to render and send. The mail layer adds the product name, sender and layout. */
export interface OutgoingMail {
  kind: MailKind;
  to: string;
  userId: string;
  /** The user's locale (`ro`, `ro-RO`, `en`...); anything not Romanian gets English. */
  locale: string | null;
  firstName: string | null;
  /** The one action link (confirmation, reset), holding a token. Never logged, except in outbox mode. */
  link?: string;
  /** How long the link stays valid, told to the reader. */
  linkTtlHours?: number;
  /** A one-time code to type in (email codes). Never logged. */
  code?: string;
  /** How long the code stays valid, told to the reader. */
  codeTtlMinutes?: number;
  /** The sign-in provider a notice is about ("Google", "Apple"). */
  provider?: string;
  /** What triggered a notice: when and from where, shown to the user. */
  occurredAt: Date;
  ip?: string | null;
}

export interface Mailer {
  /**
   * Queues the mail and returns at once: sending never blocks or fails the caller. Delivery is
   * retried; a mail that finally fails is logged and recorded as a `mail_failed` security event.
   * `prepare` (e.g. storing the link's token) runs in the queue, once, before the first send;
   * while it fails the mail is not sent.
   */
  enqueue(mail: OutgoingMail, prepare?: () => Promise<void>): void;
}
