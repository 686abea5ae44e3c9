/**
 * What a contract suite is given: a store to test, the same store through a second connection (as
 * another process of a cluster holds it), owners for rows that need one, and a cleanup. A new
 * implementation of a port passes the port's suite by providing one of these.
 */
import { systemRandom } from "../../src/deps.js";
import type { NewSession } from "../../src/domain/sessions/ports.js";
import type { Database } from "../../src/storage/database.js";
import { createUserStore } from "../../src/storage/users.js";
import { openTestDatabase, type TestDatabase } from "../helpers/database.js";
import type { EngineUnderTest } from "../helpers/engines.js";

export interface StoreHarness<S> {
  store: S;
  /** The same store through another connection: races between processes go through both. */
  another(): S;
  close(): Promise<void>;
}

export interface OwnedStoreHarness<S> extends StoreHarness<S> {
  /** A new confirmed user, for rows that belong to one (foreign keys). */
  newUserId(): Promise<string>;
}

export const T0 = new Date("2026-01-15T10:00:00Z");
export const atSeconds = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

/** A session opened by a password login at `at`, ending a day later: for stores whose rows need one. */
export const newSession = (id: string, userId: string, at: Date = T0): NewSession => ({
  id,
  userId,
  createdAt: at,
  lastUsedAt: at,
  expiresAt: new Date(at.getTime() + 86_400_000),
  ip: null,
  userAgent: null,
  authTime: at,
  amr: ["pwd"],
});

let users = 0;

/** A harness for a database store on a fresh, migrated database of `engine`. */
export async function databaseHarness<S>(
  engine: EngineUnderTest,
  build: (database: Database) => S,
): Promise<OwnedStoreHarness<S> & { test: TestDatabase }> {
  const t = await openTestDatabase(engine);
  const owners = createUserStore(t.database.db, systemRandom);
  return {
    test: t,
    store: build(t.database),
    another: () => build(t.openAnother()),
    async newUserId() {
      const user = await owners.create(
        {
          email: `owner${++users}@example.com`,
          passwordHash: "x",
          roles: ["ROLE_USER"],
          emailConfirmedAt: T0,
          deactivatedAt: null,
        },
        T0,
      );
      return user!.id;
    },
    close: () => t.close(),
  };
}

/**
 * Runs `contract`'s tests against one harness, opened on first use and closed after the suite.
 * Tests of one suite share it, so each makes its own rows.
 */
export function lazily<H extends { close(): Promise<void> }>(make: () => Promise<H>) {
  let opened: Promise<H> | undefined;
  return {
    open: () => (opened ??= make()),
    close: async () => {
      if (opened) await (await opened).close();
    },
  };
}
