import { spawn, type SpawnOptions } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";

export const ROOT = path.resolve(import.meta.dirname, "..", "..");

/** A temp data folder and SQLite file, the environment a spawned `warden` or server needs. */
export function scratchEnv(): { env: Record<string, string>; dir: string; cleanup(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "warden-proc-"));
  return {
    dir,
    env: {
      DATABASE_URL: `sqlite:${path.join(dir, "warden.db")}`,
      DATA_DIR: path.join(dir, "data"),
      WARDEN_SECRET: "proc-secret-0123456789-0123456789-abcdef",
      LOG_LEVEL: "warn",
    },
    cleanup: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

/** Runs a command to its end, `input` on its stdin (closed at once otherwise); returns exit code, stdout and stderr. */
export function run(
  command: string,
  args: string[],
  options: SpawnOptions & { env?: Record<string, string>; input?: string } = {},
) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: ROOT,
      ...options,
      env: { PATH: process.env.PATH!, HOME: process.env.HOME ?? "/tmp", ...options.env },
    });
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (chunk) => (stdout += chunk));
    child.stderr?.on("data", (chunk) => (stderr += chunk));
    child.stdin?.end(options.input ?? "");
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** A port nobody listens on right now (the server is told it; PORT=0 would not tell us which it got). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
