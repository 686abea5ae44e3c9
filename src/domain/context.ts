import type { RateRule } from "./security/rate-limits.js";
import type { AccessTokens } from "./sessions/access-tokens.js";
import type { PasswordHasher } from "./factors/password/hasher.js";
import type { Clock, Mailer, Random, RecentReads } from "./lib/ports.js";
import type { Stores, UnitOfWork } from "./unit-of-work.js";
import type { SlidingWindowLimiter } from "./security/rate-limits.js";
import type { SecretBox } from "./lib/secret-box.js";
import type { SigningKeys } from "./sessions/signing-keys.js";
import type { IdTokenVerifier } from "./federation/id-tokens.js";
import type { ProviderName } from "./federation/ports.js";

/** The settings the domain reads; src/config.ts's Config satisfies it. */
export interface DomainConfig {
  issuer: string;
  /** Warden's own base URL (no trailing slash): its pages, and the WebAuthn relying party. */
  PUBLIC_URL: string;
  /** Base of the links in mails (no trailing slash). */
  APP_URL: string;
  ACCESS_TOKEN_TTL: number;
  REFRESH_TOKEN_TTL: number;
  SESSION_MAX_LIFETIME: number;
  REFRESH_REUSE_GRACE: number;
  MFA_CHALLENGE_TTL: number;
  MFA_ISSUER: string;
  PASSWORD_MIN_LENGTH: number;
  REQUIRE_EMAIL_CONFIRMATION: boolean;
  LOGIN_RATE_LIMIT: RateRule;
  ACCOUNT_FAILURE_LIMIT: RateRule;
  /** Password re-checks by a logged-in user (password change, deletion, TOTP disable...), per account. */
  REAUTH_RATE_LIMIT: RateRule;
  /** How long a device the owner logged in from passes the account budget (days). */
  KNOWN_DEVICE_DAYS: number;
  ALLOW_SIGNUP: boolean;
  EMAIL_OTP_MFA: "fallback" | "always" | "off";
  EMAIL_OTP_COOLDOWN: number;
  /** Seconds a session counts as fresh for sensitive operations. */
  REAUTH_MAX_AGE: number;
  /** The WebAuthn relying party, from configuration only. */
  webauthn: { rpId: string; rpName: string; origins: string[] };
}

/**
 * Everything the domain works with; built by src/deps.ts, replaced piecewise in tests. The
 * stores (users, sessions, ...) are the database's own; `transaction` gives the same stores
 * bound to one transaction (see unit-of-work.ts).
 */
export interface DomainDeps extends Stores, UnitOfWork {
  config: DomainConfig;
  clock: Clock;
  random: Random;
  /** The reads of every authenticated request, remembered for at most AUTH_CACHE_MS. */
  recent: RecentReads;
  box: SecretBox;
  hasher: PasswordHasher;
  keys: SigningKeys;
  accessTokens: AccessTokens;
  limiter: SlidingWindowLimiter;
  mailer: Mailer;
  /** ID-token verification per provider (each off while it has no client id). */
  idTokens: Record<ProviderName, IdTokenVerifier>;
}

/** Who is asking: recorded with sessions and security events. */
export interface RequestContext {
  ip: string | null;
  userAgent: string | null;
  /** The browser's signed device cookies (http/devices.ts); absent outside HTTP. */
  device?: DeviceContext;
  /** Told the type of each security event recorded for the request (its metrics label outcomes by them); absent outside HTTP. */
  noteEvent?(type: string): void;
}

/** A browser the owner already completed a login in, recognised by a signed cookie. */
export interface DeviceContext {
  /** The device's id if the request carries a valid device cookie for this user, else null. */
  knownId(userId: string): string | null;
  /** Marks this browser as a device of the user (sets or renews its cookie on the response). */
  remember(userId: string): void;
}

/** A session's credentials: a signed access token and its opaque refresh token (http/presenters.ts shapes them). */
export interface TokenPair {
  accessToken: string;
  refreshToken: string;
}

export const normaliseEmail = (email: string): string => email.trim().toLowerCase();
