import path from "node:path";
import { parseArgs } from "node:util";
import type { EngineName } from "./warden.js";

/** What one `npm run bench` does; `--quick` is the CI smoke run (under a minute). */
export interface Plan {
  quick: boolean;
  durationSeconds: number;
  /** Unrecorded load before the first scenario of each server (JIT, lazy loading). */
  warmupSeconds: number;
  /** WORKERS as set for the server: "1", "auto", or (SQLite, full runs) "2", which `auto` declines there. */
  configs: Array<{ engine: EngineName; workers: "1" | "auto" | "2" }>;
  connections: { login: number; mfa: number; refresh: number; me: number; jwks: number };
  /** API keys made for the API-key /me and introspection rows (each has its own per-minute limit). */
  apiKeys: number;
  /** Extra connection counts measured on the sweep configuration, for the chart. */
  sweep: { login: number[]; refresh: number[]; me: number[] };
  sweepConfig: Plan["configs"][number];
  sweepSeconds: number;
  overloadSeconds: number;
  /** Most connections the overload run opens (it needs about rate x 1 s of them). */
  overloadMaxConnections: number;
  peer: boolean;
  /** Folder for V8 CPU profiles of every server process (`--profile`), or null. */
  profileDir: string | null;
  users: number;
  mfaUsers: number;
  redisUrl: string;
  postgresUrl: string;
}

const USAGE = `usage: npm run bench -- [--quick] [--engine sqlite|postgres]... [--workers 1|auto]... [--duration S] [--no-peer]

  --quick      CI smoke run: SQLite, WORKERS=auto, 2 s per scenario, no sweep (under a minute)
  --engine     limit the run to these engines (default: sqlite and postgres)
  --workers    limit the run to these worker settings (default: 1 and auto)
  --duration   seconds per scenario (default 10, quick 2)
  --no-peer    skip better-auth
  --profile    run the servers with --cpu-prof; profiles go to bench/results/profiles/

PostgreSQL: BENCH_DATABASE_URL or TEST_DATABASE_URL (a server where scratch databases may be
created; default postgres://postgres@127.0.0.1:5432/postgres). Redis: BENCH_REDIS_URL or
TEST_REDIS_URL (default redis://127.0.0.1:6379/15).`;

export function parsePlan(argv: string[]): Plan | null {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: "boolean", default: false },
      engine: { type: "string", multiple: true },
      workers: { type: "string", multiple: true },
      duration: { type: "string" },
      "no-peer": { type: "boolean", default: false },
      profile: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return null;
  }
  const quick = values.quick;
  const engines = (values.engine ?? (quick ? ["sqlite"] : ["sqlite", "postgres"])) as EngineName[];
  const workers = (values.workers ?? (quick ? ["auto"] : ["1", "auto"])) as Array<"1" | "auto">;
  for (const e of engines)
    if (e !== "sqlite" && e !== "postgres") throw new Error(`--engine ${e}: expected sqlite or postgres`);
  for (const w of workers) if (w !== "1" && w !== "auto") throw new Error(`--workers ${w}: expected 1 or auto`);
  const duration = Number(values.duration ?? (quick ? 2 : 10));
  if (!(duration >= 1)) throw new Error(`--duration ${values.duration}: expected seconds >= 1`);
  // On SQLite `auto` means one process (src/config.ts, workersFor): a full run measures two
  // explicitly instead, to show what `auto` declines; an explicit --workers auto is kept as asked.
  const configs = engines.flatMap((engine) =>
    workers.map((w) => ({
      engine,
      workers: engine === "sqlite" && w === "auto" && !quick && !values.workers ? ("2" as const) : w,
    })),
  );
  return {
    quick,
    durationSeconds: duration,
    warmupSeconds: quick ? 1 : 3,
    configs,
    connections: quick
      ? { login: 8, mfa: 8, refresh: 32, me: 32, jwks: 32 }
      : { login: 16, mfa: 16, refresh: 64, me: 64, jwks: 64 },
    sweep: quick ? { login: [], refresh: [], me: [] } : { login: [1, 4, 64], refresh: [1, 8, 256], me: [1, 8, 256] },
    sweepConfig: configs.find((c) => c.engine === "sqlite" && c.workers !== "1") ?? configs[0]!,
    // Shorter runs scale with --duration (10 s: sweep 5 s, overload 15 s).
    sweepSeconds: Math.max(1, Math.round(duration / 2)),
    overloadSeconds: Math.max(3, Math.round(duration * 1.5)),
    overloadMaxConnections: 400,
    // The peer is compared with Warden on SQLite and one process; it runs only when that row does.
    peer: !values["no-peer"],
    profileDir: values.profile ? path.resolve(import.meta.dirname, "results/profiles") : null,
    // Enough that no key reaches API_KEY_RATE_LIMIT (600 a minute) at several thousand requests a second.
    apiKeys: quick ? 256 : 1024,
    users: quick ? 200 : 2000,
    mfaUsers: quick ? 16 : 128,
    redisUrl: process.env.BENCH_REDIS_URL ?? process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379/15",
    postgresUrl:
      process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres",
  };
}
