/**
 * Remembered reads (src/storage/recent-reads.ts) on every engine: what this process commits is
 * read at once, what another connection commits within the TTL, and nothing uncommitted or raced
 * is ever kept.
 */
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { test } from "node:test";
import crypto from "node:crypto";
import { sql } from "kysely";
import { systemRandom } from "../../src/deps.js";
import type { RecentReads } from "../../src/domain/lib/ports.js";
import type { UserStore } from "../../src/domain/accounts/ports.js";
import { createRecentReads } from "../../src/storage/recent-reads.js";
import { createStores, createUnitOfWork } from "../../src/storage/stores.js";
import type { Database } from "../../src/storage/database.js";
import { openTestDatabase, type TestDatabase } from "../helpers/database.js";
import { engines } from "../helpers/engines.js";
import { newSession } from "./harness.js";

const NOW = new Date("2026-01-15T10:00:00Z");
/** Long enough that nothing expires during a test that is not about expiry. */
const LONG_MS = 60_000;

class Boom extends Error {}

for (const { engine, skip } of engines) {
  const name = (s: string) => `${engine.name}: ${s}`;

  const withDatabase = (run: (db: TestDatabase) => Promise<void>) => async () => {
    const db = await openTestDatabase(engine);
    try {
      await run(db);
    } finally {
      await db.close();
    }
  };

  /** The stored first name of the user, read through `recent` (as authentication reads its rows). */
  async function setup(database: Database, ttlMs = LONG_MS) {
    const stores = createStores(database.db, database.engine, systemRandom, database.reader);
    const user = (await stores.users.create(
      { email: "r@example.com", passwordHash: "x", roles: ["ROLE_USER"], emailConfirmedAt: NOW, deactivatedAt: null },
      NOW,
    ))!;
    const recent = createRecentReads(database.changes, ttlMs);
    let reads = 0;
    const firstName = (via: RecentReads = recent, users: UserStore = stores.users) =>
      via.remember(`user:${user.id}`, async () => {
        reads++;
        return (await users.findById(user.id))!.firstName;
      });
    const rename = (db: Database["db"], to: string) =>
      db.updateTable("users").set({ first_name: to }).where("id", "=", user.id).execute();
    return { stores, user, recent, firstName, rename, reads: () => reads };
  }

  test(
    name("a read is remembered until this process commits a write, then read again at once"),
    { skip },
    withDatabase(async (db) => {
      const { firstName, rename, reads } = await setup(db.database);
      assert.equal(await firstName(), null);
      assert.equal(await firstName(), null);
      assert.equal(reads(), 1, "the second answer came from memory");
      await rename(db.database.db, "Ana");
      assert.equal(await firstName(), "Ana", "a committed write of this process is read at once");
      assert.equal(reads(), 2);
      // A write in hand-written SQL counts too.
      await sql`update users set first_name = ${"Bea"}`.execute(db.database.db);
      assert.equal(await firstName(), "Bea");
    }),
  );

  test(
    name("a unit of work counts when it commits: not while open, not when rolled back"),
    { skip },
    withDatabase(async (db) => {
      const { firstName, reads, user } = await setup(db.database);
      const uow = createUnitOfWork(db.database.db, db.database.engine, systemRandom);
      assert.equal(await firstName(), null);
      await assert.rejects(
        uow.transaction(async (tx) => {
          await tx.users.updateProfile(user.id, { firstName: "Gone" }, NOW);
          throw new Boom();
        }),
        Boom,
      );
      assert.equal(await firstName(), null);
      assert.equal(reads(), 1, "a rolled-back write forgets nothing");
      await uow.transaction(async (tx) => {
        await tx.users.updateProfile(user.id, { firstName: "Cleo" }, NOW);
        // Inside the unit of work, `recent` reads through: nothing uncommitted is remembered.
        assert.equal(await firstName(tx.recent, tx.users), "Cleo");
      });
      assert.equal(await firstName(), "Cleo", "read again after the commit");
    }),
  );

  test(
    name("rate-limit counters and security events, written on every request, forget nothing"),
    { skip },
    withDatabase(async (db) => {
      const { stores, firstName, reads, user } = await setup(db.database);
      await sql`create table if not exists warden_counters (key text primary key, points integer not null, expire integer not null)`.execute(
        db.database.db,
      );
      assert.equal(await firstName(), null);
      await sql`insert into warden_counters (key, points, expire) values (${"k"}, 1, 0)`.execute(db.database.db);
      await stores.events.record({ userId: user.id, type: "login_success", ip: null, userAgent: null }, NOW);
      assert.equal(await firstName(), null);
      assert.equal(reads(), 1);
    }),
  );

  test(
    name("a refresh's rotation forgets remembered reads (on PostgreSQL its writes are WITH parts of a select)"),
    { skip },
    withDatabase(async (db) => {
      const { stores, firstName, reads, user } = await setup(db.database);
      const sessionId = crypto.randomUUID();
      await stores.sessions.createSession(newSession(sessionId, user.id, NOW), {
        tokenHash: "a".repeat(64),
        expiresAt: new Date(NOW.getTime() + 3_600_000),
      });
      assert.equal(await firstName(), null);
      assert.equal(await firstName(), null);
      assert.equal(reads(), 1, "remembered");
      const rotation = await stores.sessions.rotateRefreshToken(
        "a".repeat(64),
        { tokenHash: "b".repeat(64), expiresAt: new Date(NOW.getTime() + 7_200_000), successorEnc: "sealed" },
        new Date(NOW.getTime() + 60_000),
      );
      assert.equal(rotation.rotated, true);
      assert.equal(await firstName(), null);
      assert.equal(reads(), 2, "the rotation stamped the session: read again");
    }),
  );

  test(
    name("a conditional write that matched no row forgets nothing"),
    { skip },
    withDatabase(async (db) => {
      const { firstName, reads } = await setup(db.database);
      assert.equal(await firstName(), null);
      await db.database.db
        .updateTable("users")
        .set({ first_name: "Nobody" })
        .where("id", "=", "no-such-user")
        .execute();
      await sql`delete from sessions where id = ${"no-such-session"}`.execute(db.database.db);
      assert.equal(await firstName(), null);
      assert.equal(reads(), 1);
    }),
  );

  test(
    name("a read that raced a commit is answered but not kept, even after a newer read was"),
    { skip },
    withDatabase(async (db) => {
      const { recent, rename, user, stores } = await setup(db.database);
      let reads = 0;
      const racing = (): Promise<string | null> =>
        recent.remember(`race:${user.id}`, async () => {
          reads++;
          const seen = (await stores.users.findById(user.id))!.firstName;
          if (reads === 1) {
            // Committed after this row was read; a second request reads the new row meanwhile.
            await rename(db.database.db, "Dora");
            assert.equal(await racing(), "Dora");
          }
          return seen;
        });
      assert.equal(await racing(), null, "the first read saw the row before the write");
      assert.equal(await racing(), "Dora", "its stale answer did not replace the newer one");
      assert.equal(reads, 2);
    }),
  );

  test(
    name("a write through another connection is seen once the TTL has passed; TTL 0 remembers nothing"),
    { skip },
    withDatabase(async (db) => {
      const ttlMs = 100;
      const { firstName, reads, rename } = await setup(db.database, ttlMs);
      const other = db.openAnother(); // another instance: its commits do not reach this process's memory
      assert.equal(await firstName(), null);
      await rename(other.db, "Eva");
      await sleep(ttlMs + 5);
      assert.equal(await firstName(), "Eva");
      assert.equal(reads(), 2);
      const uncached = createRecentReads(db.database.changes, 0);
      await firstName(uncached);
      await firstName(uncached);
      assert.equal(reads(), 4, "with AUTH_CACHE_MS=0 every call reads");
    }),
  );
}
