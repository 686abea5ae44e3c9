import { sql, type Kysely } from "kysely";
import type pg from "pg";
import { createRequire } from "node:module";
import type { Redis } from "ioredis";
import type { RateLimiterAbstract, RateLimiterMemory } from "rate-limiter-flexible";
import type { CounterStore } from "../domain/security/ports.js";
import type { DB, RawReader } from "./database.js";

/** Counters never reject by themselves: the sliding-window policy in domain/rate-limits.ts decides. */
const UNBOUNDED = 2 ** 31 - 1;
const TABLE = "warden_counters";

export type CounterBackend =
  | { kind: "memory"; prefix: string }
  | { kind: "redis"; url: string; prefix: string }
  | { kind: "postgres"; pool: pg.Pool }
  | { kind: "sqlite"; db: Kysely<DB>; reader: RawReader };

export interface Counters extends CounterStore {
  readonly kind: CounterBackend["kind"];
  /** Resolves when the shared store answers (Redis); the database-backed stores are checked with the database. */
  ping(): Promise<void>;
  /** Deletes counters whose window is over (database tables; Redis expires its keys itself). Returns how many. */
  purgeExpired(now: Date): Promise<number>;
  close(): Promise<void>;
}

/** Where the counters say that Redis went away and came back (once each per outage). */
export interface CounterLog {
  warn(obj: object, message: string): void;
  info(obj: object, message: string): void;
}

type RateLimiterFlexible = typeof import("rate-limiter-flexible");

/**
 * rate-limiter-flexible's increment script for Redis (same keys, same expiry), and the read of
 * a second key, in one call: one round trip instead of two. Both keys are in one script, so a
 * Redis Cluster would refuse it (CROSSSLOT); REDIS_URL is one server.
 */
const REDIS_INCREMENT_AND_GET = `redis.call('set', KEYS[1], 0, 'EX', ARGV[2], 'NX')
local current = redis.call('incrby', KEYS[1], ARGV[1])
if redis.call('pttl', KEYS[1]) == -1 then redis.call('expire', KEYS[1], ARGV[2]) end
return {current, tonumber(redis.call('get', KEYS[2])) or 0}`;

type RedisWithScript = Redis & {
  wardenIncrementAndGet(key: string, other: string, amount: number, ttlSeconds: number): Promise<[number, number]>;
};

/**
 * rate-limiter-flexible's upsert on its PostgreSQL table (same keys, same expiry rule), and the
 * read of a second key, in one statement: a rate-limited request's two counters cost one round
 * trip to the database instead of two.
 */
const POSTGRES_INCREMENT_AND_GET = `with counted as (
    insert into "${TABLE}" values ($1, $2, $3)
    on conflict (key) do update set
      points = case when "${TABLE}".expire <= $4 then $2 else "${TABLE}".points + ($2) end,
      expire = case when "${TABLE}".expire <= $4 then $3 else "${TABLE}".expire end
    returning points)
  select (select points from counted) as current,
    (select points from "${TABLE}" where key = $5 and (expire > $4 or expire is null)) as previous`;

/**
 * The per-instance counters that answer while Redis does not. The store calls it only after a
 * Redis command failed (or Redis was not ready), so each call is one Redis error to count.
 */
function fallbackLimiter(
  { RateLimiterMemory }: RateLimiterFlexible,
  options: ConstructorParameters<typeof RateLimiterMemory>[0],
  onUse: () => void = () => {},
): RateLimiterMemory {
  class FallbackLimiter extends RateLimiterMemory {
    override consume(...args: Parameters<RateLimiterMemory["consume"]>) {
      onUse();
      return super.consume(...args);
    }
    override reward(...args: Parameters<RateLimiterMemory["reward"]>) {
      onUse();
      return super.reward(...args);
    }
    override get(...args: Parameters<RateLimiterMemory["get"]>) {
      onUse();
      return super.get(...args);
    }
  }
  return new FallbackLimiter(options);
}

/** How long a Redis command may take before the per-instance fallback answers instead. */
const REDIS_COMMAND_TIMEOUT_MS = 1_000;
/** How long a start waits for Redis before counting per instance. */
const REDIS_START_WAIT_MS = 2_000;

function waitUntilReady(client: Redis, timeoutMs: number): Promise<void> {
  if (client.status === "ready") return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const ready = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      client.off("ready", ready);
      reject(new Error(`Redis is ${client.status}`));
    }, timeoutMs);
    client.once("ready", ready);
  });
}

/**
 * Atomic counters on rate-limiter-flexible's stores. One limiter per TTL, since the library
 * fixes the duration per instance; all of them share one table or key space.
 */
export async function createCounters(
  backend: CounterBackend,
  observer: {
    log?: CounterLog;
    /** Told of every Redis failure: a connection error, or a command the per-instance fallback answered. */
    onRedisError?: () => void;
  } = {},
): Promise<Counters> {
  const { log, onRedisError } = observer;
  if (backend.kind === "sqlite") return createSqliteCounters(backend.db, backend.reader);
  // Loaded by the backends that use it, not on SQLite, the default (issue 14: start and memory).
  const library = createRequire(import.meta.url)("rate-limiter-flexible") as RateLimiterFlexible;
  const { RateLimiterMemory, RateLimiterPostgres, RateLimiterRedis } = library;
  let redis: Redis | undefined;
  const connectRedis = (url: string): Redis => {
    // No offline queue and a short command timeout: while Redis is away a command fails at once
    // and the insurance limiter answers, instead of requests piling up behind a reconnect.
    // ioredis is loaded when REDIS_URL is set, not by every process (issue 14: memory per worker).
    const { Redis: RedisClient } = createRequire(import.meta.url)("ioredis") as typeof import("ioredis");
    const client = new RedisClient(url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      commandTimeout: REDIS_COMMAND_TIMEOUT_MS,
      connectTimeout: 2_000,
      // Back within a second of Redis returning, so limits are shared again within seconds.
      retryStrategy: (times) => Math.min(times * 100, 1_000),
    });
    let down = false;
    // Listening also keeps ioredis from printing "[ioredis] Unhandled error event" as plain text.
    client.on("error", (error: Error) => {
      onRedisError?.();
      if (down) return;
      down = true;
      log?.warn({ err: error }, "Redis unreachable: rate limits fall back to per-instance counters until it is back");
    });
    client.on("ready", () => {
      if (!down) return;
      down = false;
      log?.info({}, "Redis is reachable again: rate limits are shared again");
    });
    return client;
  };
  let tableReady: Promise<void> | undefined;
  const limiters = new Map<number, Promise<RateLimiterAbstract>>();
  if (backend.kind === "redis") {
    redis = connectRedis(backend.url);
    redis.defineCommand("wardenIncrementAndGet", { numberOfKeys: 2, lua: REDIS_INCREMENT_AND_GET });
    // Counting starts in Redis, not in the fallback; a Redis that is down at start costs this wait once.
    await waitUntilReady(redis, REDIS_START_WAIT_MS).catch(() => {});
  }

  const keyPrefix = "prefix" in backend ? backend.prefix : "w";
  const make = async (ttlSeconds: number): Promise<RateLimiterAbstract> => {
    const base = { points: UNBOUNDED, duration: ttlSeconds, keyPrefix };
    switch (backend.kind) {
      case "memory":
        return new RateLimiterMemory(base);
      case "redis":
        // While Redis is unreachable each instance counts on its own (so a cluster of N allows up
        // to N times a limit): logins keep working, and the log says so once.
        return new RateLimiterRedis({
          ...base,
          storeClient: redis!,
          rejectIfRedisNotReady: true,
          insuranceLimiter: fallbackLimiter(library, base, onRedisError),
        });
      case "postgres": {
        // The first limiter creates the table; the rest reuse it.
        const first = tableReady === undefined;
        let limiter!: InstanceType<typeof RateLimiterPostgres>;
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

  const counters: Counters = {
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
    async incrementAndGet(key, amount, ttlSeconds, other) {
      const apart = () => Promise.all([counters.increment(key, amount, ttlSeconds), counters.get(other, ttlSeconds)]);
      if (backend.kind === "redis") {
        // While Redis is away the library's two calls answer from the per-instance fallback.
        if (redis!.status !== "ready") return apart();
        try {
          const [current, previous] = await (redis as RedisWithScript).wardenIncrementAndGet(
            `${keyPrefix}:${key}`,
            `${keyPrefix}:${other}`,
            amount,
            ttlSeconds,
          );
          return [current, previous];
        } catch {
          return apart();
        }
      }
      if (backend.kind !== "postgres") return apart();
      await limiter(ttlSeconds); // the table exists
      const now = Date.now();
      const { rows } = await backend.pool.query<{ current: number; previous: number | null }>({
        name: "warden-counter-increment-and-get",
        text: POSTGRES_INCREMENT_AND_GET,
        values: [`${keyPrefix}:${key}`, amount, now + ttlSeconds * 1000, now, `${keyPrefix}:${other}`],
      });
      return [rows[0]!.current, rows[0]!.previous ?? 0];
    },
    async purgeExpired(now) {
      if (backend.kind !== "postgres") return 0;
      try {
        const result = await backend.pool.query(`delete from ${TABLE} where expire < $1`, [now.getTime()]);
        return result.rowCount ?? 0;
      } catch (error) {
        // No counter was ever written (the table is made on first use): nothing to purge.
        if ((error as { code?: string }).code === "42P01") return 0;
        throw error;
      }
    },
    async ping() {
      if (backend.kind !== "redis") return;
      // Reconnecting: give it a moment before calling it down.
      await waitUntilReady(redis!, REDIS_COMMAND_TIMEOUT_MS);
      await redis!.ping();
    },
    async close() {
      redis?.disconnect();
    },
  };
  return counters;
}

/**
 * SQLite counters on the app's own connection, not rate-limiter-flexible's store: that store
 * needs a second connection, and a second connection in the same process deadlocks against a
 * Kysely write transaction that is open across an await (its busy wait blocks the event loop the
 * transaction needs to finish; measured: every login racing `keys rotate` stalled 5 s and failed
 * with "database is locked"). The upsert is one statement, so it stays atomic across worker
 * processes too.
 *
 * The two statements of a rate-limited request go through the RawReader (database.ts), as
 * prepared better-sqlite3 statements: through Kysely they were ~0.15 ms of main-thread CPU per
 * API-key request, about as much as all the rest of a JWT `/me`. While a unit of work holds the
 * connection the reader waits for its commit, so a counter never joins another request's
 * transaction, and never rolls back with it.
 */
async function createSqliteCounters(db: Kysely<DB>, reader: RawReader): Promise<Counters> {
  await sql`create table if not exists ${sql.table(TABLE)} (key text primary key, points integer not null, expire integer not null)`.execute(
    db,
  );
  const INCREMENT = `insert into "${TABLE}" (key, points, expire) values (?, ?, ?)
    on conflict (key) do update set
      points = case when expire > ? then points + excluded.points else excluded.points end,
      expire = case when expire > ? then expire else excluded.expire end
    returning points`;
  const GET = `select points from "${TABLE}" where key = ? and expire > ?`;
  const points = async (text: string, parameters: unknown[]) =>
    (await reader.first<{ points: number }>(text, parameters))?.points;
  const PURGE_EVERY_MS = 300_000;
  let lastPurge = Date.now();
  const counters: Counters = {
    kind: "sqlite",
    async increment(key, amount, ttlSeconds) {
      const now = Date.now();
      if (now - lastPurge > PURGE_EVERY_MS) {
        lastPurge = now;
        await sql`delete from ${sql.table(TABLE)} where expire <= ${now}`.execute(db);
      }
      return (await points(INCREMENT, [key, amount, now + ttlSeconds * 1000, now, now]))!;
    },
    async get(key) {
      return (await points(GET, [key, Date.now()])) ?? 0;
    },
    async incrementAndGet(key, amount, ttlSeconds, other) {
      // In-process statements: two cost no more than one.
      return [await counters.increment(key, amount, ttlSeconds), await counters.get(other, ttlSeconds)];
    },
    async purgeExpired(now) {
      const { numAffectedRows } = await sql`delete from ${sql.table(TABLE)} where expire <= ${now.getTime()}`.execute(
        db,
      );
      return Number(numAffectedRows ?? 0);
    },
    async ping() {},
    async close() {},
  };
  return counters;
}
