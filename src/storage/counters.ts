import { sql, type Kysely } from "kysely";
import type pg from "pg";
import { Redis } from "ioredis";
import {
  RateLimiterMemory,
  RateLimiterPostgres,
  RateLimiterRedis,
  type RateLimiterAbstract,
} from "rate-limiter-flexible";
import type { CounterStore } from "../domain/ports.js";
import type { DB } from "./database.js";

/** Counters never reject by themselves: the sliding-window policy in domain/rate-limits.ts decides. */
const UNBOUNDED = 2 ** 31 - 1;
const TABLE = "warden_counters";

export type CounterBackend =
  | { kind: "memory"; prefix: string }
  | { kind: "redis"; url: string; prefix: string }
  | { kind: "postgres"; pool: pg.Pool }
  | { kind: "sqlite"; db: Kysely<DB> };

export interface Counters extends CounterStore {
  readonly kind: CounterBackend["kind"];
  close(): Promise<void>;
}

/**
 * Atomic counters on rate-limiter-flexible's stores. One limiter per TTL, since the library
 * fixes the duration per instance; all of them share one table or key space.
 */
export async function createCounters(
  backend: CounterBackend,
  options: { onRedisError?: (error: Error) => void } = {},
): Promise<Counters> {
  if (backend.kind === "sqlite") return createSqliteCounters(backend.db);
  let redis: Redis | undefined;
  let tableReady: Promise<void> | undefined;
  const limiters = new Map<number, Promise<RateLimiterAbstract>>();

  const make = async (ttlSeconds: number): Promise<RateLimiterAbstract> => {
    const base = { points: UNBOUNDED, duration: ttlSeconds, keyPrefix: "prefix" in backend ? backend.prefix : "w" };
    switch (backend.kind) {
      case "memory":
        return new RateLimiterMemory(base);
      case "redis":
        if (!redis) {
          redis = new Redis(backend.url, { enableOfflineQueue: true, maxRetriesPerRequest: 2 });
          // Without a listener ioredis prints "Unhandled error event" to stderr, outside the JSON log.
          redis.on("error", (error: Error) => options.onRedisError?.(error));
        }
        return new RateLimiterRedis({ ...base, storeClient: redis });
      case "postgres": {
        // The first limiter creates the table; the rest reuse it.
        const first = tableReady === undefined;
        let limiter!: RateLimiterPostgres;
        const created = new Promise<void>((resolve, reject) => {
          limiter = new RateLimiterPostgres(
            {
              ...base,
              storeClient: backend.pool,
              storeType: "pg",
              tableName: TABLE,
              tableCreated: !first,
              clearExpiredByTimeout: true,
            },
            (error?: unknown) => (error ? reject(error) : resolve()),
          );
        });
        if (first) tableReady = created;
        await tableReady;
        return limiter;
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
    },
  };
}

/**
 * SQLite counters through the app's own Kysely connection, not rate-limiter-flexible's store:
 * that store needs a second connection, and a second connection in the same process deadlocks
 * against a Kysely write transaction that is open across an await (its busy wait blocks the
 * event loop the transaction needs to finish; measured: every login racing `keys rotate` stalled
 * 5 s and failed with "database is locked"). Through Kysely's connection mutex a counter write
 * waits for the transaction instead. The upsert is one statement, so it stays atomic across
 * worker processes too.
 */
async function createSqliteCounters(db: Kysely<DB>): Promise<Counters> {
  await sql`create table if not exists ${sql.table(TABLE)} (key text primary key, points integer not null, expire integer not null)`.execute(
    db,
  );
  const PURGE_EVERY_MS = 300_000;
  let lastPurge = Date.now();
  return {
    kind: "sqlite",
    async increment(key, amount, ttlSeconds) {
      const now = Date.now();
      if (now - lastPurge > PURGE_EVERY_MS) {
        lastPurge = now;
        await sql`delete from ${sql.table(TABLE)} where expire <= ${now}`.execute(db);
      }
      const { rows } = await sql<{ points: number }>`
        insert into ${sql.table(TABLE)} (key, points, expire) values (${key}, ${amount}, ${now + ttlSeconds * 1000})
        on conflict (key) do update set
          points = case when expire > ${now} then points + excluded.points else excluded.points end,
          expire = case when expire > ${now} then expire else excluded.expire end
        returning points`.execute(db);
      return rows[0]!.points;
    },
    async get(key) {
      const { rows } = await sql<{
        points: number;
      }>`select points from ${sql.table(TABLE)} where key = ${key} and expire > ${Date.now()}`.execute(db);
      return rows[0]?.points ?? 0;
    },
    async close() {},
  };
}
