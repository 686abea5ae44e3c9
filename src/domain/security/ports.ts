/**
 * What the security module needs: the event log and shared counters.
 * Implementations: src/storage/security-events.ts, counters.ts.
 */

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
  /**
   * `increment(key, amount, ttlSeconds)` and `get(other, ttlSeconds)` at once, in one round trip
   * where the store allows (a sliding window's hit: the current window's new count and the
   * previous window's). Returns [key's new value, other's value].
   */
  incrementAndGet(key: string, amount: number, ttlSeconds: number, other: string): Promise<[number, number]>;
}
