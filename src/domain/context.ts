import type { Config } from "../config.js";
import type { AccessTokens } from "./access-tokens.js";
import type { PasswordHasher } from "./passwords.js";
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
import type { SlidingWindowLimiter } from "./rate-limits.js";
import type { SecretBox } from "./secret-box.js";
import type { SigningKeys } from "./signing-keys.js";

/** Everything the domain works with; built by src/deps.ts, replaced piecewise in tests. */
export interface DomainDeps {
  config: Config;
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
