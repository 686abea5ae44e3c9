import cluster from "node:cluster";
import { buildApp } from "./app.js";
import { ConfigError, loadConfig, type Config } from "./config.js";
import { buildDeps } from "./deps.js";
import { createLogger } from "./log.js";
import { openDatabase } from "./storage/database.js";
import { migrateToLatest } from "./storage/migrations.js";

/** How often each instance re-reads the signing keys, so `warden keys rotate` reaches it. */
const KEY_RELOAD_MS = 10_000;
const SHUTDOWN_GRACE_MS = 10_000;

function loadConfigOrExit(): Config {
  try {
    return loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      for (const problem of error.problems) console.error(`warden: invalid configuration: ${problem}`);
      process.exit(78); // EX_CONFIG
    }
    throw error;
  }
}

async function serve(config: Config): Promise<void> {
  const log = createLogger(config.LOG_LEVEL);
  const deps = await buildDeps(config, log);
  deps.keys.startAutoReload(KEY_RELOAD_MS, (error) => log.error({ err: error }, "signing key reload failed"));
  const app = await buildApp(deps);
  await app.listen({ port: config.PORT, host: config.HOST });

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "shutting down: finishing requests in flight");
    const force = setTimeout(() => process.exit(1), SHUTDOWN_GRACE_MS);
    force.unref();
    await app.close();
    await deps.close();
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
}

/** WORKERS > 1: the primary prepares the database once, then forks workers that share the port. */
async function primary(config: Config): Promise<void> {
  const log = createLogger(config.LOG_LEVEL);
  const database = openDatabase(config.DATABASE_URL);
  await migrateToLatest(database.db);
  await database.close();
  // Creating the first key and secret here keeps workers from racing for them.
  const deps = await buildDeps(config, log);
  await deps.close();

  let stopping = false;
  for (let i = 0; i < config.WORKERS; i++) cluster.fork();
  cluster.on("exit", (worker, code) => {
    if (stopping) return;
    log.error({ worker: worker.process.pid, code }, "worker died; starting another");
    cluster.fork();
  });
  const stop = () => {
    stopping = true;
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill("SIGTERM");
    const done = () => Object.keys(cluster.workers ?? {}).length === 0 && process.exit(0);
    cluster.on("exit", done);
    done();
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  log.info({ workers: config.WORKERS, port: config.PORT }, "warden primary started");
}

const config = loadConfigOrExit();
const run = config.WORKERS > 1 && cluster.isPrimary ? primary(config) : serve(config);
run.catch((error: unknown) => {
  console.error("warden: failed to start:", error instanceof Error ? error.message : error);
  process.exit(1);
});
