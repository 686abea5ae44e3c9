/**
 * What the sessions module needs from storage: signing keys, sessions and refresh tokens.
 * Implementations: src/storage/signing-keys.ts, sessions.ts.
 */

import type { UserRecord } from "../accounts/ports.js";

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
  /** The session's user, read in the same statement as the session (not locked); null when the token is unknown. */
  user: UserRecord | null;
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
