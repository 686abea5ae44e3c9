import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";

export interface EngineUnderTest {
  name: "sqlite" | "postgres";
  /** A fresh, empty database; `drop` removes it. */
  create(): Promise<{ url: string; drop(): Promise<void> }>;
}

const ci = process.env.CI === "true" || process.env.CI === "1";

/** PostgreSQL for tests: TEST_DATABASE_URL names a server where scratch databases may be created. */
export const postgresUrl = (): string | undefined => process.env.TEST_DATABASE_URL;
export const redisUrl = (): string | undefined => process.env.TEST_REDIS_URL;

/** Why a PostgreSQL/Redis test would not run, or undefined when it can. In CI a skip is a failure. */
export function skipReason(kind: "postgres" | "redis"): string | undefined {
  const url = kind === "postgres" ? postgresUrl() : redisUrl();
  if (url) return undefined;
  const variable = kind === "postgres" ? "TEST_DATABASE_URL" : "TEST_REDIS_URL";
  if (ci) throw new Error(`${variable} is not set: CI must run the ${kind} tests`);
  return `${variable} not set`;
}

export const sqliteEngine: EngineUnderTest = {
  name: "sqlite",
  async create() {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "warden-test-"));
    return {
      url: `sqlite:${path.join(dir, "warden.db")}`,
      drop: async () => fs.rmSync(dir, { recursive: true, force: true }),
    };
  },
};

export const postgresEngine: EngineUnderTest = {
  name: "postgres",
  async create() {
    const serverUrl = postgresUrl();
    if (!serverUrl) throw new Error("TEST_DATABASE_URL is not set");
    const name = `warden_t_${crypto.randomBytes(6).toString("hex")}`;
    const admin = new pg.Client({ connectionString: serverUrl });
    await admin.connect();
    await admin.query(`create database ${name}`);
    await admin.end();
    const url = new URL(serverUrl);
    url.pathname = `/${name}`;
    return {
      url: url.toString(),
      async drop() {
        const client = new pg.Client({ connectionString: serverUrl });
        await client.connect();
        await client.query(`drop database if exists ${name} with (force)`);
        await client.end();
      },
    };
  },
};

/** Every engine a storage or HTTP suite runs on, with the reason PostgreSQL would be skipped (never in CI). */
export const engines: Array<{ engine: EngineUnderTest; skip?: string }> = [
  { engine: sqliteEngine },
  { engine: postgresEngine, skip: skipReason("postgres") },
];
