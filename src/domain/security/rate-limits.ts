/** A `<count>/<seconds>` limit, e.g. `5/60`. */
export interface RateRule {
  points: number;
  durationSeconds: number;
}
import type { Clock } from "../lib/ports.js";
import type { CounterStore } from "./ports.js";

export interface RateDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Seconds until the current window ends. */
  resetSeconds: number;
  /** Seconds until one more request would be allowed (0 when allowed). */
  retryAfterSeconds: number;
  windowSeconds: number;
}

/**
 * Sliding-window counter: the estimate is the previous window's count, weighted by how much
 * of it still overlaps the sliding window, plus the current window's count. Counts live in a
 * shared CounterStore, so every process of a cluster sees the same numbers.
 *
 * The previous window weighs at most (limit - 1) / limit of its count. With the plain overlap
 * weight, a client refused after a full window (5 of 5) had to wait into the next window until
 * 5 * (1 - f) + 1 <= 5, i.e. up to 72 s on a 5/60 s limit; with this weight a full previous
 * window leaves room for one request as soon as it ends, so Retry-After never exceeds the
 * window (for counts made by `hit`, which never passes the limit). A limit of 1 becomes a fixed
 * window.
 */
export class SlidingWindowLimiter {
  constructor(
    private readonly counters: CounterStore,
    private readonly clock: Clock,
  ) {}

  /** Counts one request against `rule` and tells whether it may proceed. A refused request is not counted. */
  async hit(name: string, rule: RateRule, key: string): Promise<RateDecision> {
    return this.hitIn(this.window(rule), name, rule, key);
  }

  private async hitIn(
    w: ReturnType<SlidingWindowLimiter["window"]>,
    name: string,
    rule: RateRule,
    key: string,
  ): Promise<RateDecision> {
    const [current, previous] = await this.counters.incrementAndGet(
      w.key(name, key, 0),
      1,
      w.ttl,
      w.key(name, key, -1),
    );
    const estimate = previous * previousWeight(rule.points, w.elapsed) + current;
    if (estimate <= rule.points) return this.decision(rule, w, previous, current, true);
    await this.counters.increment(w.key(name, key, 0), -1, w.ttl);
    return this.decision(rule, w, previous, current - 1, false);
  }

  /** Tells whether one more event would stay within `rule`, counting nothing. */
  async check(name: string, rule: RateRule, key: string): Promise<RateDecision> {
    const w = this.window(rule);
    const [current, previous] = await Promise.all([
      this.counters.get(w.key(name, key, 0), w.ttl),
      this.counters.get(w.key(name, key, -1), w.ttl),
    ]);
    const allowed = previous * previousWeight(rule.points, w.elapsed) + current + 1 <= rule.points;
    return this.decision(rule, w, previous, current, allowed);
  }

  /**
   * Reserve-then-verify: takes one unit of the budget with an atomic increment BEFORE the costly
   * check (a password, a code), so however many requests race, at most `rule.points` get past
   * (`hit` gives the refused ones their unit back). `refund()` returns the unit when the check
   * succeeded, so only failures stay counted. The refund goes to the window the unit was taken
   * from, even if a new window began in between.
   */
  async reserve(name: string, rule: RateRule, key: string): Promise<RateDecision & { refund(): Promise<void> }> {
    const w = this.window(rule);
    const decision = await this.hitIn(w, name, rule, key);
    let refunded = !decision.allowed;
    return {
      ...decision,
      refund: async () => {
        if (refunded) return;
        refunded = true;
        await this.counters.increment(w.key(name, key, 0), -1, w.ttl);
      },
    };
  }

  /** Empties the budget of `key` (both windows the sliding estimate reads). */
  async clear(name: string, rule: RateRule, key: string): Promise<void> {
    const w = this.window(rule);
    for (const offset of [0, -1]) {
      const k = w.key(name, key, offset);
      const value = await this.counters.get(k, w.ttl);
      if (value > 0) await this.counters.increment(k, -value, w.ttl);
    }
  }

  /** Counts one event without asking (a failed password, say). */
  async record(name: string, rule: RateRule, key: string): Promise<void> {
    const w = this.window(rule);
    await this.counters.increment(w.key(name, key, 0), 1, w.ttl);
  }

  private window(rule: RateRule) {
    const windowMs = rule.durationSeconds * 1000;
    const nowMs = this.clock.now().getTime();
    const index = Math.floor(nowMs / windowMs);
    return {
      windowMs,
      elapsed: (nowMs - index * windowMs) / windowMs,
      // Two windows of life: the previous window is still read while the current one runs.
      ttl: rule.durationSeconds * 2,
      key: (name: string, key: string, offset: number) => `${name}:${rule.durationSeconds}:${key}:${index + offset}`,
    };
  }

  private decision(
    rule: RateRule,
    w: ReturnType<SlidingWindowLimiter["window"]>,
    previous: number,
    current: number,
    allowed: boolean,
  ): RateDecision {
    const estimate = previous * previousWeight(rule.points, w.elapsed) + current;
    const retryAfterSeconds = allowed ? 0 : secondsUntilAllowed(rule.points, previous, current, w.elapsed, w.windowMs);
    return {
      allowed,
      limit: rule.points,
      remaining: Math.max(0, Math.floor(rule.points - estimate - (allowed ? 0 : 1))),
      // A refused client is told one time, in both headers: when its next request fits.
      resetSeconds: allowed ? Math.max(1, Math.ceil(((1 - w.elapsed) * w.windowMs) / 1000)) : retryAfterSeconds,
      retryAfterSeconds,
      windowSeconds: rule.durationSeconds,
    };
  }
}

/** How much of the previous window's count still weighs `elapsed` (0..1) into the current one. */
export function previousWeight(limit: number, elapsed: number): number {
  return ((1 - elapsed) * (limit - 1)) / limit;
}

/**
 * Runs the check a reservation was taken for. When the check could not run at all (the hash
 * queue was full: OVERLOADED, or any other error), no guess was tested, so the unit goes back.
 */
export async function checkedWithin<T>(reservation: { refund(): Promise<void> }, check: () => Promise<T>): Promise<T> {
  try {
    return await check();
  } catch (error) {
    await reservation.refund();
    throw error;
  }
}

/**
 * Earliest time at which one more request fits, if no other arrives: within this window once
 * prev * weight(f) + cur + 1 <= limit, else in the next once cur * weight(g) + 1 <= limit.
 */
export function secondsUntilAllowed(
  limit: number,
  previous: number,
  current: number,
  elapsed: number,
  windowMs: number,
): number {
  let waitMs: number;
  const room = limit - 1 - current;
  const full = (limit - 1) / limit;
  if (room >= 0) {
    // prev * (1 - f) * full <= room
    const f = previous * full > room ? 1 - room / (previous * full) : 0;
    waitMs = Math.max(0, f - elapsed) * windowMs;
  } else {
    const g = current * full > limit - 1 ? 1 - (limit - 1) / (current * full) : 0;
    waitMs = (1 - elapsed) * windowMs + g * windowMs;
  }
  // The epsilon keeps float noise (10000.000001 ms) from adding a whole second.
  return Math.max(1, Math.ceil(waitMs / 1000 - 1e-9));
}
