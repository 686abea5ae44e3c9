/**
 * Where a scenario's CPU goes, by thread: Warden's main thread (JavaScript, HTTP, SQLite, Kysely)
 * against every other thread of the process (libuv's pool: argon2id and RSA signing; V8's
 * compiler and GC helpers). One SQLite Warden with one worker, as `npm start` runs it.
 *
 *   npm run build && node --import tsx bench/threads.ts [login|refresh|me|api-key] [connections] [seconds]
 *
 * `api-key` is GET /api/v1/me with 256 API keys in turn (after each key's first use). `login` also
 * splits the login floor's CPU under the same load (bench/floor/server.ts: hash, sign, answer).
 *
 * With PROF_DIR=<folder>, the server also writes a V8 CPU profile there when it exits.
 *
 * The main thread is the part that cannot spread over cores within a worker, and the part a
 * change to Warden's own code can shrink; see docs/bench.md, "Where login's time goes".
 */
import { runLoad, type Step } from "./load.js";
import { measureRawArgon2 } from "./physical.js";
import { wardenApiKeyMe, wardenLogin, wardenMe, wardenRefresh } from "./scenarios.js";
import { startFloor } from "./floor/start.js";
import { threadTicks, TICKS_PER_SECOND, type ServerProcess } from "./server-process.js";
import { createApiKeys, loginMany, SCENARIO_API_KEYS, startWardenTarget } from "./warden.js";

const [scenario = "login", connectionsArg = "16", secondsArg = "15"] = process.argv.slice(2);
const connections = Number(connectionsArg);
const seconds = Number(secondsArg);
if (!["login", "refresh", "me", "api-key"].includes(scenario) || !(connections >= 1) || !(seconds >= 1)) {
  console.error("usage: node --import tsx bench/threads.ts [login|refresh|me|api-key] [connections] [seconds]");
  process.exit(64);
}

const target = await startWardenTarget({
  engine: "sqlite",
  workers: "1",
  users: 200,
  mfaUsers: 0,
  profileDir: process.env.PROF_DIR ?? null,
});
try {
  // Refresh tokens are single use: the warm-up and the measurement each get their own sessions.
  const sessions = scenario === "login" ? [] : await loginMany(target, 2 * (connections + 16));
  const half = sessions.length / 2;
  const keys = scenario === "api-key" ? await createApiKeys(target, sessions, SCENARIO_API_KEYS) : null;
  if (scenario === "api-key" && !keys) throw new Error("this build has no POST /api/v1/api-tokens");
  const steps = (part: 0 | 1): Step[] => {
    const own = sessions.slice(part * half, (part + 1) * half);
    if (scenario === "refresh") return wardenRefresh(own);
    if (scenario === "me") return wardenMe(own);
    if (keys) return wardenApiKeyMe(keys);
    return wardenLogin(target.emails);
  };
  const split = async (name: string, server: ServerProcess, warmUp: Step[], measured: Step[]) => {
    await runLoad({ url: server.url, connections, durationSeconds: 3, steps: warmUp });
    const before = threadTicks(server.pid);
    const result = await runLoad({ url: server.url, connections, durationSeconds: seconds, steps: measured });
    const after = threadTicks(server.pid);
    const ops = result.okPerSecond * result.durationSeconds;
    const perOp = (ticks: number) => ((ticks * 1000) / TICKS_PER_SECOND / ops).toFixed(3);
    console.log(`${name}, ${connections} connections, ${seconds} s: ${result.okPerSecond}/s, ${result.errors} errors`);
    console.log(
      `CPU ms per operation: main thread ${perOp(after.main - before.main)}, other threads ${perOp(after.others - before.others)}`,
    );
  };
  await split(scenario, target.server, steps(0), steps(1));
  console.log(`peak RSS ${target.server.peakRss().totalMb} MB`);
  if (scenario === "login") {
    // The same load on the login floor (bench/floor/server.ts: hash, sign, answer, nothing else).
    const floor = await startFloor(target);
    try {
      await split("login floor", floor, steps(0), steps(1));
    } finally {
      await floor.stop();
    }
    const raw = await measureRawArgon2(connections, seconds);
    console.log(
      `raw argon2id verify, same concurrency, the faster libuv pool (${raw.poolThreads} threads): ${raw.perSecond}/s, CPU ms per hash ${raw.cpuMsPerOp.toFixed(3)}`,
    );
  }
} finally {
  await target.close();
}
