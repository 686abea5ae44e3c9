/**
 * How many processes serve, how many password hashes each runs at once, and how many threads
 * libuv's pool gets for them. CommonJS, with nothing but Node itself, because `src/preload.cts`
 * needs it before Node loads the server's ES modules (see there); config.ts and deps.ts use the
 * same functions.
 */
import os from "node:os";

export type DatabaseKind = "sqlite" | "postgres";

export const databaseKindOf = (databaseUrl: string): DatabaseKind =>
  databaseUrl.startsWith("sqlite:") ? "sqlite" : "postgres";

/**
 * `WORKERS=auto`: one process per core on PostgreSQL; one process on SQLite. SQLite takes one
 * write lock for the whole file, and a process waiting for it is blocked (better-sqlite3 is
 * synchronous), event loop and all: with two workers on two cores, refresh ran at 650/s
 * against 770/s with one (README, Scaling out). An explicit number is obeyed on either engine.
 */
export function workersFor(setting: number | "auto", databaseKind: DatabaseKind): number {
  if (setting !== "auto") return setting;
  return databaseKind === "sqlite" ? 1 : os.availableParallelism();
}

/**
 * Password hashes in flight per process: HASH_CONCURRENCY, or one per core shared among the
 * workers. Each argon2id hash holds 19 MB while it runs. Two per core was better when the server
 * ran under tsx on a loaded machine (login 71/s -> 82/s); on the built server, one per core is
 * faster and smaller (SQLite, 16 connections, alternated on a quiet machine: 150 and 149 logins/s
 * at 12.2 ms of CPU each and a peak RSS of 152 MB, against 145 and 140/s at 13.2-13.6 ms and
 * 187-190 MB with two per core).
 */
export function hashSlotsFor(hashConcurrency: number | undefined, workers: number): number {
  return hashConcurrency ?? Math.max(1, Math.floor(os.availableParallelism() / workers));
}

/**
 * Hashes the gate (src/hashing/passwords.ts) hands to libuv's pool at once: the slots, plus one
 * when the pool has exactly as many threads as there are slots (as `npm start`'s preload sizes
 * it). That one waits in libuv's own queue, so a thread that finishes a hash starts the next at
 * once instead of idling until the event loop's turn comes to hand it one. It holds no memory
 * while it waits (argon2id takes its 19 MB when a thread runs it), and with a larger pool it
 * would run at once beside the others: then only the slots. Side by side (`bench/flags.ts`,
 * SQLite login on two cores): 119 against 123/s and 143 against 148/s at the same CPU per login.
 */
export function hashesInFlightFor(slots: number, env: NodeJS.ProcessEnv): number {
  return Number(env.UV_THREADPOOL_SIZE) === slots ? slots + 1 : slots;
}

/**
 * The size `src/preload.cts` gives libuv's thread pool: the process's hash slots, read from the
 * raw environment (a value loadConfig would refuse counts as unset here; the start then stops
 * on loadConfig's message). Null when UV_THREADPOOL_SIZE is set: the operator's choice stands.
 *
 * Why: with libuv's default of four threads and one hash per core on two cores, each hash goes
 * to whichever idle thread wakes first, and logins ran 11-15% slower at 4-6% more CPU per login
 * than with a pool of exactly the hash slots (docs/bench.md, "The thread pool"). Other pool work
 * (the RS256 signature, file reads of the hosted pages) then waits for a hash to finish at most.
 */
export function threadPoolSizeFor(env: NodeJS.ProcessEnv): number | null {
  if (env.UV_THREADPOOL_SIZE) return null;
  const whole = (value: string | undefined) => {
    const n = Number(value);
    return value && Number.isInteger(n) && n >= 1 && n <= 256 ? n : undefined;
  };
  const workers = env.WORKERS === "auto" ? "auto" : (whole(env.WORKERS) ?? 1);
  const kind = databaseKindOf(env.DATABASE_URL || "sqlite:");
  return hashSlotsFor(whole(env.HASH_CONCURRENCY), workersFor(workers, kind));
}
