/**
 * What one login costs Warden's main thread when nothing else is going on: logins one after
 * another, in this process, through Fastify's inject() (no socket), measured three ways:
 *
 * - `back to back`: a trivial argon2id (8 KiB, one pass), so the thread goes from one login
 *   straight into the next: the cost of Warden's own code with warm caches;
 * - `12 ms apart`: the same, with the thread idle for 12 ms between logins (a hash's length);
 * - `real hash`: the OWASP parameters `npm start` uses.
 *
 * The first against the other two separates the code's cost from what the thread pays for
 * running in the gaps a hash leaves (cold caches, waking up): see docs/bench.md.
 *
 *   node --import tsx bench/login-main-thread.ts [logins]
 */
import { threadTicks, TICKS_PER_SECOND } from "./server-process.js";
import { startWarden } from "../test/helpers/warden.js";
import { postLogin, PASSWORD } from "../test/helpers/login.js";

const logins = Number(process.argv[2] ?? "1000");
if (!(logins >= 50)) {
  console.error("usage: node --import tsx bench/login-main-thread.ts [logins, at least 50]");
  process.exit(64);
}

const USERS = 50;
/** Logins before measuring, for V8 to optimise what a login runs. */
const WARM_UP = 1000;
const TRIVIAL = { memoryCost: 8, timeCost: 1, parallelism: 1 };

async function measure(name: string, real: boolean, pauseMs: number): Promise<void> {
  const w = await startWarden({ argon2: real ? "real" : TRIVIAL, env: { LOG_LEVEL: "warn" } });
  try {
    for (let i = 0; i < USERS; i++) await w.createUser(`user-${i}@bench.test`, PASSWORD);
    const run = async (count: number) => {
      for (let i = 0; i < count; i++) {
        // A fresh client address per login (postLogin's default): the per-IP limit never bites.
        const response = await postLogin(w, `user-${i % USERS}@bench.test`);
        if (response.status !== 200) throw new Error(`login answered ${response.status}: ${response.raw}`);
        if (pauseMs) await new Promise((resolve) => setTimeout(resolve, pauseMs));
      }
    };
    await run(WARM_UP);
    const before = threadTicks(process.pid).main;
    const started = performance.now();
    await run(logins);
    const cpuMs = (((threadTicks(process.pid).main - before) / TICKS_PER_SECOND) * 1000) / logins;
    const wallMs = (performance.now() - started) / logins;
    console.log(`${name.padEnd(12)} main thread ${cpuMs.toFixed(2)} ms CPU per login, ${wallMs.toFixed(1)} ms apart`);
  } finally {
    await w.close();
  }
}

await measure("back to back", false, 0);
await measure("12 ms apart", false, 12);
await measure("real hash", true, 0);
