import fs from "node:fs";
import path from "node:path";
import type { Config } from "./config.js";

/** A start-up failure in plain words, naming the variable to fix. */
export class StartupError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "StartupError";
  }
}

/** Where a sqlite: DATABASE_URL points, as an absolute path; null for PostgreSQL and :memory:. */
export function sqliteFile(config: Pick<Config, "DATABASE_URL">): string | null {
  if (!config.DATABASE_URL.startsWith("sqlite:")) return null;
  const file = config.DATABASE_URL.slice("sqlite:".length);
  return file === ":memory:" ? null : path.resolve(file);
}

/**
 * The CLI works on an existing database: run in the wrong folder, a relative DATABASE_URL would
 * otherwise create a second, empty database there and report "no user".
 */
export function assertDatabaseExists(config: Pick<Config, "DATABASE_URL">): void {
  const file = sqliteFile(config);
  if (file && !fs.existsSync(file))
    throw new StartupError(
      `DATABASE_URL: no database at ${file} (relative paths are read from ${process.cwd()}); ` +
        "run the command where the server runs, set DATABASE_URL, or create one with `warden migrate`",
    );
}

/** The host:port (and database) a URL names, without its user or password. */
function where(url: string | undefined): string {
  if (!url) return "";
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port || (parsed.protocol.startsWith("redis") ? 6379 : 5432)}${parsed.pathname}`;
  } catch {
    return "";
  }
}

/**
 * Turns what a driver throws when it cannot connect (`connect ECONNREFUSED 127.0.0.1:5999`) into
 * a StartupError naming the variable to fix; any other error is returned as it is.
 */
export function connectionProblem(
  error: unknown,
  variable: "DATABASE_URL" | "REDIS_URL",
  url: string | undefined,
): unknown {
  const code = (error as { code?: string })?.code;
  const target = variable === "DATABASE_URL" && url?.startsWith("sqlite:") ? url.slice("sqlite:".length) : where(url);
  const sentence = {
    ECONNREFUSED: `nothing accepts connections at ${target} (connection refused)`,
    ENOTFOUND: `the host of ${target} cannot be resolved`,
    EAI_AGAIN: `the host of ${target} cannot be resolved`,
    ETIMEDOUT: `no answer from ${target} (timed out)`,
    "28P01": `the PostgreSQL server at ${target} refused the user or password`,
    "28000": `the PostgreSQL server at ${target} refused the user or password`,
    "3D000": `the database ${target} does not exist (create it with createdb)`,
    SQLITE_CANTOPEN: `cannot open the SQLite file ${target} (does its folder exist, and may Warden write there?)`,
  }[code ?? ""];
  return sentence ? new StartupError(`${variable}: ${sentence}`, { cause: error }) : error;
}
