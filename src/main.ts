import cluster from "node:cluster";
import { ConfigError, loadConfig, type Config } from "./config.js";
import { createLogger } from "./log.js";

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
  // Loaded here, not at the top: a cluster primary only supervises and never needs the app.
  const log = createLogger(config.LOG_LEVEL);
  // The app's modules load while the dependencies are built: on a fresh database that is while
  // the first signing key is generated on the thread pool (issue 14: first answer under a second).
  const [{ buildApp }, deps] = await Promise.all([
    import("./app.js"),
    import("./deps.js").then(({ buildDeps }) => buildDeps(config, log, { processMetrics: true })),
  ]);
  const { KEY_RELOAD_MS } = await import("./domain/sessions/signing-keys.js");
  if (cluster.isWorker) deps.metrics.joinCluster();
  // Every second, so `warden keys rotate` and `keys revoke` reach every instance at once.
  deps.keys.startAutoReload(
    KEY_RELOAD_MS,
    (error) => log.error({ err: error }, "signing key reload failed; keeping the keys loaded before"),
    () => log.info("signing key reload works again"),
  );
  const app = await buildApp(deps);
  await app.listen({ port: config.PORT, host: config.HOST });
  const stopPurging = schedulePurges(deps, config);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "shutting down: finishing requests in flight");
    const force = setTimeout(() => process.exit(1), SHUTDOWN_GRACE_MS);
    force.unref();
    stopPurging();
    await app.close();
    await deps.close();
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
}

/**
 * Every RETENTION_PURGE_INTERVAL seconds (first after a random part of it, so instances started
 * together spread out), delete expired and old rows. Several instances purging at once is
 * harmless: each delete is idempotent; only the work is repeated.
 */
function schedulePurges(deps: import("./deps.js").Deps, config: Config): () => void {
  if (config.RETENTION_PURGE_INTERVAL === 0) return () => {};
  const intervalMs = config.RETENTION_PURGE_INTERVAL * 1000;
  let timer: NodeJS.Timeout;
  const run = async () => {
    const { purgeExpired } = await import("./domain/security/retention.js");
    try {
      deps.log.info({ purged: await purgeExpired(deps) }, "retention purge done");
    } catch (error) {
      deps.log.warn({ err: error }, "retention purge failed; retrying at the next interval");
    }
    timer = setTimeout(() => void run(), intervalMs);
    timer.unref();
  };
  timer = setTimeout(() => void run(), Math.floor(Math.random() * intervalMs));
  timer.unref();
  return () => clearTimeout(timer);
}

/**
 * WORKERS > 1: workers share the port. The first worker migrates the database and creates the
 * first signing key and secret (as a single process does); the others are forked once it
 * listens, so none races for them. The primary loads no app code, so it stays small.
 */
async function primary(config: Config): Promise<void> {
  const log = createLogger(config.LOG_LEVEL);
  // /metrics on any worker reports the whole group: the primary sums every worker's registry.
  (await import("./metrics.js")).serveClusterMetrics();
  const first = cluster.fork();
  await new Promise<void>((resolve, reject) => {
    const failed = (code: number | null) =>
      reject(new Error(`the first worker exited with code ${code} before it listened`));
    first.once("exit", failed);
    first.once("listening", () => {
      first.off("exit", failed);
      resolve();
    });
  });

  let stopping = false;
  for (let i = 1; i < config.WORKERS; i++) cluster.fork();
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
