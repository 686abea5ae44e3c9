import type { UserRecord } from "../../src/domain/accounts/ports.js";
import { systemRandom } from "../../src/deps.js";
import type { Database } from "../../src/storage/database.js";
import { openDatabase } from "../../src/storage/database.js";
import { migrateToLatest } from "../../src/storage/migrations.js";
import { createUserStore } from "../../src/storage/users.js";
import type { EngineUnderTest } from "./engines.js";

export interface TestDatabase {
  url: string;
  database: Database;
  /** Another connection (pool) to the same database, for races between processes. */
  openAnother(): Database;
  close(): Promise<void>;
}

/** A fresh, migrated database on `engine`, for storage contract suites. */
export async function openTestDatabase(engine: EngineUnderTest): Promise<TestDatabase> {
  const created = await engine.create();
  const database = openDatabase(created.url);
  await migrateToLatest(database.db);
  const others: Database[] = [];
  return {
    url: created.url,
    database,
    openAnother() {
      const other = openDatabase(created.url);
      others.push(other);
      return other;
    },
    async close() {
      for (const other of others) await other.close();
      await database.close();
      await created.drop();
    },
  };
}

/** Plain confirmed users in `database`, for suites whose rows need owners (sessions, challenges...). */
export async function insertUsers(database: Database, ...emails: string[]): Promise<UserRecord[]> {
  const users = createUserStore(database.db, systemRandom);
  const now = new Date("2026-01-15T10:00:00Z");
  const created = [];
  for (const email of emails)
    created.push(
      (await users.create(
        { email, passwordHash: "x", roles: ["ROLE_USER"], emailConfirmedAt: now, deactivatedAt: null },
        now,
      ))!,
    );
  return created;
}
