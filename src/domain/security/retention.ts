import type { Clock } from "../lib/ports.js";

/** How long rows are kept after they stopped mattering; src/config.ts's Config satisfies it. */
export interface RetentionConfig {
  RETENTION_DAYS_TOKENS: number;
  RETENTION_DAYS_SESSIONS: number;
  RETENTION_DAYS_API_KEYS: number;
  RETENTION_DAYS_EVENTS: number;
}

/** Rows older than these instants go. */
export interface RetentionCutoffs {
  /** Refresh tokens, MFA, WebAuthn and step-up challenges, mail and verification tokens that expired before this. */
  tokensExpiredBefore: Date;
  /** Sessions revoked or ended before this (their refresh tokens go with them). */
  sessionsEndedBefore: Date;
  /** API keys revoked or expired before this (until then the owner still sees them in the list, marked so). */
  apiKeysEndedBefore: Date;
  /** Security events recorded before this. */
  eventsBefore: Date;
  /** Now: rate-limit counters whose window is over. */
  now: Date;
}

export type PurgeCounts = Record<
  | "refreshTokens"
  | "mfaChallenges"
  | "emailTokens"
  | "webauthnChallenges"
  | "stepUpChallenges"
  | "verificationTokens"
  | "sessions"
  | "apiKeys"
  | "securityEvents"
  | "counters",
  number
>;

export interface RetentionStore {
  /** Deletes what the cutoffs say is old. Idempotent: two instances purging at once delete each row once. */
  purge(cutoffs: RetentionCutoffs): Promise<PurgeCounts>;
}

const DAY_MS = 86_400_000;

export function retentionCutoffs(config: RetentionConfig, now: Date): RetentionCutoffs {
  const daysAgo = (days: number) => new Date(now.getTime() - days * DAY_MS);
  return {
    tokensExpiredBefore: daysAgo(config.RETENTION_DAYS_TOKENS),
    sessionsEndedBefore: daysAgo(config.RETENTION_DAYS_SESSIONS),
    apiKeysEndedBefore: daysAgo(config.RETENTION_DAYS_API_KEYS),
    eventsBefore: daysAgo(config.RETENTION_DAYS_EVENTS),
    now,
  };
}

/**
 * Deletes expired and old rows (run by `warden purge` and every RETENTION_PURGE_INTERVAL by each
 * instance). A spent refresh token is kept until RETENTION_DAYS_TOKENS after it expired, so a
 * replay is recognised as reuse (and revokes its session) for that long.
 */
export async function purgeExpired(deps: {
  retention: RetentionStore;
  clock: Clock;
  config: RetentionConfig;
}): Promise<PurgeCounts> {
  return deps.retention.purge(retentionCutoffs(deps.config, deps.clock.now()));
}
