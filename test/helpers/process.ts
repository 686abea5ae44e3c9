import assert from "node:assert/strict";
import { spawn, type SpawnOptions } from "node:child_process";
import { once } from "node:events";
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

/**
 * Starts the real server with `command args` in Warden's folder on a free port, waits until
 * `readyPath` answers 200, and returns the child, its port and its output so far.
 */
export async function startServerProcess(
  command: string,
  args: string[],
  env: Record<string, string>,
  readyPath: "/healthz" | "/readyz" = "/healthz",
) {
  const port = await freePort();
  const child = spawn(command, args, {
    cwd: ROOT,
    env: { PATH: process.env.PATH!, HOME: process.env.HOME ?? "/tmp", ...env, PORT: String(port), LOG_LEVEL: "info" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const output = { text: "" };
  child.stdout.on("data", (chunk) => (output.text += chunk));
  child.stderr.on("data", (chunk) => (output.text += chunk));
  const exited = once(child, "exit");
  let ready = false;
  for (let i = 0; i < 150 && !ready && child.exitCode === null; i++) {
    ready = await fetch(`http://127.0.0.1:${port}${readyPath}`).then(
      (r) => r.ok,
      () => false,
    );
    if (!ready) await new Promise((resolve) => setTimeout(resolve, 200));
  }
  assert.ok(ready, `the server came up: ${output.text}`);
  return { child, port, output, exited };
}
