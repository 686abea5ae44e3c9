import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { loadConfig, workersFor } from "../src/config.js";
import { importUsers } from "../src/domain/accounts/lifecycle.js";
import { buildDeps } from "../src/deps.js";
import { createLogger } from "../src/log.js";
import { postgresEngine, sqliteEngine } from "../test/helpers/engines.js";
import { call, forEachLimited } from "./http-call.js";
import { cpuTicks, freePort, processTree, startServer, type ServerProcess } from "./server-process.js";

export const BENCH_PASSWORD = "bench-Password-1";
const ROOT = path.resolve(import.meta.dirname, "..");

/**
 * The environment, node flags and script of `npm start` (package.json: `[NAME=value ...] exec node
 * <flags> dist/main.js`), so the bench runs the server as operators do.
 */
const { START_ENV, START_ARGS } = (() => {
  const start = (JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { scripts: { start: string } })
    .scripts.start;
  const match = /^((?:\w+=\S+\s+)*)exec node\s+(.+)$/.exec(start.trim());
  if (!match) throw new Error(`package.json's start script is not "[NAME=value ...] exec node ...": ${start}`);
  const env = Object.fromEntries(
    match[1]!
      .split(/\s+/)
      .filter(Boolean)
      .map((pair) => [pair.slice(0, pair.indexOf("=")), pair.slice(pair.indexOf("=") + 1)]),
  );
  const args = match[2]!.split(/\s+/).map((arg) => (arg.endsWith(".js") ? path.join(ROOT, arg) : arg));
  return { START_ENV: env as Record<string, string>, START_ARGS: args };
})();

function withChanges(env: Record<string, string>, changes: Record<string, string | null>): Record<string, string> {
  const changed = { ...env };
  for (const [name, value] of Object.entries(changes)) {
    if (value === null) delete changed[name];
    else changed[name] = value;
  }
  return changed;
}

export type EngineName = "sqlite" | "postgres";

export interface WardenTarget {
  server: ServerProcess;
  engine: EngineName;
  /** Worker processes as configured: `auto` is the core count on PostgreSQL, 1 on SQLite (src/config.ts). */
  workers: number;
  emails: string[];
  mfaEmails: string[];
  /** What resource servers send to POST /api/auth/introspect. */
  introspectionSecret: string;
  close(): Promise<void>;
}

/** The scope catalogue of the bench's API keys (API_KEY_SCOPES_FILE). */
const BENCH_SCOPES = [{ value: "bench:read", label: "Read benchmarks", category: "Bench" }];

export const userEmail = (i: number) => `user-${i}@bench.test`;
export const mfaEmail = (i: number) => `mfa-${i}@bench.test`;

/**
 * Users go straight into the database through Warden's own import (one argon2id hash at the real
 * parameters shared by all, so seeding takes a second), before the server starts.
 */
async function seedUsers(env: Record<string, string>, emails: string[]): Promise<void> {
  const deps = await buildDeps(loadConfig(env), createLogger("silent"));
  try {
    const passwordHash = await deps.hasher.hash(BENCH_PASSWORD);
    const report = await importUsers(
      deps,
      emails.map((email, i) => ({ label: `user ${i + 1}`, email, passwordHash, confirmed: true, active: true })),
    );
    if (report.skipped.length > 0)
      throw new Error(`seeding skipped ${report.skipped.length} user(s): ${report.skipped[0]!.reason}`);
  } finally {
    await deps.close();
  }
}

/**
 * Starts Warden as an operator would: `node dist/main.js` on a real port, configured
 * only through its environment. TRUST_PROXY lets the harness spread load over client addresses;
 * every rate limit keeps its default.
 */
export async function startWardenTarget(options: {
  engine: EngineName;
  /** The WORKERS setting: a count or "auto". */
  workers: string;
  users: number;
  mfaUsers: number;
  redisUrl?: string;
  profileDir?: string | null;
  /** Node's flags instead of `npm start`'s (bench/flags.ts compares two sets side by side). */
  nodeFlags?: string[];
  /** Changes to `npm start`'s environment: a value sets the variable, null removes it (bench/flags.ts). */
  envChanges?: Record<string, string | null>;
}): Promise<WardenTarget> {
  const database = await (options.engine === "sqlite" ? sqliteEngine : postgresEngine).create();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "warden-bench-"));
  const scopesFile = path.join(dataDir, "api-key-scopes.json");
  fs.writeFileSync(scopesFile, JSON.stringify(BENCH_SCOPES));
  const introspectionSecret = crypto.randomBytes(32).toString("hex");
  const env: Record<string, string> = {
    NODE_ENV: "production",
    DATABASE_URL: database.url,
    DATA_DIR: dataDir,
    WARDEN_SECRET: crypto.randomBytes(32).toString("base64url"),
    TRUST_PROXY: "true",
    WORKERS: options.workers,
    // Request logs at 5,000/s would measure the log pipe; warnings and errors still print.
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? "warn",
    COUNTER_PREFIX: `bench${crypto.randomBytes(4).toString("hex")}`,
    APP_URL: "http://warden.bench",
    // API keys and introspection on, as an integrator configures them; API_KEY_RATE_LIMIT keeps its default.
    API_KEY_SCOPES_FILE: scopesFile,
    INTROSPECTION_SECRET: introspectionSecret,
  };
  if (options.engine === "postgres" && options.redisUrl) env.REDIS_URL = options.redisUrl;
  const emails = Array.from({ length: options.users }, (_, i) => userEmail(i));
  const mfaEmails = Array.from({ length: options.mfaUsers }, (_, i) => mfaEmail(i));
  await seedUsers(env, [...emails, ...mfaEmails]);

  const workers = workersFor(options.workers === "auto" ? "auto" : Number(options.workers), options.engine);
  const server = await startServer({
    args: options.nodeFlags ? [...options.nodeFlags, START_ARGS.at(-1)!] : START_ARGS,
    cwd: ROOT,
    env: withChanges({ ...START_ENV, ...env }, options.envChanges ?? {}),
    port: await freePort(),
    readyPath: "/readyz",
    profileDir: options.profileDir,
  });
  if (workers > 1) await waitForWorkers(server, workers);
  return {
    server,
    engine: options.engine,
    workers,
    emails,
    mfaEmails,
    introspectionSecret,
    async close() {
      await server.stop();
      await database.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Spawn to first answer, `tries` times, each on an empty SQLite file and data folder: the start
 * creates the schema, the first signing key and the secret, as a first `npm start` does.
 */
export async function measureStart(tries: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < tries; i++) {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "warden-bench-start-"));
    try {
      const server = await startServer({
        args: START_ARGS,
        cwd: ROOT,
        env: {
          ...START_ENV,
          NODE_ENV: "production",
          DATABASE_URL: `sqlite:${path.join(dataDir, "warden.db")}`,
          DATA_DIR: dataDir,
          LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? "warn",
        },
        port: await freePort(),
        readyPath: "/healthz",
        pollMs: 10,
      });
      times.push(server.readyAfterMs);
      await server.stop();
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  }
  return times;
}

/**
 * The first worker answering does not mean all do, and nothing in a response tells workers apart.
 * Wait until every worker process exists and none of them is busy any more (starting up means
 * compiling and connecting: CPU time), so no worker is still starting when the load begins.
 */
async function waitForWorkers(server: ServerProcess, workers: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline && processTree(server.pid).length < workers + 1) await sleep(100);
  let quietSamples = 0;
  let before = cpuTicks(processTree(server.pid));
  while (Date.now() < deadline && quietSamples < 3) {
    await sleep(250);
    const now = cpuTicks(processTree(server.pid));
    // Under 4% of a core per process over the last 250 ms (clock ticks are 10 ms).
    quietSamples = [...now].every(([pid, ticks]) => ticks - (before.get(pid) ?? 0) <= 1) ? quietSamples + 1 : 0;
    before = now;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface Session {
  token: string;
  refreshToken: string;
}

/**
 * One login through the public endpoint, from its own client address. A 503 (the hash queue is
 * full, e.g. right after a load run) is retried after its Retry-After, as a client would.
 */
export async function login(target: WardenTarget, email: string): Promise<Record<string, unknown>> {
  for (let attempt = 1; ; attempt++) {
    const response = await call(`${target.server.url}/api/auth`, { body: { email, password: BENCH_PASSWORD } });
    if (response.status === 200) return response.body;
    if (response.status !== 503 || attempt === 10)
      throw new Error(`login of ${email} answered ${response.status}: ${JSON.stringify(response.body)}`);
    await sleep(Number(response.headers.get("retry-after") ?? 1) * 1000);
  }
}

/** Logs `count` users in (8 at a time) and returns their sessions. */
export async function loginMany(target: WardenTarget, count: number): Promise<Session[]> {
  return forEachLimited(count, 8, async (i) => {
    const body = await login(target, target.emails[i % target.emails.length]!);
    return { token: String(body.token), refreshToken: String(body.refresh_token) };
  });
}

/** Whether the server has a route (the endpoints of some scenarios arrive on other branches). */
export async function hasRoute(
  target: WardenTarget,
  method: "GET" | "POST",
  route: string,
  headers: Record<string, string> = {},
): Promise<boolean> {
  const response = await call(`${target.server.url}${route}`, {
    method,
    body: method === "POST" ? {} : undefined,
    headers,
  });
  return response.status !== 404;
}

/**
 * How many keys the single-scenario tools (bench/threads.ts, bench/flags.ts) cycle through: few
 * enough that the warm-up uses each (its last-use stamp), enough that none reaches
 * API_KEY_RATE_LIMIT.
 */
export const SCENARIO_API_KEYS = 256;

/**
 * `count` API keys, made through the API as a user makes them (POST /api/v1/api-tokens right after
 * a login, so the session is fresh), spread over the given sessions' users. Each key has its own
 * limit (API_KEY_RATE_LIMIT, default 600 a minute), so a load spreads over many keys as it spreads
 * over many client addresses. Null when this build has no API keys (404).
 */
export async function createApiKeys(
  target: WardenTarget,
  sessions: Session[],
  count: number,
): Promise<string[] | null> {
  const url = `${target.server.url}/api/v1/api-tokens`;
  const probe = await call(url, { headers: { authorization: `Bearer ${sessions[0]!.token}` } });
  if (probe.status === 404) return null;
  return forEachLimited(count, 8, async (i) => {
    const response = await call(url, {
      body: { name: `bench key ${i}`, scopes: BENCH_SCOPES.map((s) => s.value) },
      headers: { authorization: `Bearer ${sessions[i % sessions.length]!.token}` },
    });
    if (response.status !== 201)
      throw new Error(`creating an API key answered ${response.status}: ${JSON.stringify(response.body)}`);
    return String(response.body.token);
  });
}
