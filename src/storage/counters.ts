import SQLite from "better-sqlite3";
import type pg from "pg";
import { Redis } from "ioredis";
import {
  RateLimiterMemory,
  RateLimiterPostgres,
  RateLimiterRedis,
  RateLimiterSQLite,
  type RateLimiterAbstract,
} from "rate-limiter-flexible";
import type { CounterStore } from "../domain/ports.js";

/** Counters never reject by themselves: the sliding-window policy in domain/rate-limits.ts decides. */
const UNBOUNDED = 2 ** 31 - 1;
const TABLE = "warden_counters";

export type CounterBackend =
  | { kind: "memory"; prefix: string }
  | { kind: "redis"; url: string; prefix: string }
  | { kind: "postgres"; pool: pg.Pool }
  | { kind: "sqlite"; file: string };

export interface Counters extends CounterStore {
  readonly kind: CounterBackend["kind"];
  close(): Promise<void>;
}

/**
 * Atomic counters on rate-limiter-flexible's stores. One limiter per TTL, since the library
 * fixes the duration per instance; all of them share one table or key space.
 */
export async function createCounters(backend: CounterBackend): Promise<Counters> {
  let redis: Redis | undefined;
  let sqlite: SQLite.Database | undefined;
  let tableReady: Promise<void> | undefined;
  const limiters = new Map<number, Promise<RateLimiterAbstract>>();

  const make = async (ttlSeconds: number): Promise<RateLimiterAbstract> => {
    const base = { points: UNBOUNDED, duration: ttlSeconds, keyPrefix: "prefix" in backend ? backend.prefix : "w" };
    switch (backend.kind) {
      case "memory":
        return new RateLimiterMemory(base);
      case "redis":
        redis ??= new Redis(backend.url, { enableOfflineQueue: true, maxRetriesPerRequest: 2 });
        return new RateLimiterRedis({ ...base, storeClient: redis });
      case "postgres": {
        // The first limiter creates the table; the rest reuse it.
        const first = tableReady === undefined;
        let limiter!: RateLimiterPostgres;
        const created = new Promise<void>((resolve, reject) => {
          limiter = new RateLimiterPostgres(
            { ...base, storeClient: backend.pool, storeType: "pg", tableName: TABLE, tableCreated: !first, clearExpiredByTimeout: true },
            (error?: unknown) => (error ? reject(error) : resolve()),
          );
        });
        if (first) tableReady = created;
        await tableReady;
        return limiter;
      }
      case "sqlite": {
        // A connection of its own: the app's connection may be inside a transaction at any await.
        if (!sqlite) {
          sqlite = new SQLite(backend.file);
          sqlite.pragma("journal_mode = WAL");
          sqlite.pragma("busy_timeout = 5000");
          sqlite.exec(`create table if not exists ${TABLE} (key text primary key, points integer not null default 0, expire integer)`);
        }
        return new RateLimiterSQLite({ ...base, storeClient: sqlite, storeType: "better-sqlite3", tableName: TABLE, tableCreated: true, clearExpiredByTimeout: true });
      }
    }
  };

  const limiter = (ttlSeconds: number) => {
    let pending = limiters.get(ttlSeconds);
    if (!pending) {
      pending = make(ttlSeconds);
      limiters.set(ttlSeconds, pending);
    }
    return pending;
  };

  return {
    kind: backend.kind,
    async increment(key, amount, ttlSeconds) {
      const rl = await limiter(ttlSeconds);
      const res = amount >= 0 ? await rl.consume(key, amount) : await rl.reward(key, -amount);
      return res.consumedPoints;
    },
    async get(key, ttlSeconds) {
      const rl = await limiter(ttlSeconds);
      const res = await rl.get(key);
      return res?.consumedPoints ?? 0;
    },
    async close() {
      redis?.disconnect();
      sqlite?.close();
    },
  };
}
