import { sql } from "kysely";
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

/**
 * Makes the database itself refuse security events of `type` (a trigger) until the returned
 * function is called: a real failure halfway through a use case, for the tests that check a use
 * case stands or falls as one unit of work.
 */
export async function refuseSecurityEvents(database: Database, type: string): Promise<() => Promise<void>> {
  const { db } = database;
  if (database.engine === "sqlite") {
    await sql`create trigger refuse_event before insert on security_events when new.type = ${sql.lit(type)}
      begin select raise(abort, 'refused by the test'); end`.execute(db);
    return async () => {
      await sql`drop trigger refuse_event`.execute(db);
    };
  }
  await sql`create function refuse_event() returns trigger language plpgsql
    as $$ begin raise exception 'refused by the test'; end $$`.execute(db);
  await sql`create trigger refuse_event before insert on security_events for each row
    when (new.type = ${sql.lit(type)}) execute function refuse_event()`.execute(db);
  return async () => {
    await sql`drop trigger refuse_event on security_events`.execute(db);
    await sql`drop function refuse_event()`.execute(db);
  };
}
