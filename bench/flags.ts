/**
 * Two sets of Node flags side by side: two Warden servers (one worker each, the same engine), one
 * per set, loaded in turn with short slices of the same scenario, the order flipped every round,
 * so a machine that speeds up or slows down mid-run weighs on both alike. Prints each server's
 * rate, CPU ms per operation and peak RSS over the measured rounds.
 *
 *   npm run build && node --import tsx bench/flags.ts "<flags A>" "<flags B>" [login|refresh|me|api-key] [sqlite|postgres] [rounds]
 *
 * A set replaces all of `npm start`'s Node flags, its preload included. For example, what sizing
 * libuv's thread pool (`--require ./dist/preload.cjs`) does to SQLite logins:
 *
 *   F="--max-semi-space-size=4 --heap-growing-percent=50"
 *   node --import tsx bench/flags.ts "$F" "$F --require ./dist/preload.cjs" login sqlite 8
 *
 * Two builds side by side: a set of flags may end with another build's `main.js`, which Node then
 * runs instead of this checkout's (`dist/main.js` follows as an argument it ignores). For the
 * build of the last commit against the work tree's:
 *
 *   git worktree add ../old HEAD && ln -s "$PWD/node_modules" ../old/ && (cd ../old && npm run build)
 *   npm run build
 *   F="--max-semi-space-size=4 --heap-growing-percent=50 --require ./dist/preload.cjs"
 *   node --import tsx bench/flags.ts "$F $PWD/../old/dist/main.js" "$F" refresh postgres 6
 *
 * A set's `NAME=value` words are environment variables for its server, over `npm start`'s
 * (`NAME=` removes one); for example, glibc's default malloc against `npm start`'s:
 * `"$F MALLOC_MMAP_THRESHOLD_=" "$F"`.
 *
 * PostgreSQL runs with Redis for the counters, as in `npm run bench` (TEST_DATABASE_URL,
 * TEST_REDIS_URL; an empty TEST_REDIS_URL runs it without). `api-key` cycles through API_KEYS keys (default 256; the full bench makes
 * 1,024, which on PostgreSQL means a database read per key per second). Sequential runs on a
 * shared 2-core machine differ by 30% and more from one minute to the next; flags are compared
 * this way, never across two bench runs.
 */
import { runLoad, type Step } from "./load.js";
import { wardenApiKeyMe, wardenLogin, wardenMe, wardenRefresh } from "./scenarios.js";
import { createApiKeys, loginMany, SCENARIO_API_KEYS, startWardenTarget, type WardenTarget } from "./warden.js";

const [flagsA, flagsB, scenario = "login", engine = "sqlite", roundsArg = "6"] = process.argv.slice(2);
const rounds = Number(roundsArg);
const API_KEYS = Number(process.env.API_KEYS ?? SCENARIO_API_KEYS);
if (
  flagsA === undefined ||
  flagsB === undefined ||
  !["login", "refresh", "me", "api-key"].includes(scenario) ||
  !["sqlite", "postgres"].includes(engine) ||
  !(rounds >= 1) ||
  !(API_KEYS >= 1)
) {
  console.error(
    'usage: node --import tsx bench/flags.ts "<flags A>" "<flags B>" [login|refresh|me|api-key] [sqlite|postgres] [rounds]',
  );
  process.exit(64);
}
const connections = scenario === "login" ? 16 : 64;
const SLICE_SECONDS = 2;

/** `NAME=value` words of a set are the server's environment (`NAME=` removes the variable); the rest are Node's flags. */
const ENV_WORD = /^([A-Z_][A-Z0-9_]*)=(.*)$/;

const start = (flags: string) => {
  const words = flags.split(/\s+/).filter(Boolean);
  return startWardenTarget({
    engine: engine as "sqlite" | "postgres",
    workers: "1",
    users: 200,
    mfaUsers: 0,
    nodeFlags: words.filter((word) => !ENV_WORD.test(word)),
    envChanges: Object.fromEntries(
      words.flatMap((word) => {
        const match = ENV_WORD.exec(word);
        return match ? [[match[1]!, match[2] || null]] : [];
      }),
    ),
    redisUrl: engine === "postgres" ? (process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379/15") : undefined,
  });
};

/**
 * The steps of one run against `target`. Refresh tokens are single use, and a run's deadline
 * cuts off the refreshes in flight, whose successors the pool never gets back: each refresh run
 * starts from sessions of its own. The other scenarios reuse what they made the first time.
 */
function stepsFor(target: WardenTarget): () => Promise<Step[]> {
  if (scenario === "login") return async () => wardenLogin(target.emails);
  if (scenario === "refresh") return async () => wardenRefresh(await loginMany(target, connections + 16));
  let made: Promise<Step[]> | undefined;
  return () =>
    (made ??= (async () => {
      const sessions = await loginMany(target, connections + 16);
      if (scenario === "me") return wardenMe(sessions);
      const keys = await createApiKeys(target, sessions, API_KEYS);
      if (!keys) throw new Error("this build has no POST /api/v1/api-tokens");
      return wardenApiKeyMe(keys);
    })());
}

type Side = {
  flags: string;
  target: WardenTarget;
  steps: () => Promise<Step[]>;
  ops: number;
  errors: number;
  seconds: number;
  cpuSeconds: number;
};
const sides: Side[] = [];
try {
  for (const flags of [flagsA, flagsB]) {
    const target = await start(flags);
    sides.push({ flags, target, steps: stepsFor(target), ops: 0, errors: 0, seconds: 0, cpuSeconds: 0 });
  }
  for (const side of sides)
    await runLoad({ url: side.target.server.url, connections, durationSeconds: 3, steps: await side.steps() });
  for (const side of sides) side.target.server.resetPeakRss();
  for (let round = 0; round < rounds; round++)
    for (const side of round % 2 === 0 ? sides : [...sides].reverse()) {
      const steps = await side.steps();
      const cpuBefore = side.target.server.cpuSeconds();
      const result = await runLoad({ url: side.target.server.url, connections, durationSeconds: SLICE_SECONDS, steps });
      side.cpuSeconds += side.target.server.cpuSeconds() - cpuBefore;
      side.ops += result.okPerSecond * result.durationSeconds;
      side.errors += result.errors;
      side.seconds += result.durationSeconds;
    }
  console.log(`${scenario} on ${engine}, ${connections} connections, ${rounds} rounds of ${SLICE_SECONDS} s each:`);
  for (const [i, side] of sides.entries())
    console.log(
      `${"AB"[i]} ${side.flags}: ${(side.ops / side.seconds).toFixed(0)}/s, ` +
        `CPU ms/op ${((side.cpuSeconds * 1000) / side.ops).toFixed(3)}, peak RSS ${side.target.server.peakRss().totalMb} MB` +
        (side.errors ? `, ${side.errors} errors` : ""),
    );
} finally {
  for (const side of sides) await side.target.close();
}
