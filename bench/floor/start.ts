import os from "node:os";
import path from "node:path";
import { freePort, startServer, type ServerProcess } from "../server-process.js";
import { BENCH_PASSWORD, type WardenTarget } from "../warden.js";

/**
 * Starts the floors (server.ts) beside a running Warden: its JWKS and issuer for GET /api/v1/me,
 * the bench's password for POST /api/auth, and one libuv thread per core, as src/preload.cts
 * gives one Warden process.
 */
export async function startFloor(target: WardenTarget, profileDir: string | null = null): Promise<ServerProcess> {
  const discovery = (await (await fetch(`${target.server.url}/.well-known/openid-configuration`)).json()) as {
    issuer: string;
  };
  const jwks = await (await fetch(`${target.server.url}/.well-known/jwks.json`)).text();
  return startServer({
    args: ["--import", "tsx", path.resolve(import.meta.dirname, "server.ts")],
    cwd: path.resolve(import.meta.dirname, "../.."),
    env: {
      FLOOR_JWKS: jwks,
      FLOOR_ISSUER: discovery.issuer,
      FLOOR_PASSWORD: BENCH_PASSWORD,
      UV_THREADPOOL_SIZE: String(os.availableParallelism()),
    },
    port: await freePort(),
    readyPath: "/healthz",
    profileDir,
  });
}
