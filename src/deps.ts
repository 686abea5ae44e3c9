import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import type { Logger } from "pino";
import type { Config } from "./config.js";
import { AccessTokens } from "./domain/sessions/access-tokens.js";
import type { DomainDeps } from "./domain/context.js";
import { createPasswordHasher, type Argon2Params, type Hasher } from "./hashing/passwords.js";
import type { Clock, Random } from "./domain/lib/ports.js";
import { SlidingWindowLimiter } from "./domain/security/rate-limits.js";
import { SecretBox } from "./domain/lib/secret-box.js";
import { SigningKeys } from "./domain/sessions/signing-keys.js";
import { MailQueue, type RetryPolicy } from "./mail/queue.js";
import { createTransportFor } from "./mail/transport.js";
import { createCounters, type CounterBackend, type Counters } from "./storage/counters.js";
import { openDatabase, type Database } from "./storage/database.js";
import { createHashClassRegistry } from "./storage/hash-classes.js";
import { migrateToLatest } from "./storage/migrations.js";
import { connectionProblem } from "./startup.js";
import { hashesInFlightFor, hashSlotsFor } from "./thread-pool.cjs";
import { createSecurityEventSearch } from "./storage/security-events.js";
import { createRetentionStore } from "./storage/retention.js";
import type { RetentionStore } from "./domain/security/retention.js";
import { createSigningKeyStore } from "./storage/signing-keys.js";
import { IdTokenVerifier } from "./domain/federation/id-tokens.js";
import type { ApiKeyDeps } from "./domain/api-keys/context.js";
import { Metrics, observedEventStore, observedUnitOfWork } from "./metrics.js";
import { createApiKeyStore } from "./storage/api-keys.js";
import { loadScopeCatalogue } from "./storage/scope-catalogue.js";
import type { SecurityEventSearch, UserDirectory } from "./domain/admin/ports.js";
import { createUserDirectory } from "./storage/user-directory.js";
import { createStores, createUnitOfWork } from "./storage/stores.js";
import { createRecentReads } from "./storage/recent-reads.js";

export interface Deps extends Omit<DomainDeps, "config" | "hasher">, Omit<ApiKeyDeps, "config"> {
  config: Config;
  hasher: Hasher;
  metrics: Metrics;
  userDirectory: UserDirectory;
  eventSearch: SecurityEventSearch;
  database: Database;
  counters: Counters;
  /** Deletes expired and old rows (`warden purge`, and periodically in the server). */
  retention: RetentionStore;
  log: Logger;
  /** The Mailer port, as its in-memory queue (tests wait on `mailer.idle()`). */
  mailer: MailQueue;
  close(): Promise<void>;
}

/** How long close() waits for queued mail before recording what is left as `mail_failed`. */
export const MAIL_DRAIN_MS = 3_000;

export const systemClock: Clock = { now: () => new Date() };
export const systemRandom: Random = { bytes: (n) => crypto.randomBytes(n), uuid: () => crypto.randomUUID() };

export interface BuildOptions {
  clock?: Clock;
  /** Tests may use cheaper argon2 parameters; the HTTP suite also runs the real ones. */
  argon2?: Argon2Params;
  /** Run migrations and create the first signing key (the server does; the CLI does too). */
  prepare?: boolean;
  /** Mail retry timing; tests shorten it. */
  mailRetry?: RetryPolicy;
  /** Least time between two JWKS fetches caused by an unknown `kid` (default 30 s); tests rotate keys at once. */
  jwksCooldownMs?: number;
  /** Add Node's process metrics (CPU, memory, event loop) to /metrics: the server does, tests need not. */
  processMetrics?: boolean;
}

/**
 * The master secret encrypts signing keys and TOTP secrets. Without WARDEN_SECRET one is
 * generated into the data folder, which only works while every instance shares that folder.
 */
export function resolveSecret(config: Config, log: Logger): string {
  if (config.WARDEN_SECRET) return config.WARDEN_SECRET;
  const file = path.join(config.DATA_DIR, "secret");
  if (fs.existsSync(file)) return fs.readFileSync(file, "utf8").trim();
  fs.mkdirSync(config.DATA_DIR, { recursive: true, mode: 0o700 });
  const secret = crypto.randomBytes(32).toString("base64url");
  try {
    fs.writeFileSync(file, secret + "\n", { mode: 0o600, flag: "wx" });
  } catch {
    // Another process created it first: use theirs.
    return fs.readFileSync(file, "utf8").trim();
  }
  log.warn(
    { file },
    "WARDEN_SECRET is not set: generated one into the data folder; set WARDEN_SECRET when several hosts share the database",
  );
  return secret;
}

export function counterBackendFor(config: Config, database: Database): CounterBackend {
  if (config.REDIS_URL) return { kind: "redis", url: config.REDIS_URL, prefix: config.COUNTER_PREFIX };
  if (database.pgPool) return { kind: "postgres", pool: database.pgPool };
  const file = config.DATABASE_URL.slice("sqlite:".length);
  // Counters share the database file, so every worker process sees the same numbers.
  return file === ":memory:"
    ? { kind: "memory", prefix: config.COUNTER_PREFIX }
    : { kind: "sqlite", db: database.db, reader: database.reader };
}

export async function buildDeps(config: Config, log: Logger, options: BuildOptions = {}): Promise<Deps> {
  const clock = options.clock ?? systemClock;
  const random = systemRandom;
  const metrics = new Metrics({ processMetrics: options.processMetrics });
  const apiKeyScopes = loadScopeCatalogue(config.API_KEY_SCOPES_FILE);
  const database = openDatabase(config.DATABASE_URL, { onConnectionError: () => metrics.databaseErrors.inc() });
  try {
    if (options.prepare !== false)
      await migrateToLatest(database.db).catch((error: unknown) => {
        throw connectionProblem(error, "DATABASE_URL", config.DATABASE_URL);
      });
    const counters = await createCounters(counterBackendFor(config, database), {
      log,
      onRedisError: () => metrics.redisErrors.inc(),
    }).catch((error: unknown) => {
      throw connectionProblem(error, "REDIS_URL", config.REDIS_URL);
    });
    const box = new SecretBox(resolveSecret(config, log));
    const keys = new SigningKeys(
      createSigningKeyStore(database.db, database.engine),
      box,
      clock,
      config.ACCESS_TOKEN_TTL,
    );
    if (options.prepare !== false) await keys.init();
    else await keys.reload();
    const plain = createStores(database.db, database.engine, random, database.reader);
    // Every security event is counted and noted on its request, inside transactions too.
    const stores = { ...plain, events: observedEventStore(plain.events, metrics) };
    const { events } = stores;
    const mailer = new MailQueue({
      transport: createTransportFor(config, log),
      brand: { productName: config.PRODUCT_NAME, appUrl: config.APP_URL },
      from: config.MAIL_FROM,
      log,
      events,
      clock,
      retry: options.mailRetry,
    });
    const hashSlots = hashSlotsFor(config.HASH_CONCURRENCY, config.WORKERS);
    const hasher = await createPasswordHasher({
      params: options.argon2,
      concurrency: hashesInFlightFor(hashSlots, process.env),
      maxWaitMs: config.HASH_QUEUE_MAX_WAIT_MS,
      registry: createHashClassRegistry(database.db, clock),
      onOverBudget: (reason) =>
        log.warn({ reason }, "a stored password hash is over the verify budget: not verified, the login fails"),
      onWait: (ms, priority) => metrics.hashWait.observe({ priority }, ms / 1000),
    });
    metrics.watch({
      hashQueueDepth: (priority) => hasher.gate.queuedFor(priority),
      mailQueueDepth: () => mailer.pending,
    });
    const deps: Deps = {
      config,
      clock,
      random,
      box,
      hasher,
      keys,
      accessTokens: new AccessTokens(keys, clock, random, config.issuer, config.ACCESS_TOKEN_TTL),
      limiter: new SlidingWindowLimiter(counters, clock),
      recent: createRecentReads(database.changes, config.AUTH_CACHE_MS),
      ...stores,
      ...observedUnitOfWork(createUnitOfWork(database.db, database.engine, random), metrics),
      apiKeys: createApiKeyStore(database.db, database.reader),
      userDirectory: createUserDirectory(database.db, stores.users),
      eventSearch: createSecurityEventSearch(database.db),
      apiKeyScopes,
      metrics,
      mailer,
      idTokens: {
        google: new IdTokenVerifier(
          {
            name: "google",
            clientIds: config.GOOGLE_CLIENT_IDS,
            issuers: config.GOOGLE_ISSUERS,
            jwksUrl: config.GOOGLE_JWKS_URL,
          },
          { jwksCooldownMs: options.jwksCooldownMs },
        ),
        apple: new IdTokenVerifier(
          {
            name: "apple",
            clientIds: config.APPLE_CLIENT_IDS,
            issuers: [config.APPLE_ISSUER],
            jwksUrl: config.APPLE_JWKS_URL,
          },
          { jwksCooldownMs: options.jwksCooldownMs },
        ),
      },
      database,
      counters,
      retention: createRetentionStore(database.db, counters),
      log,
      async close() {
        keys.stop();
        hasher.close();
        // Before the database closes: mail given up on is recorded as a security event.
        await mailer.close(MAIL_DRAIN_MS);
        await counters.close();
        await database.close();
      },
    };
    return deps;
  } catch (error) {
    await database.close();
    throw error;
  }
}
