import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import type { FastifyInstance, InjectOptions } from "fastify";
import { buildApp } from "../../src/app.js";
import { loadConfig } from "../../src/config.js";
import { createUser } from "../../src/domain/accounts/lifecycle.js";
import type { Argon2Params } from "../../src/hashing/passwords.js";
import type { UserRecord } from "../../src/domain/accounts/ports.js";
import type { Clock } from "../../src/domain/lib/ports.js";
import { buildDeps, type Deps } from "../../src/deps.js";
import { createLogger } from "../../src/log.js";
import type { EngineUnderTest } from "./engines.js";

/** Cheap argon2id for tests that are not about hashing; the login suite also runs the real parameters. */
export const FAST_ARGON2: Argon2Params = { memoryCost: 1024, timeCost: 1, parallelism: 1 };

export class FixedClock implements Clock {
  constructor(private time: Date = new Date("2026-01-15T10:00:00Z")) {}
  now(): Date {
    return new Date(this.time);
  }
  advance(seconds: number): void {
    this.time = new Date(this.time.getTime() + seconds * 1000);
  }
}

export interface Warden {
  app: FastifyInstance;
  deps: Deps;
  /** Every log line written, for tests that check what never appears in logs. */
  logLines: string[];
  createUser(email: string, password: string, options?: { confirmed?: boolean; active?: boolean }): Promise<UserRecord>;
  close(): Promise<void>;
}

export interface StartOptions {
  /** An engine to create a fresh database on, or a database URL to share with another instance. */
  engine?: EngineUnderTest;
  databaseUrl?: string;
  env?: Record<string, string>;
  clock?: Clock;
  argon2?: Argon2Params | "real";
  /** Least time between JWKS refetches on an unknown `kid` (Google/Apple sign-in); default 30 s. */
  jwksCooldownMs?: number;
}

/**
 * For a second instance on a shared database: it remembers what it read for 200 ms instead of a
 * second (AUTH_CACHE_MS), so a test of what it sees after another instance's write waits less.
 */
export const SHORT_AUTH_CACHE = { AUTH_CACHE_MS: "200" };

/**
 * Waits out `w`'s AUTH_CACHE_MS: every read it remembered from before is gone, so a change made
 * through another instance must show now.
 */
export const afterAuthCache = (w: Warden) =>
  new Promise((resolve) => setTimeout(resolve, w.deps.config.AUTH_CACHE_MS + 10));

/** A Warden app on a fresh database, driven through inject() (or `app.listen` for a real socket). */
export async function startWarden(options: StartOptions = {}): Promise<Warden> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "warden-data-"));
  let dropDatabase: (() => Promise<void>) | undefined;
  let databaseUrl = options.databaseUrl;
  if (!databaseUrl) {
    const created = await (options.engine ?? (await import("./engines.js")).sqliteEngine).create();
    databaseUrl = created.url;
    dropDatabase = created.drop;
  }
  const config = loadConfig({
    DATABASE_URL: databaseUrl,
    DATA_DIR: dataDir,
    WARDEN_SECRET: "test-secret-0123456789-0123456789-abcdef",
    // Issuer, jwks_uri and, through APP_URL's default, mail links.
    PUBLIC_URL: "http://warden.test",
    LOG_LEVEL: "info",
    // Each instance counts apart unless a test shares a prefix on purpose (two instances, one Redis).
    COUNTER_PREFIX: `t${process.pid}x${Math.random().toString(36).slice(2, 10)}`,
    ...options.env,
  });
  const logLines: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logLines.push(String(chunk));
      done();
    },
  });
  const deps = await buildDeps(config, createLogger(config.LOG_LEVEL, sink), {
    clock: options.clock,
    argon2: options.argon2 === "real" ? undefined : (options.argon2 ?? FAST_ARGON2),
    jwksCooldownMs: options.jwksCooldownMs,
  });
  const app = await buildApp(deps);
  return {
    app,
    deps,
    logLines,
    createUser: (email, password, o = {}) =>
      createUser(deps, { email, password, confirmed: o.confirmed ?? true, active: o.active ?? true }),
    async close() {
      await app.close();
      await deps.close();
      await dropDatabase?.();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** POST JSON through inject(); returns status, parsed body, raw body and headers. `remoteAddress` is the client's socket address. */
export async function postJson(
  app: FastifyInstance,
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
  options: { remoteAddress?: string } = {},
) {
  return resultOf(
    await app.inject({
      method: "POST",
      url,
      payload: body as object,
      headers: { "content-type": "application/json", ...headers },
      ...options,
    }),
  );
}

/** A request with a Bearer token (or, through `headers`, an exact Authorization header). */
export async function withBearer(
  w: Warden,
  token: string,
  request: Omit<InjectOptions, "headers"> & { headers?: Record<string, string> },
) {
  return resultOf(
    await w.app.inject({
      ...request,
      headers: { authorization: `Bearer ${token}`, ...request.headers },
    } as InjectOptions),
  );
}

/** What a test reads of an injected response: status, parsed body, raw body, headers. */
export function resultOf(response: { statusCode: number; body: string; headers: Record<string, unknown> }) {
  return {
    status: response.statusCode,
    body: safeJson(response.body),
    raw: response.body,
    headers: response.headers as Record<string, string | string[] | undefined>,
  };
}

export function safeJson(text: string): any {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
