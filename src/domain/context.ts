import type { RateRule } from "./security/rate-limits.js";
import type { AccessTokens } from "./sessions/access-tokens.js";
import type { PasswordHasher } from "./factors/password/hasher.js";
import type {
  BackupCodeStore,
  Clock,
  EmailTokenStore,
  Mailer,
  MfaChallengeStore,
  Random,
  SecurityEventStore,
  SessionStore,
  UserStore,
} from "./ports.js";
import type { SlidingWindowLimiter } from "./security/rate-limits.js";
import type { SecretBox } from "./lib/secret-box.js";
import type { SigningKeys } from "./sessions/signing-keys.js";
import type { PasskeyStore, WebAuthnChallengeStore } from "./factors/passkeys/ports.js";
import type { StepUpStore } from "./sessions/step-up-ports.js";

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
  /** Seconds a session counts as fresh for sensitive operations. */
  REAUTH_MAX_AGE: number;
  /** The WebAuthn relying party, from configuration only. */
  webauthn: { rpId: string; rpName: string; origins: string[] };
}

/** Everything the domain works with; built by src/deps.ts, replaced piecewise in tests. */
export interface DomainDeps {
  config: DomainConfig;
  clock: Clock;
  random: Random;
  box: SecretBox;
  hasher: PasswordHasher;
  keys: SigningKeys;
  accessTokens: AccessTokens;
  limiter: SlidingWindowLimiter;
  users: UserStore;
  sessions: SessionStore;
  mfaChallenges: MfaChallengeStore;
  backupCodes: BackupCodeStore;
  events: SecurityEventStore;
  emailTokens: EmailTokenStore;
  mailer: Mailer;
  passkeys: PasskeyStore;
  webauthnChallenges: WebAuthnChallengeStore;
  stepUp: StepUpStore;
}

/** Who is asking: recorded with sessions and security events. */
export interface RequestContext {
  ip: string | null;
  userAgent: string | null;
}

export interface TokenPair {
  token: string;
  refresh_token: string;
}

export const normaliseEmail = (email: string): string => email.trim().toLowerCase();
